"""Metadata filters: parsing, semantics, and filtering before ranking in FAISS and BM25."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from conftest import local_backend
from ttqa import QA, Document, TTQAInputError
from ttqa.embedding.hashing import HashingEmbedder
from ttqa.index.builder import build_index
from ttqa.index.filters import Filters, InvalidFilterError, MetadataIndex, document_day
from ttqa.retrieval.retriever import Mode

MODES = [Mode.HYBRID, Mode.DENSE, Mode.BM25]

# Every article mentions "Đảng bộ" (so BM25 scores every passage); "Vĩnh Tường" is only in "a".
_BODY = (
    "Đảng bộ {place} tổ chức hội nghị về công tác cán bộ và sắp xếp tổ chức bộ máy. "
    "Hội nghị bàn về tinh giản biên chế, đào tạo cán bộ trẻ và công tác kiểm tra. "
)
DOCS = [
    Document("a", _BODY.format(place="huyện Vĩnh Tường") * 3 + "Vĩnh Tường Vĩnh Tường.", "A",
             "2020-11-19", "ĐTO"),
    Document("b", _BODY.format(place="tỉnh Nghệ An") * 3, "B", "2020-07-25T13:05:15", "TGAG"),
    Document("c", _BODY.format(place="tỉnh Hà Tĩnh") * 3, "C", "--01-03", "ĐTO"),
    Document("d", _BODY.format(place="tỉnh Thanh Hóa") * 3, "D", None, None),
    Document("e", _BODY.format(place="thành phố Huế") * 3, "E", "2021-03-02", "tgag"),
    Document("f", _BODY.format(place="tỉnh Quảng Trị") * 3, "F", "2019-12-31", None),
]  # fmt: skip
BY_ID = {d.doc_id: d for d in DOCS}
QUESTION = "Đảng bộ huyện Vĩnh Tường tổ chức hội nghị gì?"


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    index = tmp_path_factory.mktemp("filters-index")
    build_index(DOCS, index, HashingEmbedder(64))
    return QA.load(index, embedder=HashingEmbedder(64))


# ---------------------------------------------------------------- parsing
def test_document_day() -> None:
    assert document_day("2020-11-19") == date(2020, 11, 19)
    assert document_day("2020-07-25T13:05:15") == date(2020, 7, 25)
    assert document_day("2020-07-25T13:05:15+07:00") == date(2020, 7, 25)
    for partial in ("--01-03", "--12-25", None, "", "2020", "2020-07", "2020-02-30", "19/11/2020"):
        assert document_day(partial) is None


def test_parse() -> None:
    assert Filters.parse(None) is None
    assert Filters.parse({}) is None
    assert Filters.parse({"date_from": None, "date_to": None, "sources": []}) is None
    flt = Filters.parse(
        {"date_from": "2020-01-01", "date_to": date(2020, 12, 31), "sources": [" ĐTO ", "đto"]},
    )
    assert flt == Filters(date(2020, 1, 1), date(2020, 12, 31), ("đto",))
    assert Filters.parse(flt) is flt
    assert Filters.parse({"sources": "TGAG"}) == Filters(sources=("tgag",))
    assert Filters.create(date_from="2020-01-01").to_dict() == {
        "date_from": "2020-01-01",
        "date_to": None,
        "sources": [],
    }


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"date_from": "19/11/2020"}, "invalid_date"),
        ({"date_from": "2020-02-30"}, "invalid_date"),
        ({"date_to": "2020-11-19T00:00:00"}, "invalid_date"),
        ({"date_to": "--01-03"}, "invalid_date"),
        ({"date_to": 20201119}, "invalid_date"),
        ({"date_from": "2021-01-01", "date_to": "2020-01-01"}, "invalid_filters"),
        ({"outlet": "ĐTO"}, "invalid_filters"),
        ({"sources": [""]}, "invalid_filters"),
        ({"sources": [3]}, "invalid_filters"),
        ({"sources": 3}, "invalid_filters"),
        ({"sources": ["x"] * 101}, "invalid_filters"),
        ("ĐTO", "invalid_filters"),
    ],
)
def test_parse_errors(value: Any, code: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        Filters.parse(value)
    assert isinstance(info.value, TTQAInputError) and isinstance(info.value, ValueError)
    assert info.value.code == code
    assert info.value.message_en and info.value.message_vi


def test_matches_semantics() -> None:
    year_2020 = Filters.create(date_from="2020-01-01", date_to="2020-12-31")
    assert [d.doc_id for d in DOCS if year_2020.matches(d)] == ["a", "b"]
    # partial ("--01-03") and unknown dates are excluded by any date bound...
    assert [d.doc_id for d in DOCS if Filters.create(date_to="2100-01-01").matches(d)] == ["a", "b", "e", "f"]
    # ...but not by a source-only filter
    assert [d.doc_id for d in DOCS if Filters.create(sources=["đto"]).matches(d)] == ["a", "c"]
    # bounds are inclusive; the time of day is ignored
    day = Filters.create(date_from="2020-07-25", date_to="2020-07-25")
    assert [d.doc_id for d in DOCS if day.matches(d)] == ["b"]
    both = Filters.create(date_from="2020-01-01", sources=["TGAG"])
    assert [d.doc_id for d in DOCS if both.matches(d)] == ["b", "e"]


def test_metadata_index_agrees_with_matches(qa: QA) -> None:
    backend = local_backend(qa)
    rows = backend.store.chunks.doc_ids
    meta = MetadataIndex(backend, rows)
    for flt in [
        Filters.create(date_from="2020-01-01"),
        Filters.create(date_to="2020-08-01"),
        Filters.create(sources=["ĐTO", "TGAG"]),
        Filters.create(date_from="2019-06-01", date_to="2020-12-31", sources=["ĐTO"]),
    ]:
        mask = meta.row_mask(flt)
        assert mask.tolist() == [flt.matches(qa.document(doc_id)) for doc_id in rows]


# ---------------------------------------------------------------- retrieval
@pytest.mark.parametrize("mode", MODES)
def test_no_filter_is_unchanged(qa: QA, mode: Mode) -> None:
    plain = qa.search(QUESTION, k=8, mode=mode)
    assert qa.search(QUESTION, k=8, mode=mode, filters={}) == plain
    assert qa.search(QUESTION, k=8, mode=mode, filters={"sources": []}) == plain
    assert qa.search(QUESTION, k=8, mode=mode, filters=None) == plain


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": "2020-01-01", "date_to": "2020-12-31"},
        {"date_to": "2020-10-01"},
        {"sources": ["tgag"]},
        {"sources": ["ĐTO"], "date_from": "2000-01-01"},
    ],
)
def test_hits_pass_the_filter(qa: QA, mode: Mode, filters: dict[str, Any]) -> None:
    flt = Filters.parse(filters)
    assert flt is not None
    allowed_rows = [i for i, d in enumerate(local_backend(qa).store.chunks.doc_ids) if flt.matches(BY_ID[d])]
    hits = qa.search(QUESTION, k=50, mode=mode, filters=filters)
    assert hits and all(flt.matches(BY_ID[h.doc_id]) for h in hits)
    # every passage mentions the question's words, so all allowed passages come back
    assert len(hits) == len(allowed_rows)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    for h in hits:
        assert qa.document(h.doc_id).text[h.start : h.end] == h.text


@pytest.mark.parametrize("mode", MODES)
def test_filter_applies_before_ranking(qa: QA, mode: Mode) -> None:
    """The best unfiltered passages are all from "a"; filtered, k hits still come back."""
    top = qa.search(QUESTION, k=2, mode=mode)
    assert top[0].doc_id == "a"
    hits = qa.search(QUESTION, k=2, mode=mode, filters={"date_to": "2020-10-01"})
    assert [h.rank for h in hits] == [1, 2] and {h.doc_id for h in hits} == {"b", "f"}
    hits = qa.search(QUESTION, k=2, mode=mode, filters={"sources": ["TGAG"]})
    assert [h.rank for h in hits] == [1, 2] and {h.doc_id for h in hits} == {"b", "e"}
    hits = qa.search(QUESTION, k=1, mode=mode, filters={"date_from": "2020-07-25", "date_to": "2020-07-25"})
    assert [h.doc_id for h in hits] == ["b"]


@pytest.mark.parametrize("mode", MODES)
def test_filter_that_matches_nothing(qa: QA, mode: Mode) -> None:
    assert qa.search(QUESTION, k=5, mode=mode, filters={"date_from": "2030-01-01"}) == []
    assert qa.search(QUESTION, k=5, mode=mode, filters={"sources": ["VnExpress"]}) == []


def test_dense_filter_inside_faiss_equals_filtering_an_exhaustive_search(qa: QA) -> None:
    """The FAISS ``IDSelector`` search returns what filtering an exhaustive search returns."""
    backend = local_backend(qa)
    qvec = qa.embedder.embed_queries([QUESTION])
    all_ids, all_scores = backend.dense.search(qvec, backend.dense.size)
    for filters in ({"sources": ["TGAG"]}, {"date_from": "2020-01-01"}, {"sources": ["đto"]}):
        allowed = backend.allowed_rows(Filters.parse(filters))
        assert allowed is not None
        ids, scores = backend.dense.search(qvec, 4, allowed=allowed)
        keep = allowed[all_ids[0]]
        expected = all_ids[0][keep][: ids.shape[1]]
        assert ids[0].tolist() == expected.tolist()
        assert np.allclose(scores[0], all_scores[0][keep][: ids.shape[1]])


def test_dense_ranking_with_mask(qa: QA) -> None:
    backend = local_backend(qa)
    mask = np.zeros(len(backend.store.chunks), dtype=np.bool_)
    mask[[0, 3]] = True
    qvec = qa.embedder.embed_queries([QUESTION])
    rows, scores = backend.dense_ranking(qvec, 10, mask)
    assert sorted(rows.tolist()) == [0, 3]
    assert scores[0] >= scores[1]
    rows, _ = backend.bm25_ranking(QUESTION, 10, None, mask)
    assert sorted(rows.tolist()) == [0, 3]


def test_bad_filters_raise(qa: QA) -> None:
    with pytest.raises(InvalidFilterError):
        qa.search(QUESTION, filters={"date_from": "yesterday"})
    with pytest.raises(TTQAInputError):
        qa.ask(QUESTION, filters={"sources": 3})


def test_ask_with_filters(qa: QA) -> None:
    flt = {"sources": ["TGAG"]}
    answer = qa.ask(QUESTION, filters=flt)
    assert answer.citations
    assert {c.doc_id for c in answer.citations} <= {"b", "e"}
    if not answer.abstained:
        assert answer.doc_id in {"b", "e"}
    assert qa.ask(QUESTION, filters={"date_from": "2030-01-01"}).citations == []


# ---------------------------------------------------------------- the real model on the seed corpus
SEED = {
    "000": ("2020-11-19", None),
    "001": ("2020-07-25T13:05:15", "ĐTO"),
    "002": ("--01-03", None),
    "003": (None, None),
    "004": ("--12-25", "TGAG"),
}


@pytest.mark.slow
def test_seed_corpus_filters_end_to_end(seed_qa: QA) -> None:
    backend = local_backend(seed_qa)
    for doc in backend:
        assert (doc.date, doc.source) == SEED[doc.doc_id[:3]]
    question = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?"
    n_chunks = {p: sum(1 for d in backend.store.chunks.doc_ids if d.startswith(p)) for p in SEED}
    for mode in MODES:
        hits = seed_qa.search(question, k=50, mode=mode, filters={"date_from": "2020-01-01"})
        # the partial dates of 002/004 and the missing one of 003 are excluded
        assert {h.doc_id[:3] for h in hits} == {"000", "001"}
        hits = seed_qa.search(question, k=3, mode=mode, filters={"date_to": "2020-08-31"})
        assert len(hits) == 3 and {h.doc_id[:3] for h in hits} == {"001"}
        hits = seed_qa.search(question, k=50, mode=mode, filters={"sources": ["tgag", "đto"]})
        assert {h.doc_id[:3] for h in hits} == {"001", "004"}
        if mode is not Mode.BM25:  # dense returns every allowed passage
            assert len(hits) == n_chunks["001"] + n_chunks["004"]
    answer = seed_qa.ask(question, filters={"sources": ["TGAG"]})
    assert answer.citations and all(c.doc_id.startswith("004") for c in answer.citations)
    unfiltered = seed_qa.ask(question)
    assert unfiltered.citations[0].doc_id.startswith("000")
