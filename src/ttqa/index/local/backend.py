"""The ``local`` search backend: FAISS vectors, bm25s terms and the articles, in one directory.

Rows are chunk rows of the :class:`~ttqa.index.local.store.DocumentStore` (row ``i`` = FAISS id ``i``
= BM25 row ``i``); the contract speaks chunk ids. Filters become a row mask used inside FAISS
(an ``IDSelector``) and BM25 (disallowed rows scored 0). An index version directory is
immutable: :meth:`LocalBackend.write` and :meth:`LocalBackend.delete` build the new state in
memory (BM25 has no incremental update), and the builder saves it as a new version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ttqa.index.backend import FusionParams, IndexedChunk, Mode, required_vector, rrf
from ttqa.index.filters import Filters, LazyMetadataIndex
from ttqa.index.local.dense import FaissDenseIndex
from ttqa.index.local.lexical import BM25Index, top_k
from ttqa.index.local.store import ChunkTable, DocumentStore
from ttqa.schema import Chunk, Document

Ranked = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
RowMask = npt.NDArray[np.bool_]
"""``mask[row]`` is true for rows a filter allows; ``None`` stands for "every row"."""


class LocalBackend:
    """FAISS + bm25s over an in-memory :class:`DocumentStore`; see the module docstring."""

    name = "local"

    def __init__(
        self,
        store: DocumentStore,
        dense: FaissDenseIndex,
        bm25: BM25Index,
        fusion: FusionParams | None = None,
    ) -> None:
        self.store = store
        self.dense = dense
        self.bm25 = bm25
        self.fusion = fusion or FusionParams()
        self._metadata = LazyMetadataIndex()
        self._last_bm25: tuple[tuple[str, Filters | None, int], Ranked] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ building
    @classmethod
    def from_chunks(cls, chunks: Sequence[IndexedChunk], fusion: FusionParams | None = None) -> LocalBackend:
        """A backend holding exactly ``chunks`` (rows in this order)."""
        docs: dict[str, Document] = {}
        table = ChunkTable()
        for c in chunks:
            docs.setdefault(c.document.doc_id, c.document)
            table.append(c.chunk, c.content_hash)
        dim = int(chunks[0].vector.shape[-1]) if chunks else 0
        vectors = (
            np.stack([np.asarray(c.vector, dtype=np.float32).reshape(-1) for c in chunks])
            if chunks
            else np.zeros((0, dim), dtype=np.float32)
        )
        return cls(
            DocumentStore(docs.values(), table),
            FaissDenseIndex.build(vectors),
            BM25Index.build([c.passage for c in chunks]),
            fusion,
        )

    def indexed_chunks(self) -> list[IndexedChunk]:
        """Every stored chunk with its article and vector, in row order."""
        ids, vectors = self.dense.vectors()
        vector_of = dict(zip(ids.tolist(), vectors, strict=True))
        out = []
        for row in range(len(self.store.chunks)):
            chunk = self.store.chunk(row)
            out.append(
                IndexedChunk(
                    chunk, self.store.get(chunk.doc_id), vector_of[row], self.store.chunks.hashes[row]
                )
            )
        return out

    def _replace(self, other: LocalBackend) -> None:
        with self._lock:
            self.store, self.dense, self.bm25 = other.store, other.dense, other.bm25
            self._metadata = LazyMetadataIndex()
            self._last_bm25 = None

    def write(self, chunks: Sequence[IndexedChunk]) -> None:
        """Store ``chunks`` (replacing those with the same ids) and rebuild the indexes in memory."""
        new = {c.chunk.chunk_id for c in chunks}
        kept = [c for c in self.indexed_chunks() if c.chunk.chunk_id not in new]
        self._replace(LocalBackend.from_chunks([*kept, *chunks], self.fusion))

    def delete(self, doc_ids: Sequence[str]) -> int:
        drop = set(doc_ids)
        before = self.count()
        kept = [c for c in self.indexed_chunks() if c.chunk.doc_id not in drop]
        self._replace(LocalBackend.from_chunks(kept, self.fusion))
        return before - self.count()

    def count(self) -> int:
        return len(self.store.chunks)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        self.store.save(directory)
        self.dense.save(directory)
        self.bm25.save(directory)

    @classmethod
    def load(cls, directory: Path, n_chunks: int, fusion: FusionParams | None = None) -> LocalBackend:
        return cls(
            DocumentStore.load(directory),
            FaissDenseIndex.load(directory),
            BM25Index.load(directory, n_chunks),
            fusion,
        )

    # ------------------------------------------------------------------ documents
    def get(self, doc_id: str) -> Document:
        return self.store.get(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.store

    def __len__(self) -> int:
        return len(self.store)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.store)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return self.store.get_chunks(chunk_ids)

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.doc_chunks(doc_id)

    # ------------------------------------------------------------------ search
    def allowed_rows(self, filters: Filters | None) -> RowMask | None:
        """The rows ``filters`` allows (``None``: no filter, every row)."""
        if filters is None or filters.is_empty:
            return None
        store = self.store
        return self._metadata.get(store, store.chunks.doc_ids).row_mask(filters)

    def search(
        self,
        question_text: str,
        question_vector: npt.NDArray[np.float32] | None,
        k: int,
        mode: Mode,
        filters: Filters | None = None,
    ) -> list[tuple[str, float]]:
        store = self.store
        allowed = self.allowed_rows(filters)
        if k <= 0 or (allowed is not None and not allowed.any()):
            return []
        if mode is Mode.BM25:
            rows, scores = self.bm25_ranking(question_text, k, filters, allowed)
        elif mode is Mode.DENSE:
            rows, scores = self.dense_ranking(required_vector(question_vector), k, allowed)
        else:
            n = max(self.fusion.candidates, k)
            bm25_rows, _ = self.bm25_ranking(question_text, n, filters, allowed)
            dense_rows, _ = self.dense_ranking(required_vector(question_vector), n, allowed)
            fused = rrf(
                [(dense_rows, self.fusion.dense_weight), (bm25_rows, self.fusion.bm25_weight)],
                self.fusion.rrf_k,
            )
            ids = store.chunks.chunk_ids
            # Ties go to the smaller chunk id, in every backend.
            best = sorted(fused.items(), key=lambda kv: (-kv[1], ids[kv[0]]))[:k]
            return [(ids[r], float(s)) for r, s in best]
        ids = store.chunks.chunk_ids
        return [(ids[r], float(s)) for r, s in zip(rows.tolist(), scores.tolist(), strict=True)]

    def bm25_ranking(self, question: str, k: int, filters: Filters | None, allowed: RowMask | None) -> Ranked:
        """The ``k`` best rows by BM25. The last ranking (at least as long as a hybrid one) is
        kept, so a question read twice (to restore its diacritics, then to rank) is scored once."""
        last = self._last_bm25
        if last is not None and last[0][:2] == (question, filters) and last[0][2] >= k:
            rows, scores = last[1]
            return rows[:k], scores[:k]
        n = max(k, self.fusion.candidates)
        if allowed is None:
            ranked = self.bm25.search(question, n)
        else:
            scores = np.where(allowed, self.bm25.scores(question), np.float32(0.0)).astype(np.float32)
            ranked = top_k(scores, n)
        self._last_bm25 = ((question, filters, n), ranked)
        return ranked[0][:k], ranked[1][:k]

    def dense_ranking(self, vector: npt.NDArray[np.float32], k: int, allowed: RowMask | None) -> Ranked:
        ids, scores = self.dense.search(vector, k, allowed=allowed)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]


__all__ = ["LocalBackend"]
