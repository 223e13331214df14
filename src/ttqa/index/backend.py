"""The search-backend contract: where chunks are stored and searched.

A backend holds the chunks of an index (vector, BM25 terms, offsets, filterable metadata) and
the articles they point into. Everything above it (the retriever, the answerer, the QA facade,
the CLI, the chat and the HTTP API) sees only this contract, so an index can live in local files
(:mod:`ttqa.index.local.backend`, the default) or in a Milvus cluster (:mod:`ttqa.index.milvus`).

* ``write(chunks)`` stores chunks (an existing ``chunk_id`` is replaced) with their articles;
* ``delete(doc_ids)`` removes articles and all of their chunks;
* ``count()`` is the number of stored chunks;
* ``search(question_text, question_vector, k, mode, filters)`` ranks chunk ids, best first.
  Filters are pushed down into the engine (they are applied before ranking, so ``k`` hits come
  back whenever ``k`` chunks pass). Scores are only comparable within one result list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ttqa.errors import InvalidModeError, TTQABackendError, TTQAInputError
from ttqa.index.filters import Filters
from ttqa.schema import Chunk, Document

PASSAGE_TEMPLATE = "{title}\n{text}"


def passage_text(doc: Document, chunk_text: str) -> str:
    """The text that is embedded and BM25-indexed for a chunk: title + chunk."""
    return PASSAGE_TEMPLATE.format(title=doc.title, text=chunk_text) if doc.title else chunk_text


class Mode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"

    @classmethod
    def parse(cls, value: str | Mode) -> Mode:
        try:
            return cls(value)
        except ValueError:
            raise InvalidModeError(
                f"unknown mode {value!r}: use one of {', '.join(m.value for m in cls)}"
            ) from None


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Reciprocal-rank fusion: score = sum_i w_i / (rrf_k + rank_i)."""

    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    restore_from: int = 5
    """Questions typed without diacritics get them back from this many BM25 passages."""
    candidates: int = 100
    """Each ranking fused in hybrid mode is this long (at least ``k``)."""


def rrf(
    rankings: Sequence[tuple[Sequence[int] | npt.NDArray[np.int64], float]], rrf_k: int
) -> dict[int, float]:
    """Fuse ranked row lists (best first) with weights into row -> fused score."""
    fused: dict[int, float] = {}
    for rows, weight in rankings:
        if weight <= 0:
            continue
        for rank, row in enumerate(np.asarray(rows).tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank)
    return fused


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """A chunk ready to be stored: its article, its vector and the hash of its passage text."""

    chunk: Chunk
    document: Document
    vector: npt.NDArray[np.float32]
    content_hash: str

    @property
    def passage(self) -> str:
        return passage_text(self.document, self.chunk.text)


class UnknownDocumentError(TTQAInputError, KeyError):
    """No stored document has this id."""

    def __str__(self) -> str:
        return f"unknown doc_id {self.args[0]!r}"


def required_vector(vector: npt.NDArray[np.float32] | None) -> npt.NDArray[np.float32]:
    """The question's vector as one float32 row; dense and hybrid search cannot do without it."""
    if vector is None:
        raise ValueError("dense and hybrid search need the question's vector")
    return np.asarray(vector, dtype=np.float32).reshape(-1)


class BackendError(TTQABackendError):
    """The search backend failed; the message says what to check."""


class BackendUnavailableError(BackendError):
    """The engine cannot be reached (network error, timeout, server down)."""


class UnknownBackendError(TTQAInputError):
    """No backend of this name."""


@runtime_checkable
class Documents(Protocol):
    """The stored articles and their chunks: what answers and citations point into."""

    def get(self, doc_id: str) -> Document:
        """The article; ``UnknownDocumentError`` (a ``KeyError``) when none has this id."""
        ...

    def __contains__(self, doc_id: object) -> bool: ...

    def __len__(self) -> int:
        """The number of stored articles."""
        ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in the same order (text cut from the stored article)."""
        ...

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """Every chunk of an article, in text order (empty for an unknown id)."""
        ...


@runtime_checkable
class SearchBackend(Documents, Protocol):
    """Chunk storage and search; see the module docstring."""

    @property
    def name(self) -> str:
        """``"local"`` or ``"milvus"``: recorded in the index manifest."""
        ...

    def write(self, chunks: Sequence[IndexedChunk]) -> None: ...

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Remove these articles and their chunks; the number of chunks removed."""
        ...

    def count(self) -> int: ...

    def search(
        self,
        question_text: str,
        question_vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: Mode,
        filters: Filters | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunk ids with their scores, best first.

        ``question_text`` is matched by BM25 (on the accent-folded terms when it carries no
        diacritic); ``question_vector`` (needed by the dense and hybrid modes) by the vectors.
        Hybrid fuses the two rankings by reciprocal rank.
        """
        ...


__all__ = [
    "PASSAGE_TEMPLATE",
    "BackendError",
    "BackendUnavailableError",
    "Documents",
    "FusionParams",
    "IndexedChunk",
    "Mode",
    "SearchBackend",
    "UnknownBackendError",
    "UnknownDocumentError",
    "passage_text",
    "required_vector",
    "rrf",
]
