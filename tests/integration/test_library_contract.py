"""The library contract other services rely on: the README example, typing, add/remove documents."""

from __future__ import annotations

import inspect
import re
import shutil
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import ttqa
from conftest import local_backend
from ttqa import QA, Answer, Document, Hit, TTQAInputError, UnknownDocumentError

ROOT = Path(__file__).resolve().parents[2]
NEW_ID = "new_nghe_an_2023"
NEW_RECORD = {
    "id": NEW_ID,
    "title": "Huyện Quỳnh Lưu kiện toàn bộ máy sau sáp nhập",
    "text": (
        "Ngày 14/3/2023, Huyện ủy Quỳnh Lưu tổ chức hội nghị tổng kết việc sáp nhập các xã. "
        "Bí thư Huyện ủy Hồ Văn Thắng chủ trì hội nghị. Sau sáp nhập, huyện giảm 12 đơn vị "
        "hành chính cấp xã và bố trí lại 85 cán bộ, công chức dôi dư."
    ),
    "date": "2023-03-14",
    "source": "BNA",
    "author": "Minh Châu",
}
NEW_QUESTION = "Ai chủ trì hội nghị tổng kết sáp nhập xã ở Quỳnh Lưu?"


@pytest.fixture
def index_copy(seed_qa: QA, tmp_path: Path) -> Path:
    """A private copy of the seed index (embedding cache included, so nothing is re-embedded)."""
    target = tmp_path / "index"
    shutil.copytree(seed_qa.index_dir, target)
    return target


@pytest.fixture
def qa(index_copy: Path, seed_qa: QA) -> QA:
    return QA.load(index_copy, embedder=seed_qa.embedder)


def _readme_python_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no Python API example"
    return match.group(1)


def test_readme_python_example_runs(index_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _readme_python_example()
    assert "indexes/default" in code
    monkeypatch.chdir(ROOT)  # the example names the bundled "corpus" relatively
    namespace: dict[str, Any] = {}
    exec(compile(code.replace("indexes/default", str(index_copy)), "README.md", "exec"), namespace)
    assert isinstance(namespace["qa"], QA)
    hits = namespace["hits"]
    assert hits and all(isinstance(h, Hit) for h in hits)
    assert isinstance(namespace["answer"], Answer)
    assert isinstance(namespace["doc"], Document)


def test_package_is_typed_and_exports_the_contract() -> None:
    assert resources.files("ttqa").joinpath("py.typed").is_file()
    for name in ("QA", "Answer", "Citation", "Hit", "Document", "TTQAInputError", "UnknownDocumentError"):
        assert hasattr(ttqa, name)
    assert isinstance(ttqa.__version__, str)


def test_signatures_stay_backward_compatible(qa: QA) -> None:
    params = inspect.signature(QA.search).parameters
    assert list(params)[:4] == ["self", "question", "k", "mode"]
    assert params["k"].default == 10 and params["filters"].default is None
    ask = inspect.signature(QA.ask).parameters
    assert ask["k"].kind is inspect.Parameter.KEYWORD_ONLY and ask["k"].default == 8
    assert ask["filters"].default is None
    # old call styles still work
    assert len(qa.search("Ai chủ trì hội thảo?", 3, "bm25")) == 3
    assert isinstance(qa.ask("Ai chủ trì hội thảo?", k=4, mode="dense"), Answer)


def test_offsets_contract(qa: QA) -> None:
    for h in qa.search("Nghệ An giảm bao nhiêu biên chế?", k=10):
        assert qa.document(h.doc_id).text[h.start : h.end] == h.text
    answer = qa.ask("Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?")
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert qa.document(c.doc_id).text[c.start : c.end] == c.quote
    if not answer.abstained:
        assert answer.doc_id is not None and answer.start is not None
        assert qa.document(answer.doc_id).text[answer.start : answer.end] == answer.text


# ---------------------------------------------------------------- add / remove
def test_add_a_record(qa: QA, index_copy: Path) -> None:
    before = qa.manifest.version
    n_docs = len(qa.store)
    report = qa.add_documents([NEW_RECORD])
    assert report.added == [NEW_ID] and not report.updated and not report.removed
    assert report.kept == n_docs
    assert 0 < report.embedded <= 2  # only the new passage(s) are embedded
    assert qa.manifest.version != before and len(qa.store) == n_docs + 1
    doc = qa.document(NEW_ID)
    assert (doc.title, doc.date, doc.source, doc.author) == (
        NEW_RECORD["title"],
        "2023-03-14",
        "BNA",
        "Minh Châu",
    )
    hits = qa.search(NEW_QUESTION, k=3)
    assert hits[0].doc_id == NEW_ID
    assert qa.search(NEW_QUESTION, k=5, filters={"sources": ["BNA"]})[0].doc_id == NEW_ID
    answer = qa.ask(NEW_QUESTION)
    assert answer.citations[0].doc_id == NEW_ID
    # the index directory itself was updated: a fresh load sees the same thing
    fresh = QA.load(index_copy, embedder=qa.embedder)
    assert fresh.manifest.version == qa.manifest.version and NEW_ID in fresh.store


def test_add_paths_and_documents(qa: QA, tmp_path: Path) -> None:
    article = tmp_path / "bai_moi.txt"
    article.write_text(
        "Đà Nẵng tinh giản biên chế\n\nNăm 2022, thành phố Đà Nẵng tinh giản 340 biên chế "
        "trong khối hành chính và sắp xếp lại 21 đơn vị sự nghiệp công lập.",
        encoding="utf-8",
    )
    decomposed = "Hội nghị cán bộ tỉnh Quảng Nam bàn về luân chuyển cán bộ".replace("ộ", "o\u0323\u0302")
    obj = Document("obj_1", decomposed, title="Quảng Nam luân chuyển cán bộ", date="2022-05-01")
    report = qa.add_documents([article, obj])
    assert sorted(report.added) == ["bai_moi", "obj_1"]
    assert qa.document("obj_1").text == "Hội nghị cán bộ tỉnh Quảng Nam bàn về luân chuyển cán bộ"  # NFC
    assert qa.search("Đà Nẵng tinh giản bao nhiêu biên chế?", k=1)[0].doc_id == "bai_moi"
    report = qa.add_documents(str(article))  # a single path; unchanged -> nothing to embed
    assert report.up_to_date or report.embedded == 0


def test_add_replaces_a_document_with_the_same_id(qa: QA) -> None:
    doc_id = "000_7c61923aec2bb611"
    old = qa.document(doc_id)
    record: dict[str, Any] = {**NEW_RECORD, "id": doc_id}
    report = qa.add_documents(record)
    assert report.updated == [doc_id] and not report.added
    assert qa.document(doc_id).title == NEW_RECORD["title"] != old.title


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"id": "x", "title": "no text"}], "no text"),
        ([{"id": "x", "text": "   "}], "no text"),
        (["/nonexistent/corpus/dir"], "not found"),
        ([42], "cannot add int"),
        ([], "no document"),
    ],
)
def test_add_rejects_bad_input_and_changes_nothing(qa: QA, items: Any, message: str) -> None:
    version = qa.manifest.version
    with pytest.raises(TTQAInputError, match=message):
        qa.add_documents(items)
    assert qa.manifest.version == version


def test_remove(qa: QA, index_copy: Path) -> None:
    gone = "001_af4427a512693819"
    n_docs = len(qa.store)
    report = qa.remove_documents([gone])
    assert report.removed == [gone] and report.embedded == 0
    assert len(qa.store) == n_docs - 1
    with pytest.raises(UnknownDocumentError):
        qa.document(gone)
    for mode in ("hybrid", "dense", "bm25"):
        assert all(h.doc_id != gone for h in qa.search("Đại hội cấp trên cơ sở", k=50, mode=mode))
    assert all(c.doc_id != gone for c in qa.ask("Đại hội cấp trên cơ sở diễn ra khi nào?").citations)
    assert qa.search("Đại hội", k=5, filters={"sources": ["ĐTO"]}) == []  # 001 was the only ĐTO article
    fresh = QA.load(index_copy, embedder=qa.embedder)
    assert gone not in fresh.store
    qa.add_documents(NEW_RECORD)
    qa.remove_documents(NEW_ID)  # a single id
    assert NEW_ID not in qa.store


def test_remove_unknown_changes_nothing(qa: QA) -> None:
    version = qa.manifest.version
    with pytest.raises(UnknownDocumentError) as info:
        qa.remove_documents(["000_7c61923aec2bb611", "no_such_doc"])
    assert "no_such_doc" in str(info.value)
    assert isinstance(info.value, KeyError)
    assert qa.manifest.version == version and "000_7c61923aec2bb611" in qa.store
    with pytest.raises(TTQAInputError, match="every document"):
        qa.remove_documents([d.doc_id for d in local_backend(qa)])
    assert qa.manifest.version == version


def test_queries_keep_working_during_an_update(qa: QA) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                hits = qa.search("Ai chủ trì hội thảo?", k=5)
                for h in hits:
                    assert qa.document(h.doc_id).text[h.start : h.end] == h.text or h.doc_id == NEW_ID
                qa.ask("Nghệ An giảm bao nhiêu biên chế?", k=4)
            except UnknownDocumentError:
                pass  # a hit of the old version looked up after the swap: allowed
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        qa.add_documents([NEW_RECORD])
        qa.remove_documents([NEW_ID])
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:3]
    assert NEW_ID not in qa.store


@pytest.mark.parametrize("k", [0, -3, 2.5, "3", None, True])
def test_bad_k_is_an_input_error(qa: QA, k: Any) -> None:
    question = "Ai chủ trì hội thảo?"
    with pytest.raises(TTQAInputError, match="k must be"):
        qa.ask(question, k=k)
    with pytest.raises(TTQAInputError, match="k must be"):
        qa.search(question, k=k)
    assert len(qa.search(question, k=1)) == 1
