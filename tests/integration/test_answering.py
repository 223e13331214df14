"""Answers on the bundled corpus with the real model: offsets, question types, abstention, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EVALS
from ttqa import QA, Answer
from ttqa.answering.qtype import QType, question_type
from ttqa.evaluation.datasets import load_jsonl
from ttqa.reading.base import Passage
from ttqa.reading.sentences import sentence_spans

SEED = load_jsonl(EVALS / "seed.jsonl")


def _check_offsets(qa: QA, answer: Answer) -> None:
    if not answer.abstained:
        assert answer.doc_id is not None and answer.start is not None and answer.end is not None
        assert answer.sentence_start is not None and answer.sentence_end is not None
        text = qa.document(answer.doc_id).text
        assert text[answer.start : answer.end] == answer.text
        assert text[answer.sentence_start : answer.sentence_end] == answer.sentence
        assert answer.sentence_start <= answer.start < answer.end <= answer.sentence_end
        assert answer.citations[0].doc_id == answer.doc_id
        assert answer.citations[0].start <= answer.start and answer.end <= answer.citations[0].end
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert qa.document(c.doc_id).text[c.start : c.end] == c.quote
    assert 0.0 <= answer.confidence <= 1.0


def test_offsets_invariant_for_every_seed_question(seed_qa: QA, seed_answers: dict[str, Answer]) -> None:
    assert [a.question for a in seed_answers.values()] == [q.question for q in SEED]
    for answer in seed_answers.values():
        _check_offsets(seed_qa, answer)


@pytest.mark.parametrize(
    "question,qtype",
    [
        ("Ai chủ trì hội thảo?", QType.PERSON),
        ("ai chu tri hoi thao", QType.PERSON),
        ("Cơ quan nào tổ chức hội nghị?", QType.ORG),
        ("co quan nao to chuc hoi nghi", QType.ORG),
        ("Đồng chí được chuyển về đơn vị nào?", QType.ORG),
        ("Cơ sở đào tạo lý luận nào của tỉnh dự hội nghị?", QType.ORG),
        ("Quyết định số nào quy định việc này?", QType.WHAT),
        ("Nghệ An giảm được bao nhiêu biên chế?", QType.NUMBER),
        ("Có mấy nhiệm vụ trọng tâm?", QType.NUMBER),
        ("Hội thảo diễn ra khi nào?", QType.DATE),
        ("hoi thao dien ra ngay nao", QType.DATE),
        ("Đại hội nhiệm kỳ nào?", QType.DATE),
        ("Hội nghị được tổ chức ở đâu?", QType.PLACE),
        ("Đại biểu đến từ những tỉnh nào?", QType.PLACE),
        ("Đề án gồm những phần gì?", QType.WHAT),
        ("Sắp xếp tổ chức bộ máy tinh gọn như thế nào?", QType.WHAT),
    ],
)
def test_question_types(question: str, qtype: QType) -> None:
    assert question_type(question) is qtype


def test_sentences_keep_numbers_and_abbreviations_whole() -> None:
    text = (
        "Từ 2015 – 2018, toàn tỉnh đã giảm được 6.666 biên chế, đạt gần 8,1%. TP. Hồ Chí Minh cũng vậy. Xong!"
    )
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == [
        "Từ 2015 – 2018, toàn tỉnh đã giảm được 6.666 biên chế, đạt gần 8,1%.",
        "TP. Hồ Chí Minh cũng vậy.",
        "Xong!",
    ]


# One question of each type on a real seed sentence: the reader must find the span.
TYPE_CASES = [
    (
        "003_755f0a2fc64bc61b",
        "Từ 2015 – 2018, tỉnh Nghệ An đã giảm được bao nhiêu biên chế?",
        "6.666 biên chế",
    ),
    (
        "000_7c61923aec2bb611",
        "Ai chủ trì hội thảo góp ý vào đề án tổ chức bộ máy của huyện Vĩnh Tường?",
        "Đàm Hữu Khanh",
    ),
    (
        "000_7c61923aec2bb611",
        "Hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường diễn ra vào ngày nào?",
        "19/11/2020",
    ),
    ("004_bc7b2e738a1e378f", "Năm 2019 có bao nhiêu đảng viên mới được kết nạp?", "143 ngàn"),
    (
        "003_755f0a2fc64bc61b",
        "Đại biểu đến từ bao nhiêu tỉnh khu vực Tây Bắc, Duyên hải và Bắc Trung bộ?",
        "10 tỉnh",
    ),
    (
        "001_af4427a512693819",
        "Ai là Trưởng BTC Tỉnh ủy chủ trì hội nghị sơ kết 6 tháng đầu năm 2020?",
        "Phan Văn Thắng",
    ),
    (
        "004_bc7b2e738a1e378f",
        "Cơ quan nào tổ chức hội nghị trực tuyến toàn quốc về công tác tổ chức xây dựng Đảng năm 2019?",
        "Ban Tổ chức Trung ương",
    ),
]


@pytest.mark.parametrize("doc_id,question,gold", TYPE_CASES, ids=[c[2] for c in TYPE_CASES])
def test_reader_finds_span_in_real_article(seed_qa: QA, doc_id: str, question: str, gold: str) -> None:
    reader = seed_qa.answerer.reader
    text = seed_qa.document(doc_id).text
    reading = reader.read(question, [Passage(doc_id, text, 0, len(text))], top=3, whole=True)
    best = reading.best
    assert best is not None
    assert text[best.start : best.end] == best.text
    assert gold in best.text and len(best.text) <= len(gold) + 40, best.text


@pytest.mark.parametrize(
    "question",
    [
        "Giá vàng hôm nay bao nhiêu?",
        "Đội tuyển bóng đá Việt Nam thắng Thái Lan mấy bàn?",
        "Thời tiết Hà Nội ngày mai thế nào?",
    ],
)
def test_abstains_on_off_topic_questions(seed_qa: QA, question: str) -> None:
    answer = seed_qa.ask(question)
    assert answer.abstained and answer.text is None
    _check_offsets(seed_qa, answer)


@pytest.mark.parametrize(
    "question,gold",
    [
        (
            "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy, công tác cán bộ huyện Vĩnh Tường?",
            "Đàm Hữu Khanh",
        ),
        ("Ai là người chủ trì hội thảo ở Vĩnh Tường?", "Đàm Hữu Khanh"),
        ("nghe an giam duoc bao nhieu bien che", "6.666"),
    ],
)
def test_plain_questions_are_answered_end_to_end(seed_qa: QA, question: str, gold: str) -> None:
    answer = seed_qa.ask(question)
    _check_offsets(seed_qa, answer)
    assert not answer.abstained, (question, answer.confidence)
    assert gold in (answer.text or "") and len(answer.text or "") <= len(gold) + 40, answer.text


def test_answer_json_shape(seed_qa: QA) -> None:
    answer = seed_qa.ask("Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?")
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert {"text", "sentence", "abstained", "confidence", "citations", "question"} <= set(data)
    assert isinstance(data["confidence"], float) and isinstance(data["abstained"], bool)
    cite = data["citations"][0]
    assert set(cite) == {
        "n",
        "doc_id",
        "title",
        "date",
        "source",
        "path",
        "start",
        "end",
        "quote",
        "score",
        "heading",
    }
    assert cite["n"] == 1


def test_near_duplicate_articles_are_cited_once(tmp_path: Path, model_cache: Path) -> None:
    src = (EVALS.parent / "corpus" / "003_755f0a2fc64bc61b.txt").read_text(encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(src, encoding="utf-8")
    (corpus / "b.txt").write_text(src.replace("Mai Hương", "Mai  Hương"), encoding="utf-8")  # syndicated copy
    qa = QA.build([corpus], tmp_path / "index")
    answer = qa.ask("Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?")
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))
