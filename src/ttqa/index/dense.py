"""Dense vector index: FAISS inner product over L2-normalised vectors, with ids."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import numpy.typing as npt

from ttqa.embedding.base import Vectors

DENSE = "dense.faiss"


class DenseIndex(Protocol):
    """What the retriever needs from a vector index."""

    @property
    def size(self) -> int: ...

    def search(
        self, query: Vectors, k: int, *, allowed: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Best ``k`` rows per query; with ``allowed``, only rows where ``allowed[row]`` is true."""
        ...

    def remove(self, ids: npt.NDArray[np.int64]) -> int: ...

    def save(self, directory: Path) -> None: ...


class FaissDenseIndex:
    """Exact search (``IndexFlatIP``) wrapped in ``IndexIDMap2`` so rows can be removed."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: Vectors, ids: npt.NDArray[np.int64] | None = None) -> FaissDenseIndex:
        dim = int(vectors.shape[1])
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if ids is None:
            ids = np.arange(len(vectors), dtype=np.int64)
        if len(vectors):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def search(
        self, query: Vectors, k: int, *, allowed: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        k = min(k, self.size if allowed is None else int(np.count_nonzero(allowed)))
        if k <= 0:
            empty = np.zeros((len(query), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        query = np.ascontiguousarray(query, dtype=np.float32)
        if allowed is None:
            scores, ids = self._index.search(query, k)
        else:
            # Filter inside FAISS: IndexIDMap2 applies the selector to the row ids.
            bits = np.packbits(allowed, bitorder="little")
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBitmap(bits.size, faiss.swig_ptr(bits))
            scores, ids = self._index.search(query, k, params=params)
            del params, bits  # kept alive until the search has returned
        return ids.astype(np.int64), scores.astype(np.float32)

    def remove(self, ids: npt.NDArray[np.int64]) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids.size, faiss.swig_ptr(ids))))

    def save(self, directory: Path) -> None:
        faiss.write_index(self._index, str(directory / DENSE))

    @classmethod
    def load(cls, directory: Path) -> FaissDenseIndex:
        return cls(faiss.read_index(str(directory / DENSE)))
