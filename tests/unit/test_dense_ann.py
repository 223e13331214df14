"""The dense index: exact below the size threshold, HNSW above it (recall, filters, ids, removal)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt
import pytest

from conftest import local_backend
from ttqa.index.local.dense import (
    DELETED,
    DENSE,
    EXACT_MAX_ENV,
    FaissDenseIndex,
    HnswParams,
    is_graph_file,
    recall_at_k,
)

DIM = 384
Array = npt.NDArray[np.float32]


def unit(x: npt.NDArray[np.float64]) -> Array:
    out: Array = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


def random_vectors(n: int, seed: int, dim: int = DIM) -> Array:
    return unit(np.random.default_rng(seed).standard_normal((n, dim)))


def clustered(n: int, n_queries: int, seed: int, dim: int = DIM) -> tuple[Array, Array]:
    """Real-ish embeddings and queries: topics (cluster centres) plus low-rank variation.

    Queries come from the same topics but lie further from the rows than rows from each other
    (as e5 questions do from their passages).
    """
    rng = np.random.default_rng(seed)
    clusters, rank = 64, 24
    centres = rng.standard_normal((clusters, dim))
    basis = rng.standard_normal((rank, dim)) / np.sqrt(rank)

    def draw(m: int, spread: float) -> Array:
        labels = rng.integers(0, clusters, m)
        return unit(centres[labels] + spread * rng.standard_normal((m, rank)) @ basis)

    return draw(n, 0.6), draw(n_queries, 0.9)


def clustered_vectors(n: int, seed: int) -> Array:
    return clustered(n, 0, seed)[0]


def brute_force(
    data: Array, queries: Array, k: int, allowed: npt.NDArray[np.bool_] | None = None
) -> tuple[npt.NDArray[np.int64], Array]:
    scores = queries @ data.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return top.astype(np.int64), np.take_along_axis(scores, top, axis=1)


def id_recall(got: npt.NDArray[np.int64], want: npt.NDArray[np.int64]) -> float:
    return float(
        np.mean([len(set(g.tolist()) & set(w.tolist())) / len(w) for g, w in zip(got, want, strict=True)])
    )


@pytest.fixture(scope="module")
def random_hnsw() -> tuple[Array, FaissDenseIndex]:
    """20k random unit vectors of dimension 384 (the hardest case for a graph index), forced to HNSW."""
    data = random_vectors(20_000, seed=1)
    return data, FaissDenseIndex.build(data, exact_max=1_000)


def test_below_the_threshold_search_is_exact() -> None:
    data = random_vectors(2_000, seed=2)
    queries = random_vectors(20, seed=3)
    index = FaissDenseIndex.build(data)
    assert index.kind == "flat" and index.size == 2_000 and index.ef_search is None
    ids, scores = index.search(queries, 10)
    want_ids, want_scores = brute_force(data, queries, 10)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)  # (by score: float near-ties)
    assert id_recall(ids, want_ids) >= 0.99


def test_above_the_threshold_hnsw_recall_at_10_on_random_vectors(
    random_hnsw: tuple[Array, FaissDenseIndex],
) -> None:
    data, index = random_hnsw
    assert index.kind == "hnsw" and index.size == len(data)
    assert index.calibration is not None and index.calibration["calibrated"]
    assert index.calibration["reached_target"]
    assert index.ef_search is not None and index.ef_search >= 10
    queries = random_vectors(200, seed=4)
    ids, scores = index.search(queries, 10)
    want_ids, want_scores = brute_force(data, queries, 10)
    assert id_recall(ids, want_ids) >= 0.98
    assert recall_at_k(scores, want_scores) >= 0.98
    # The exact path of the same index is the brute force.
    exact_ids, exact_scores = index.search_exact(queries, 10)
    np.testing.assert_allclose(exact_scores, want_scores, atol=1e-5)
    assert id_recall(exact_ids, want_ids) >= 0.99


def test_hnsw_recall_at_10_on_clustered_vectors() -> None:
    data, queries = clustered(12_000, 200, seed=5)
    index = FaissDenseIndex.build(data, exact_max=1_000)
    assert index.kind == "hnsw"
    ids, _ = index.search(queries, 10)
    want_ids, _ = brute_force(data, queries, 10)
    assert id_recall(ids, want_ids) >= 0.98
    # Candidates for fusion (k=100, more than efSearch may be) come back complete and sorted.
    ids100, scores100 = index.search(queries[:20], 100)
    assert ids100.shape == (20, 100) and (ids100 >= 0).all()
    assert (np.diff(scores100, axis=1) <= 1e-6).all()


def test_an_unreachable_recall_target_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    data = clustered_vectors(2_000, seed=16)
    with caplog.at_level("WARNING", logger="ttqa.index"):
        index = FaissDenseIndex.build(data, exact_max=100, hnsw=HnswParams(recall_target=1.01))
    assert index.calibration is not None and index.calibration["reached_target"] is False
    assert index.ef_search == 2048
    assert "TTQA_DENSE_EXACT_MAX" in caplog.text


def test_a_fixed_ef_search_skips_calibration() -> None:
    data = clustered_vectors(3_000, seed=7)
    index = FaissDenseIndex.build(data, exact_max=100, hnsw=HnswParams(ef_search=40))
    assert index.kind == "hnsw" and index.ef_search == 40
    assert index.calibration == {"ef_search": 40, "calibrated": False}


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.01, 0.0005])
def test_filtered_search_returns_only_allowed_rows(
    random_hnsw: tuple[Array, FaissDenseIndex], fraction: float
) -> None:
    data, hnsw = random_hnsw
    flat = FaissDenseIndex.build(data)
    rng = np.random.default_rng(int(fraction * 10_000))
    allowed = rng.random(len(data)) < fraction
    n_allowed = int(allowed.sum())
    queries = random_vectors(50, seed=8)
    want_ids, want_scores = brute_force(data, queries, 10, allowed)
    for index in (flat, hnsw):
        ids, scores = index.search(queries, 10, allowed=allowed)
        assert ids.shape == (50, min(10, n_allowed))
        assert (ids >= 0).all() and allowed[ids].all()
        assert id_recall(ids, want_ids[:, : ids.shape[1]]) >= (1.0 if index is flat else 0.95)
    # A filter leaving few rows is answered exactly, even on the graph index.
    if n_allowed <= hnsw.exact_max:
        _, scores = hnsw.search(queries, 10, allowed=allowed)
        np.testing.assert_allclose(scores, want_scores[:, :n_allowed], atol=1e-5)


def test_filter_edge_cases(random_hnsw: tuple[Array, FaissDenseIndex]) -> None:
    data, hnsw = random_hnsw
    flat = FaissDenseIndex.build(data[:500])
    for index in (flat, hnsw):
        none = np.zeros(index.size, dtype=bool)
        ids, scores = index.search(data[:3], 10, allowed=none)
        assert ids.shape == (3, 0) and scores.shape == (3, 0)
        one = none.copy()
        one[42] = True
        ids, _ = index.search(data[:3], 10, allowed=one)
        assert ids.tolist() == [[42]] * 3
        # A mask shorter than the index allows nothing beyond its end.
        short = np.ones(100, dtype=bool)
        ids, _ = index.search(data[:3], 10, allowed=short)
        assert (ids < 100).all() and ids.shape == (3, 10)


def test_ids_are_kept(tmp_path: Path) -> None:
    data = clustered_vectors(3_000, seed=9)
    ids = np.arange(len(data), dtype=np.int64) * 3 + 5
    for exact_max in (10_000, 100):
        index = FaissDenseIndex.build(data, ids, exact_max=exact_max)
        got, _ = index.search(data[:5], 1)
        assert got[:, 0].tolist() == ids[:5].tolist()
        allowed = np.zeros(int(ids.max()) + 1, dtype=bool)
        allowed[ids[1000:1200]] = True
        got, _ = index.search(data[:5], 10, allowed=allowed)
        assert np.isin(got, ids[1000:1200]).all()


@pytest.mark.parametrize("exact_max", [100_000, 500])
def test_save_load_round_trip(tmp_path: Path, exact_max: int) -> None:
    data, queries = clustered(4_000, 30, seed=10)
    index = FaissDenseIndex.build(data, exact_max=exact_max)
    index.save(tmp_path)
    assert (tmp_path / DENSE).is_file() and not (tmp_path / DELETED).exists()
    ids, scores = index.search(queries, 10)
    assert is_graph_file(tmp_path / DENSE) == (index.kind == "hnsw")
    # Default: flat indexes are mapped, graph indexes read into memory.
    mappable = hasattr(faiss, "IO_FLAG_MMAP_IFC")
    assert FaissDenseIndex.load(tmp_path).mmapped == (index.kind == "flat" and mappable)
    for mmap in (True, False):
        loaded = FaissDenseIndex.load(tmp_path, mmap=mmap)
        assert loaded.kind == index.kind and loaded.size == index.size and loaded.dim == DIM
        assert loaded.ef_search == index.ef_search  # the calibrated value is stored in the file
        got_ids, got_scores = loaded.search(queries, 10)
        assert (got_ids == ids).all()
        np.testing.assert_allclose(got_scores, scores, atol=1e-6)
        if not mmap:
            assert not loaded.mmapped


def test_hnsw_removal_uses_tombstones(tmp_path: Path) -> None:
    data = clustered_vectors(3_000, seed=12)
    index = FaissDenseIndex.build(data, exact_max=500)
    assert index.kind == "hnsw"
    gone = np.array([0, 1, 2, 2999], dtype=np.int64)
    assert index.remove(gone) == 4
    assert index.remove(np.array([1, 5_000], dtype=np.int64)) == 0  # already removed / not stored
    assert index.size == 2_996 and index.deleted.tolist() == gone.tolist()
    ids, _ = index.search(data[gone], 10)
    assert not np.isin(ids, gone).any() and (ids >= 0).all()
    allowed = np.zeros(len(data), dtype=bool)
    allowed[:10] = True  # 3 of them removed
    ids, _ = index.search(data[:3], 10, allowed=allowed)
    assert ids.shape == (3, 7) and sorted(ids[0].tolist()) == list(range(3, 10))
    index.save(tmp_path)
    assert (tmp_path / DELETED).is_file()
    loaded = FaissDenseIndex.load(tmp_path)
    assert loaded.size == 2_996 and loaded.deleted.tolist() == gone.tolist()
    assert not np.isin(loaded.search(data[gone], 10)[0], gone).any()
    compacted = loaded.compact()
    assert compacted.size == 2_996 and len(compacted.deleted) == 0
    assert not np.isin(compacted.search(data[gone], 10)[0], gone).any()
    assert compacted.search(data[3:4], 1)[0].tolist() == [[3]]
    compacted.save(tmp_path)
    assert not (tmp_path / DELETED).exists()


def test_flat_removal_removes_even_when_memory_mapped(tmp_path: Path) -> None:
    data = clustered_vectors(1_000, seed=13)
    FaissDenseIndex.build(data).save(tmp_path)
    loaded = FaissDenseIndex.load(tmp_path)
    assert loaded.kind == "flat"
    assert loaded.remove(np.array([7, 8], dtype=np.int64)) == 2
    assert loaded.size == 998 and not loaded.mmapped
    ids, _ = loaded.search(data[7:9], 5)
    assert not np.isin(ids, [7, 8]).any()
    # The file on disk is untouched.
    assert FaissDenseIndex.load(tmp_path).size == 1_000


def test_threshold_from_the_environment_reaches_the_index_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ttqa import QA
    from ttqa.embedding.hashing import HashingEmbedder
    from ttqa.index.builder import build_index
    from ttqa.ingest.loader import load_documents

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv(EXACT_MAX_ENV, "5")
    build_index(load_documents([root / "corpus"]), tmp_path, HashingEmbedder(64))
    qa = QA.load(tmp_path, embedder=HashingEmbedder(64))
    dense = local_backend(qa).dense
    assert isinstance(dense, FaissDenseIndex) and dense.kind == "hnsw" and dense.size > 5
    hits = qa.search("Vĩnh Tường tổ chức hội thảo", k=5, mode="dense")
    assert len(hits) == 5 and len({h.chunk_id for h in hits}) == 5
    monkeypatch.setenv(EXACT_MAX_ENV, "not a number")
    assert FaissDenseIndex.build(random_vectors(10, seed=14)).kind == "flat"


def test_single_queries_leave_the_callers_thread_setting_alone() -> None:
    import faiss

    data = random_vectors(500, seed=15)
    index = FaissDenseIndex.build(data)
    before = faiss.omp_get_max_threads()
    ids, _ = index.search(data[:1], 3)
    assert ids[0, 0] == 0 and faiss.omp_get_max_threads() == before
    ids, _ = index.search(data[:50], 3)  # a batch: FAISS's own threading
    assert (ids[:, 0] == np.arange(50)).all() and faiss.omp_get_max_threads() == before
