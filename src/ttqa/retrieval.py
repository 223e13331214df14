"""Dense, BM25 and hybrid (reciprocal-rank fusion) retrieval over an index."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from ttqa.accents import restore_diacritics
from ttqa.embedding.base import Embedder
from ttqa.errors import InvalidModeError
from ttqa.filters import Filters, FiltersLike, LazyMetadataIndex
from ttqa.index.dense import DenseIndex
from ttqa.index.lexical import BM25Index, top_k
from ttqa.index.store import DocumentStore
from ttqa.textnorm import has_diacritics
from ttqa.types import Hit


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


Ranked = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
RowMask = npt.NDArray[np.bool_]
"""``mask[row]`` is true for rows a filter allows; ``None`` stands for "every row"."""


def rrf(rankings: list[tuple[npt.NDArray[np.int64], float]], rrf_k: int) -> dict[int, float]:
    """Fuse ranked row lists (best first) with weights into row -> fused score."""
    fused: dict[int, float] = {}
    for rows, weight in rankings:
        if weight <= 0:
            continue
        for rank, row in enumerate(rows.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank)
    return fused


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What one search found, and the question as it was read."""

    hits: list[Hit]
    reading: str


class Retriever:
    def __init__(
        self,
        store: DocumentStore,
        dense: DenseIndex,
        bm25: BM25Index,
        embedder: Embedder,
        fusion: FusionParams | None = None,
    ) -> None:
        self.store = store
        self.dense = dense
        self.bm25 = bm25
        self.embedder = embedder
        self.fusion = fusion or FusionParams()
        self._metadata = LazyMetadataIndex()

    def allowed_rows(self, filters: FiltersLike) -> RowMask | None:
        """The rows ``filters`` allows (``None``: no filter, every row)."""
        flt = Filters.parse(filters)
        if flt is None:
            return None
        meta = self._metadata.get(self.store, self.store.chunks.doc_ids)
        return meta.row_mask(flt)

    def dense_ranking(self, question: str, k: int, *, allowed: RowMask | None = None) -> Ranked:
        qvec = self.embedder.embed_queries([question])
        ids, scores = self.dense.search(qvec, k, allowed=allowed)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def bm25_ranking(self, question: str, k: int, *, allowed: RowMask | None = None) -> Ranked:
        if allowed is None:
            return self.bm25.search(question, k)
        scores = np.where(allowed, self.bm25.scores(question), np.float32(0.0)).astype(np.float32)
        return top_k(scores, k)

    def restore(
        self,
        question: str,
        bm25_rows: npt.NDArray[np.int64] | None = None,
        *,
        allowed: RowMask | None = None,
    ) -> str:
        """The question with its diacritics restored from the passages BM25 finds (if it had none)."""
        if has_diacritics(question) or self.fusion.restore_from <= 0:
            return question
        if bm25_rows is None:
            bm25_rows, _ = self.bm25_ranking(question, self.fusion.restore_from, allowed=allowed)
        texts = [self.store.passage_text(int(r)) for r in bm25_rows[: self.fusion.restore_from]]
        return restore_diacritics(question, texts)

    def search(
        self,
        question: str,
        k: int = 10,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> list[Hit]:
        """The ``k`` best passages; with ``filters`` (see :mod:`ttqa.filters`), only among allowed rows."""
        return self.retrieve(question, k, mode, filters).hits

    def retrieve(
        self,
        question: str,
        k: int = 10,
        mode: Mode | str = Mode.HYBRID,
        filters: FiltersLike = None,
    ) -> Retrieval:
        """:meth:`search`, and the question as it was read (diacritics restored if it had none),
        restored once, from the filtered BM25 passages the search itself used."""
        mode = Mode.parse(mode)
        allowed = self.allowed_rows(filters)
        if k <= 0 or (allowed is not None and not allowed.any()):
            return Retrieval([], question)
        if mode is Mode.BM25:
            rows, scores = self.bm25_ranking(question, k, allowed=allowed)
            reading = self.restore(question, rows, allowed=allowed)
            return Retrieval(self._hits(rows.tolist(), scores.tolist()), reading)
        if mode is Mode.DENSE:
            reading = self.restore(question, allowed=allowed)
            rows, scores = self.dense_ranking(reading, k, allowed=allowed)
            return Retrieval(self._hits(rows.tolist(), scores.tolist()), reading)
        n = max(self.fusion.candidates, k)
        bm25_rows, _ = self.bm25_ranking(question, n, allowed=allowed)
        reading = self.restore(question, bm25_rows)
        dense_rows, _ = self.dense_ranking(reading, n, allowed=allowed)
        fused = rrf(
            [(dense_rows, self.fusion.dense_weight), (bm25_rows, self.fusion.bm25_weight)], self.fusion.rrf_k
        )
        best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return Retrieval(self._hits([r for r, _ in best], [s for _, s in best]), reading)

    def _hits(self, rows: list[int], scores: list[float]) -> list[Hit]:
        hits: list[Hit] = []
        for rank, (row, score) in enumerate(zip(rows, scores, strict=True), start=1):
            chunk = self.store.chunk(row)
            doc = self.store.get(chunk.doc_id)
            hits.append(
                Hit(
                    doc_id=doc.doc_id,
                    chunk_id=chunk.chunk_id,
                    title=doc.title,
                    date=doc.date,
                    source=doc.source,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=float(score),
                    rank=rank,
                )
            )
        return hits
