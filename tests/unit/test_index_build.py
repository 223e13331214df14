"""Index plumbing: incremental builds, atomic versions, refusal of mismatches, locking.

These use the deterministic HashingEmbedder (plumbing only); retrieval quality is
tested with the real model in test_retrieval_e2e.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from conftest import local_backend
from ttqa import QA, IndexCorruptError, IndexLockedError, IndexMismatchError, IndexNotFoundError
from ttqa.embedding.base import Vectors
from ttqa.embedding.hashing import HashingEmbedder
from ttqa.index.builder import build_index
from ttqa.index.layout import build_lock, current_version_dir
from ttqa.schema import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


class CountingEmbedder(HashingEmbedder):
    """Counts the passages it embeds, and can be told to fail after N."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__(64)
        self.embedded = 0
        self.fail_after = fail_after

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32) -> Vectors:
        if self.fail_after is not None and self.embedded + len(texts) > self.fail_after:
            raise KeyboardInterrupt("simulated stop")
        self.embedded += len(texts)
        return super().embed_passages(texts, batch_size=batch_size)


def seed_docs() -> list[Document]:
    return [
        Document(doc_id=p.stem, text=p.read_text(encoding="utf-8"), title=p.read_text().splitlines()[0])
        for p in sorted(CORPUS.glob("*.txt"))
    ]


def test_build_load_search(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    report = build_index(seed_docs(), tmp_path, emb)
    assert report.n_documents == 5 and len(report.added) == 5 and report.n_chunks > 5
    qa = QA.load(tmp_path, embedder=emb)
    hits = qa.search("Đàm Hữu Khanh chủ trì hội thảo", k=3, mode="bm25")
    assert hits[0].doc_id == "000_7c61923aec2bb611"
    for hit in qa.search("biên chế Nghệ An", k=10, mode="hybrid"):
        assert qa.document(hit.doc_id).text[hit.start : hit.end] == hit.text
    assert qa.document("003_755f0a2fc64bc61b").doc_id == "003_755f0a2fc64bc61b"


def test_incremental_add_change_delete(tmp_path: Path) -> None:
    docs = seed_docs()
    emb = CountingEmbedder()
    first = build_index(docs[:4], tmp_path, emb)
    n_first = emb.embedded
    assert n_first == first.n_chunks

    # Unchanged corpus: nothing embedded, no new version.
    again = build_index(docs[:4], tmp_path, emb)
    assert again.up_to_date and emb.embedded == n_first and again.version == first.version

    # Add one, change one, delete one.
    changed = Document(
        doc_id=docs[1].doc_id, text=docs[1].text + "\n\nĐoạn mới về công tác cán bộ.", title=docs[1].title
    )
    new_docs = [docs[0], changed, docs[2], docs[4]]  # docs[3] deleted, docs[4] added
    before = emb.embedded
    report = build_index(new_docs, tmp_path, emb)
    assert report.added == [docs[4].doc_id]
    assert report.updated == [docs[1].doc_id]
    assert report.removed == [docs[3].doc_id]
    assert report.kept == 2
    # Only passages of the added and the changed document were embedded.
    assert 0 < emb.embedded - before <= report.n_chunks - 2
    assert report.embedded == emb.embedded - before
    qa = QA.load(tmp_path, embedder=emb)
    assert docs[3].doc_id not in qa.store
    assert "Đoạn mới về công tác cán bộ." in qa.document(docs[1].doc_id).text
    assert {h.doc_id for h in qa.search("Nghệ An 6.666 biên chế", k=20, mode="bm25")}.isdisjoint(
        {docs[3].doc_id}
    )


def test_stopped_build_keeps_previous_index_and_resumes(tmp_path: Path) -> None:
    docs = seed_docs()
    build_index(docs[:2], tmp_path, CountingEmbedder())
    live = current_version_dir(tmp_path)

    failing = CountingEmbedder(fail_after=10)
    with pytest.raises(KeyboardInterrupt):
        build_index(docs, tmp_path, failing, batch_size=1)
    # The previous version is still the live one and still loads.
    assert current_version_dir(tmp_path) == live
    assert len(QA.load(tmp_path, embedder=HashingEmbedder(64)).store) == 2

    # Rerun: the vectors computed before the stop are not computed again.
    resumed = CountingEmbedder()
    report = build_index(docs, tmp_path, resumed, batch_size=1)
    assert report.cached >= failing.embedded > 0
    assert resumed.embedded == report.embedded
    assert len(QA.load(tmp_path, embedder=HashingEmbedder(64)).store) == 5


def test_mismatched_model_or_chunking_is_refused(tmp_path: Path) -> None:
    from ttqa.ingest.chunking import ChunkingParams

    build_index(seed_docs(), tmp_path, HashingEmbedder(64))
    with pytest.raises(IndexMismatchError, match="rebuild"):
        QA.load(tmp_path, embedder=HashingEmbedder(32))
    with pytest.raises(IndexMismatchError, match="rebuild"):
        QA.load(tmp_path, embedder=HashingEmbedder(64), chunking=ChunkingParams(400, 50))
    QA.load(tmp_path, embedder=HashingEmbedder(64), chunking=ChunkingParams())


def test_tampered_or_truncated_files_are_refused(tmp_path: Path) -> None:
    build_index(seed_docs(), tmp_path, HashingEmbedder(64))
    version = current_version_dir(tmp_path)
    faiss_file = version / "dense.faiss"
    data = faiss_file.read_bytes()
    faiss_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="rebuild"):
        QA.load(tmp_path, embedder=HashingEmbedder(64))
    faiss_file.write_bytes(data)
    docs_file = version / "documents.jsonl"
    docs_file.write_text(docs_file.read_text().replace("Vĩnh Tường", "Vinh Tuong"))
    with pytest.raises(IndexCorruptError):
        QA.load(tmp_path, embedder=HashingEmbedder(64))


def test_missing_index_and_lock(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="ttqa index"):
        QA.load(tmp_path / "nothing", embedder=HashingEmbedder(64))
    with build_lock(tmp_path), pytest.raises(IndexLockedError, match="another build"):
        build_index(seed_docs(), tmp_path, HashingEmbedder(64))


def test_manifest_records_the_build(tmp_path: Path) -> None:
    build_index(seed_docs(), tmp_path, HashingEmbedder(64))
    manifest = json.loads((current_version_dir(tmp_path) / "manifest.json").read_text())
    assert manifest["embedder_fingerprint"] == "hashing-v1-64"
    assert manifest["dim"] == 64
    assert manifest["chunking"]["chunk_size"] == 800
    assert set(manifest["documents"]) == {p.stem for p in CORPUS.glob("*.txt")}
    assert "dense.faiss" in manifest["files"] and "bm25/params.index.json" in manifest["files"]
    assert len(manifest["files"]["dense.faiss"]) == 64  # a sha256


def test_dense_index_removes_ids() -> None:
    from ttqa.index.local.dense import FaissDenseIndex

    emb = HashingEmbedder(64)
    vecs = emb.embed_passages(["tinh giản biên chế", "đại hội đảng bộ", "công tác cán bộ"])
    index = FaissDenseIndex.build(vecs)
    assert index.remove(np.array([0], dtype=np.int64)) == 1
    ids, _ = index.search(emb.embed_queries(["tinh giản biên chế"]), 3)
    assert 0 not in ids[0].tolist() and index.size == 2


def test_bm25_postings_mapped_when_small_and_read_when_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ttqa.index.local import lexical
    from ttqa.index.local.lexical import MMAP_MAX_ROWS, BM25Index

    build_index(seed_docs(), tmp_path, CountingEmbedder())
    version = current_version_dir(tmp_path)
    assert version is not None
    n = local_backend(QA.load(tmp_path, embedder=CountingEmbedder())).bm25.size
    question = "Nghệ An đã giảm được bao nhiêu biên chế?"
    loaded = {mmap: BM25Index.load(version, n, mmap=mmap) for mmap in (None, True, False)}
    assert isinstance(loaded[None]._accented.scores["data"], np.memmap)  # n <= MMAP_MAX_ROWS
    assert not isinstance(loaded[False]._accented.scores["data"], np.memmap)
    assert n <= MMAP_MAX_ROWS
    for index in loaded.values():
        np.testing.assert_array_equal(index.scores(question), loaded[True].scores(question))
        assert (
            index.search("nghe an giam bien che", 3)[0].tolist()
            == loaded[True].search("nghe an giam bien che", 3)[0].tolist()
        )
    monkeypatch.setattr(lexical, "MMAP_MAX_ROWS", n - 1)  # the same index counted as large
    assert not isinstance(BM25Index.load(version, n)._accented.scores["data"], np.memmap)
