"""Dense vector index: FAISS inner product over L2-normalised vectors, with ids.

Two kinds, chosen by size when the index is built:

* **flat** (exact): ``IndexIDMap2(IndexFlatIP)``, used up to ``exact_max`` vectors (default
  100,000, or ``$TTQA_DENSE_EXACT_MAX``). Every query scans every vector: on one core of the
  2-vCPU machine that is ~6 ms at 100k vectors of dimension 384, but 11 ms (p95 12 ms) at the
  174,530 chunks of the 35,440-article corpus, more than the 5 ms of embedding the question and
  enough to push ``qa.search`` past its 25 ms p95 budget; hence the 100k threshold.
* **hnsw** (approximate): ``IndexIDMap2(IndexHNSWFlat)`` with the inner-product metric, ``M=32``
  and ``efConstruction=80``, used above ``exact_max``. ``efSearch`` is *calibrated at build
  time* and stored in the index file: on 256 synthetic queries made from the data (midpoints of
  two rows, and rows moved to cosine 0.7; see :func:`calibration_queries`) it is the smallest
  value of :data:`EF_GRID` whose recall@10 against exact search reaches 0.99, times
  ``HnswParams.ef_margin`` (2). The margin is there because real questions sit further from their
  passages than those queries: on the 606-article corpus (e5-small-int8) the calibration reached
  0.99 at 96, the eval questions needed 128 for 0.99, and get 0.997 at the stored 192. Random
  vectors (the worst case for a graph index) get 1536 at 20k rows; from a few hundred thousand
  random rows on, no ``efSearch`` up to 2048 reaches the target with ``M=32`` (a warning says so;
  the index then keeps ``efSearch=2048``). The search always uses ``efSearch >= k``.

Ids are the chunk rows (``IndexIDMap2``), so both kinds answer with rows and can be filtered
with ``allowed`` (a boolean mask over rows) through FAISS's ``IDSelectorBitmap``: only allowed
rows are returned. On an HNSW index a filter that leaves at most ``exact_max`` rows is answered
by an exact scan of those rows (the graph search loses recall when most of the graph is filtered
out), and a graph search that comes back with fewer than ``k`` rows is redone exactly.

Removal: FAISS cannot remove vectors from an HNSW graph. ``remove`` on an HNSW index therefore
marks the rows deleted (tombstones, saved beside the index as ``dense.deleted.npy``) and every
search filters them out with the same selector mechanism; ``compact()`` rebuilds the index
without them. ttqa itself never removes rows in place (an update builds a new index version),
so tombstones only matter for direct users of this class. On a flat index rows are really
removed, as before.

Loading memory-maps a flat index's vectors where FAISS supports it (``IO_FLAG_MMAP_IFC``, FAISS
>= 1.10), so several processes serving the same index share the page cache and start without
reading the vectors into private memory; it falls back to an ordinary read. An HNSW index is
read into memory: a graph search touches a few thousand scattered vectors, and through a
mapping each first touch of a page is a fault (measured at 1,000,000 vectors: search p95 81 ms
mapped on a cold page cache, 8 ms read; reading costs 3.6 s at load). ``mmap=True`` maps it
anyway. A memory-mapped index is read-only: ``remove`` on a memory-mapped flat index
first copies it into memory. Index version directories are immutable (a build writes a new
one), which is what makes mapping them safe.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import faiss
import numpy as np
import numpy.typing as npt

from ttqa.embedding.base import Vectors
from ttqa.settings import DEFAULT_DENSE_EXACT_MAX, load_settings

DENSE = "dense.faiss"
DELETED = "dense.deleted.npy"
EXACT_MAX_ENV = "TTQA_DENSE_EXACT_MAX"
"""The variable of the ``dense_exact_max`` setting (named in messages)."""
DEFAULT_EXACT_MAX = DEFAULT_DENSE_EXACT_MAX
SMALL_BATCH = 20
"""Query batches smaller than this run on the calling thread only (see :func:`_one_thread`)."""
EF_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
"""``efSearch`` values tried (in order) by the build-time calibration."""

Kind = Literal["flat", "hnsw"]
log = logging.getLogger("ttqa.index")


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


@dataclass(frozen=True, slots=True)
class HnswParams:
    """Parameters of the HNSW index built above the exact-search threshold."""

    m: int = 32
    ef_construction: int = 80
    ef_search: int | None = None
    """``None``: calibrate at build time (see the module docstring)."""
    recall_target: float = 0.99
    """Recall@10 the calibration queries must reach."""
    ef_margin: int = 2
    """The stored ``efSearch`` is this multiple of the value that reached the target."""
    calibration_queries: int = 256
    seed: int = 0


def default_exact_max() -> int:
    """The exact-search threshold: the ``dense_exact_max`` setting (``TTQA_DENSE_EXACT_MAX``)."""
    return load_settings().dense_exact_max


def recall_at_k(
    approx_scores: npt.NDArray[np.floating[Any]], exact_scores: npt.NDArray[np.floating[Any]]
) -> float:
    """Mean recall@k of approximate results against exact ones, by score (ties count as hits).

    Both arrays are ``(queries, k)``, best first. A returned row is a hit when its score is at
    least the exact ``k``-th score, so equal vectors (duplicate passages) are not misses.
    """
    if exact_scores.size == 0:
        return 1.0
    k = exact_scores.shape[1]
    kth = exact_scores[:, -1:] - 1e-5
    hits = (approx_scores[:, :k] >= kth) & np.isfinite(approx_scores[:, :k])
    return float(np.minimum(hits.sum(axis=1), k).mean() / k)


def _hnsw_params() -> Any:
    faiss_any: Any = faiss  # the type stubs lack some SWIG classes
    return faiss_any.SearchParametersHNSW()


@contextlib.contextmanager
def _one_thread(n_queries: int) -> Iterator[None]:
    """Run FAISS single-threaded on this thread for a small query batch.

    FAISS parallelises over queries with OpenMP; for one query the thread team costs more than
    it saves, and on a busy machine it waits for a free core (a 1,000-vector flat search took
    16 ms instead of 0.04 ms with both cores busy). OpenMP's thread count is per calling thread,
    so concurrent callers are unaffected and each still runs on its own thread.
    """
    before = faiss.omp_get_max_threads()
    if n_queries >= SMALL_BATCH or before == 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _float32(x: npt.ArrayLike) -> Vectors:
    arr = np.ascontiguousarray(x, dtype=np.float32)
    return arr.reshape(1, -1) if arr.ndim == 1 else arr


def _bitmap_selector(mask: npt.NDArray[np.bool_]) -> tuple[Any, npt.NDArray[np.uint8]]:
    """An ``IDSelectorBitmap`` over ``mask`` and the bit array it points into (keep it alive)."""
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(bits.size, faiss.swig_ptr(bits)), bits


class FaissDenseIndex:
    """Exact (flat) or HNSW inner-product search wrapped in ``IndexIDMap2`` (ids = chunk rows)."""

    def __init__(
        self,
        index: faiss.Index,
        *,
        deleted: npt.NDArray[np.int64] | None = None,
        exact_max: int | None = None,
        mmapped: bool = False,
    ) -> None:
        self._index: faiss.Index
        self._idmap: Any
        self._inner: Any
        self._set_index(index)
        self._kind: Kind = "hnsw" if isinstance(self._inner, faiss.IndexHNSW) else "flat"
        self._deleted = np.unique(np.asarray(deleted if deleted is not None else [], dtype=np.int64))
        self.exact_max = default_exact_max() if exact_max is None else exact_max
        self._mmapped = mmapped
        self._id_map: npt.NDArray[np.int64] | None = None
        self.calibration: dict[str, Any] | None = None
        """What the build-time ``efSearch`` calibration measured (``None`` after ``load``)."""

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        vectors: Vectors,
        ids: npt.NDArray[np.int64] | None = None,
        *,
        exact_max: int | None = None,
        hnsw: HnswParams | None = None,
    ) -> FaissDenseIndex:
        """Index ``vectors`` (rows ``0..n-1`` unless ``ids``): flat up to ``exact_max``, else HNSW."""
        vectors = _float32(vectors)
        dim = int(vectors.shape[1])
        limit = default_exact_max() if exact_max is None else exact_max
        params = hnsw or HnswParams()
        if ids is None:
            ids = np.arange(len(vectors), dtype=np.int64)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        use_hnsw = len(vectors) > limit
        inner: Any
        if use_hnsw:
            inner = faiss.IndexHNSWFlat(dim, params.m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = params.ef_construction
        else:
            inner = faiss.IndexFlatIP(dim)
        index = faiss.IndexIDMap2(inner)
        if len(vectors):
            index.add_with_ids(vectors, ids)
        out = cls(index, exact_max=limit)
        if use_hnsw:
            if params.ef_search is not None:
                out.ef_search = params.ef_search
                out.calibration = {"ef_search": params.ef_search, "calibrated": False}
            else:
                out.calibration = out._calibrate(vectors, params)
                out.ef_search = int(out.calibration["ef_search"])
            log.info(
                "dense index: HNSW over %d vectors (M=%d, efConstruction=%d, efSearch=%d)",
                len(vectors),
                params.m,
                params.ef_construction,
                out.ef_search,
            )
        return out

    def _calibrate(self, vectors: Vectors, params: HnswParams, k: int = 10) -> dict[str, Any]:
        """``efSearch`` for ``params.recall_target``: see :func:`calibration_queries`."""
        queries = calibration_queries(vectors, params.calibration_queries, params.seed)
        storage: Any = faiss.downcast_index(self._inner.storage)
        exact, _ = storage.search(queries, k)
        recall, ef = 0.0, EF_GRID[-1]
        for ef in (e for e in EF_GRID if e >= k):
            sp = _hnsw_params()
            sp.efSearch = ef
            approx, _ = self._inner.search(queries, k, params=sp)
            recall = recall_at_k(approx, exact)
            if recall >= params.recall_target:
                break
        reached = recall >= params.recall_target
        if not reached:
            log.warning(
                "HNSW over %d vectors reaches recall@10 %.3f < %.2f at efSearch %d on the calibration "
                "queries (vectors without structure, e.g. random, are the worst case for a graph index); "
                "set %s above %d for exact search",
                len(vectors),
                recall,
                params.recall_target,
                ef,
                EXACT_MAX_ENV,
                len(vectors),
            )
        return {
            "ef_search": min(ef * params.ef_margin, EF_GRID[-1]),
            "ef_at_target": ef if reached else None,
            "reached_target": reached,
            "recall_at_10": round(recall, 4),
            "target": params.recall_target,
            "queries": len(queries),
            "calibrated": True,
        }

    # ------------------------------------------------------------------ properties
    @property
    def kind(self) -> Kind:
        return self._kind

    @property
    def size(self) -> int:
        """Live rows (removed rows excluded)."""
        return int(self._index.ntotal) - len(self._deleted)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def mmapped(self) -> bool:
        return self._mmapped

    @property
    def ef_search(self) -> int | None:
        return int(self._inner.hnsw.efSearch) if self._kind == "hnsw" else None

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if self._kind != "hnsw":
            raise ValueError("efSearch applies to HNSW indexes only")
        self._inner.hnsw.efSearch = int(value)

    @property
    def deleted(self) -> npt.NDArray[np.int64]:
        """Ids marked deleted on an HNSW index (sorted; always empty on a flat index)."""
        return self._deleted.copy()

    def _ids(self) -> npt.NDArray[np.int64]:
        """External id of every stored vector, in storage order."""
        if self._id_map is None:
            self._id_map = faiss.vector_to_array(self._idmap.id_map).astype(np.int64)
        return self._id_map

    # ------------------------------------------------------------------ search
    def search(
        self,
        query: Vectors,
        k: int,
        *,
        allowed: npt.NDArray[np.bool_] | None = None,
        ef_search: int | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Best ``k`` rows per query (ids, scores; ``-1`` pads when fewer rows exist).

        With ``allowed`` only rows where ``allowed[row]`` is true are returned (rows beyond
        the mask count as not allowed). ``ef_search`` overrides the stored HNSW value.
        """
        query = _float32(query)
        with _one_thread(len(query)):
            return self._search(query, k, allowed, ef_search)

    def _search(
        self, query: Vectors, k: int, allowed: npt.NDArray[np.bool_] | None, ef_search: int | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        mask, n_live = self._live_mask(allowed)
        k = min(k, n_live)
        if k <= 0:
            empty = np.zeros((len(query), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        if self._kind == "flat":
            return self._search_index(self._index, query, k, mask, faiss.SearchParameters())
        if allowed is not None and n_live <= self.exact_max:
            return self._exact_hnsw(query, k, mask)
        sp = _hnsw_params()
        sp.efSearch = max(int(ef_search or self._inner.hnsw.efSearch), k)
        ids, scores = self._search_index(self._index, query, k, mask, sp)
        if (ids < 0).any():  # the graph search could not find k allowed rows: scan instead
            return self._exact_hnsw(query, k, mask)
        return ids, scores

    def search_exact(
        self, query: Vectors, k: int, *, allowed: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Exact best ``k`` rows whatever the kind (the ground truth for recall)."""
        query = _float32(query)
        mask, n_live = self._live_mask(allowed)
        k = min(k, n_live)
        if k <= 0:
            empty = np.zeros((len(query), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        with _one_thread(len(query)):
            if self._kind == "flat":
                return self._search_index(self._index, query, k, mask, faiss.SearchParameters())
            return self._exact_hnsw(query, k, mask)

    def _live_mask(self, allowed: npt.NDArray[np.bool_] | None) -> tuple[npt.NDArray[np.bool_] | None, int]:
        """The allowed-and-not-deleted id mask (``None``: every row) and how many rows it allows."""
        if allowed is None:
            if not len(self._deleted):
                return None, self.size
            top = int(max(self._ids().max(initial=-1), self._deleted.max(initial=-1))) + 1
            mask = np.zeros(top, dtype=bool)
            mask[self._ids()] = True
        else:
            mask = np.asarray(allowed, dtype=bool)
            if len(self._deleted):
                mask = mask.copy()
        if len(self._deleted):
            mask[self._deleted[self._deleted < len(mask)]] = False
        return mask, int(np.count_nonzero(mask))

    @staticmethod
    def _search_index(
        index: Any, query: Vectors, k: int, mask: npt.NDArray[np.bool_] | None, params: Any
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if mask is None:
            scores, ids = index.search(query, k, params=params)
        else:
            # Filter inside FAISS: IndexIDMap2 applies the selector to the row ids.
            sel, bits = _bitmap_selector(mask)
            params.sel = sel
            scores, ids = index.search(query, k, params=params)
            del params, sel, bits  # kept alive until the search has returned
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)

    def _exact_hnsw(
        self, query: Vectors, k: int, mask: npt.NDArray[np.bool_] | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Exact scan of the HNSW index's own vector storage, restricted to ``mask``."""
        storage: Any = faiss.downcast_index(self._inner.storage)
        ids = self._ids()
        if mask is None:
            internal = None
        else:
            inside = ids < len(mask)
            internal = np.zeros(len(ids), dtype=bool)
            internal[inside] = mask[ids[inside]]
        rows, scores = self._search_index(storage, query, k, internal, faiss.SearchParameters())
        found = rows >= 0
        rows[found] = ids[rows[found]]
        return rows, scores

    # ------------------------------------------------------------------ updates
    def remove(self, ids: npt.NDArray[np.int64]) -> int:
        """Remove rows by id; the number removed (ids not stored, or already removed, don't count)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self._kind == "hnsw":
            stored = np.unique(ids[np.isin(ids, self._ids())])
            new = np.setdiff1d(stored, self._deleted, assume_unique=True)
            self._deleted = np.union1d(self._deleted, new)
            return len(new)
        if self._mmapped:  # a mapped file is read-only: work on an in-memory copy from now on
            self._set_index(faiss.deserialize_index(faiss.serialize_index(self._index)))
            self._mmapped = False
        self._id_map = None
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids.size, faiss.swig_ptr(ids))))

    def vectors(self) -> tuple[npt.NDArray[np.int64], Vectors]:
        """The live rows' ids and vectors, in storage order (a copy)."""
        ids = self._ids()
        source: Any = faiss.downcast_index(self._inner.storage) if self._kind == "hnsw" else self._inner
        vectors = np.asarray(source.reconstruct_n(0, len(ids)), dtype=np.float32)
        if not len(self._deleted):
            return ids.copy(), vectors
        live = ~np.isin(ids, self._deleted)
        return ids[live], np.ascontiguousarray(vectors[live])

    def compact(self) -> FaissDenseIndex:
        """A new index without the removed rows, built again (flat or HNSW by its new size)."""
        ids, vectors = self.vectors()
        params = HnswParams(m=int(self._inner.hnsw.nb_neighbors(1))) if self._kind == "hnsw" else None
        return FaissDenseIndex.build(vectors, ids, exact_max=self.exact_max, hnsw=params)

    def _set_index(self, index: faiss.Index) -> None:
        idmap: Any = faiss.downcast_index(index)
        self._index = index
        self._idmap = idmap
        self._inner = faiss.downcast_index(idmap.index)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        faiss.write_index(self._index, str(directory / DENSE))
        tombstones = directory / DELETED
        if len(self._deleted):
            with tombstones.open("wb") as fh:
                np.save(fh, self._deleted)
        else:
            with contextlib.suppress(FileNotFoundError):
                tombstones.unlink()

    @classmethod
    def load(
        cls, directory: Path, *, mmap: bool | None = None, exact_max: int | None = None
    ) -> FaissDenseIndex:
        """Read ``directory/dense.faiss`` (flat or HNSW, detected from the file).

        ``mmap``: map the vectors instead of reading them (when FAISS supports it; falls back);
        ``None`` (default) maps flat indexes and reads graph indexes (see the module notes).
        """
        path = str(directory / DENSE)
        if mmap is None:
            mmap = not is_graph_file(directory / DENSE)
        index: faiss.Index | None = None
        mapped = False
        flag = getattr(faiss, "IO_FLAG_MMAP_IFC", None)
        if mmap and flag is not None:
            try:
                index = faiss.read_index(path, flag)
                mapped = True
            except RuntimeError as exc:  # e.g. a FAISS build without mmap support for this type
                log.debug("memory-mapped read of %s failed (%s); reading it instead", path, exc)
        if index is None:
            index = faiss.read_index(path)
        deleted = None
        tombstones = directory / DELETED
        if tombstones.is_file():
            deleted = np.load(tombstones, allow_pickle=False).astype(np.int64)
        return cls(index, deleted=deleted, exact_max=exact_max, mmapped=mapped)


def is_graph_file(path: Path) -> bool:
    """Whether the FAISS file holds an HNSW index (its header names the index type: "IHN*")."""
    with path.open("rb") as fh:
        return b"IHN" in fh.read(256)


def calibration_queries(vectors: Vectors, n: int, seed: int = 0) -> Vectors:
    """Synthetic queries near the data: midpoints of two rows, and rows moved to cosine 0.7.

    Real questions are not indexed vectors: with e5-small a question's best passage has cosine
    ~0.89 while a passage's nearest neighbour has ~0.95, and the graph search needs more
    candidates for them. Queries made *from* the data (not the data points themselves, which
    the graph finds too easily) reach the target with about half the ``efSearch`` that the
    real questions need (measured on the 606-article corpus), hence ``HnswParams.ef_margin``.
    """
    rng = np.random.default_rng(seed)
    half = max(1, n // 2)
    a, b, c = (vectors[rng.integers(0, len(vectors), half)] for _ in range(3))
    noise = rng.standard_normal(c.shape).astype(np.float32)
    noise -= np.sum(noise * c, axis=1, keepdims=True) * c  # orthogonal to c
    noise /= np.maximum(np.linalg.norm(noise, axis=1, keepdims=True), 1e-12)
    queries = np.concatenate([a + b, 0.7 * c + np.sqrt(1 - 0.7**2) * noise])
    norms = np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(queries / norms, dtype=np.float32)


__all__ = [
    "DEFAULT_EXACT_MAX",
    "DENSE",
    "EF_GRID",
    "DenseIndex",
    "FaissDenseIndex",
    "HnswParams",
    "calibration_queries",
    "default_exact_max",
    "recall_at_k",
]
