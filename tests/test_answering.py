"""Answers on the bundled corpus with the real model: offsets, question types, abstention, JSON."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS, EVALS
from ttqa.answering.qtype import QType, question_type
from ttqa.answering.reader import Passage, Reader, clip_sentence
from ttqa.answering.sentences import sentence_spans
from ttqa.evaluation.datasets import load_jsonl

SEED = load_jsonl(EVALS / "seed.jsonl")


def _check_offsets(qa, answer) -> None:  # type: ignore[no-untyped-def]
    if not answer.abstained:
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


def test_offsets_invariant_for_every_seed_question(seed_qa) -> None:  # type: ignore[no-untyped-def]
    for q in SEED:
        _check_offsets(seed_qa, seed_qa.ask(q.question))


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
def test_reader_finds_span_in_real_article(seed_qa, doc_id: str, question: str, gold: str) -> None:  # type: ignore[no-untyped-def]
    reader = Reader(seed_qa.embedder)
    text = seed_qa.document(doc_id).text
    preds = reader.read(question, [Passage(doc_id, text, 0, len(text))], top=3)
    assert preds
    best = preds[0]
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
def test_abstains_on_off_topic_questions(seed_qa, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = seed_qa.ask(question)
    assert answer.abstained and answer.text is None
    _check_offsets(seed_qa, answer)


def test_answer_json_shape(seed_qa) -> None:  # type: ignore[no-untyped-def]
    answer = seed_qa.ask("Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?")
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert {"text", "sentence", "abstained", "confidence", "citations", "question"} <= set(data)
    assert isinstance(data["confidence"], float) and isinstance(data["abstained"], bool)
    cite = data["citations"][0]
    assert set(cite) == {"n", "doc_id", "title", "date", "source", "path", "start", "end", "quote", "score"}
    assert cite["n"] == 1


def test_near_duplicate_articles_are_cited_once(tmp_path, model_cache) -> None:  # type: ignore[no-untyped-def]
    from ttqa import QA

    src = (EVALS.parent / "corpus" / "003_755f0a2fc64bc61b.txt").read_text(encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(src, encoding="utf-8")
    (corpus / "b.txt").write_text(src.replace("Mai Hương", "Mai  Hương"), encoding="utf-8")  # syndicated copy
    qa = QA.build([corpus], tmp_path / "index")
    answer = qa.ask("Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?")
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes))


def test_one_sentence_is_encoded_and_it_holds_the_answer(seed_qa) -> None:  # type: ignore[no-untyped-def]
    """The reader encodes one sentence per question, the one holding the best span, and that
    span's similarity is the e5 cosine of its own sentence (on real seed questions)."""
    answerer = seed_qa.answerer
    reader = answerer.reader
    embedder = reader.embedder
    questions = [json.loads(line)["question"] for line in (EVALS / "seed.jsonl").open(encoding="utf-8")][::3]
    assert len(questions) >= 40
    encoded: list[list[str]] = []
    original = embedder.embed_passages

    def counting(texts, **kw):  # type: ignore[no-untyped-def]
        encoded.append(list(texts))
        return original(texts, **kw)

    reader._cache.clear()
    embedder.embed_passages = counting
    try:
        for question in questions:
            found = answerer.retriever.retrieve(question, k=8)
            passages = answerer.passages(found.hits)
            encoded.clear()
            preds = reader.read(found.reading, passages, top=5)
            assert preds, question
            best = preds[0]
            doc_text = next(p.text for p in passages if p.doc_id == best.doc_id)
            text = doc_text[best.sentence_start : best.sentence_end]
            assert sum(len(t) for t in encoded) <= 1, question  # none when the sentence was cached
            qv = embedder.embed_queries([found.reading])
            want = float(original([clip_sentence(text, reader.sentence_chars)])[0] @ qv.reshape(-1))
            assert best.cos == pytest.approx(want, abs=1e-4), question
    finally:
        del embedder.embed_passages


def test_sentences_are_clipped_at_a_space_for_encoding() -> None:
    text = "Đồng chí Đàm Hữu Khanh – Phó Bí thư Thường trực Huyện ủy chủ trì hội thảo."
    assert clip_sentence(text, 0) == text and clip_sentence(text, len(text)) == text
    assert clip_sentence(text, 20) == "Đồng chí Đàm Hữu"
    assert clip_sentence("Chữkhôngcókhoảngtrắng", 5) == "Chữkh"


def test_a_name_of_the_question_missing_from_the_article_is_evidence_against() -> None:
    from ttqa.answering.answerer import answer_features
    from ttqa.answering.reader import SpanPrediction
    from ttqa.corpus import load_documents

    doc = next(d for d in load_documents([CORPUS]) if "6.666 biên chế" in d.text)
    start = doc.text.index("6.666 biên chế")
    pred = SpanPrediction(doc.doc_id, start, start + 14, "6.666 biên chế", 0, 0, 5.0, 0.8, 0.9, 1.0)
    asked = "Từ 2015 – 2018, tỉnh {} giảm được bao nhiêu biên chế?"
    assert answer_features(asked.format("Nghệ An"), [pred], doc.text)["name_missing"] == 0.0
    assert answer_features(asked.format("Hà Tĩnh"), [pred], doc.text)["name_missing"] == 1.0
    # Unaccented questions carry no capitals to find names by.
    assert answer_features("tinh ha tinh giam bao nhieu bien che", [pred], doc.text)["name_missing"] == 0.0


def test_a_year_answering_a_count_and_missing_slot_words_are_evidence_against() -> None:
    """ "2025" of "giai đoạn 2020 – 2025" does not answer "bao nhiêu tỷ đồng", and a sentence
    without the words around the question word ("khai mạc ngày nào") is a weaker answer."""
    from ttqa.answering.answerer import answer_features
    from ttqa.answering.reader import SpanPrediction
    from ttqa.corpus import load_documents

    doc = next(d for d in load_documents([CORPUS]) if "Sáng ngày 19/11/2020, Huyện ủy Vĩnh Tường" in d.text)
    s = doc.text.index("Sáng ngày 19/11/2020")
    e = doc.text.index(".", s) + 1
    year = doc.text.index("2025", s)
    date = doc.text.index("19/11/2020", s)

    def features(question: str, start: int, end: int) -> dict[str, float]:
        pred = SpanPrediction(doc.doc_id, start, end, doc.text[start:end], s, e, 5.0, 0.8, 0.9, 1.0)
        return answer_features(question, [pred], doc.text)

    asked_money = "Đề án tổ chức bộ máy của huyện Vĩnh Tường cần bao nhiêu tỷ đồng?"
    assert features(asked_money, year, year + 4)["count_is_year"] == 1.0
    assert (
        features("Đề án tổ chức bộ máy của huyện Vĩnh Tường kéo dài bao nhiêu năm?", year, year + 4)[
            "count_is_year"
        ]
        == 0.0
    )
    assert (
        features("Huyện ủy Vĩnh Tường tổ chức hội thảo góp ý vào ngày nào?", date, date + 10)["slot_cov"]
        == 1.0
    )
    # "khai mạc" is missing; "Vĩnh Tường ... ngày" are there.
    assert features("Đại hội Đảng bộ huyện Vĩnh Tường khai mạc ngày nào?", date, date + 10)["slot_cov"] == 0.6


def test_a_number_of_the_question_is_missing_only_when_no_form_of_it_is_in_the_article() -> None:
    """Digit groups count one by one ("25/12/2019" is there when the article says "ngày 25-12"
    and "năm 2019"), in the article's date too; a year the article never gives is missing."""
    from ttqa.answering.answerer import answer_features
    from ttqa.answering.reader import SpanPrediction
    from ttqa.corpus import load_documents

    doc = next(d for d in load_documents([CORPUS]) if "Sáng ngày 25-12" in d.text)
    start = doc.text.index("25-12")
    pred = SpanPrediction(doc.doc_id, start, start + 5, "25-12", 0, 0, 5.0, 0.8, 0.9, 1.0)

    def missing(question: str, about: str = "") -> float:
        return answer_features(question, [pred], doc.text, about=about)["rare_missing"]

    assert missing("Hội nghị trực tuyến toàn quốc ngày 25/12/2019 về công tác tổ chức do ai chủ trì?") == 0.0
    assert (
        missing("Hội nghị về công tác tổ chức xây dựng Đảng năm 2020, định hướng 2021 diễn ra ngày nào?")
        == 1.0
    )
    assert "2017" not in doc.text
    asked_2017 = "Năm 2017, hội nghị trực tuyến về công tác tổ chức diễn ra ngày nào?"
    assert missing(asked_2017) == 1.0
    assert missing(asked_2017, about="2017-12-25") == 0.0


def test_typed_bonus_tells_organisations_from_people() -> None:
    from ttqa.answering.reader import typed_bonus

    spans = [
        *("Ban Tổ chức Trung ương", "Trần Quốc Vượng", "sở Tư pháp TP.HCM", "hội nghị trực tuyến", "Ban"),
        *("Huyện ủy", "Đảng, đoàn thể", "Đảng đã tham mưu"),
    ]
    org = typed_bonus("Cơ quan nào tổ chức hội nghị trực tuyến toàn quốc?", spans)
    assert [bool(b) for b in org] == [True, False, True, False, False, False, False, False]
    person = typed_bonus("Ai chủ trì hội nghị trực tuyến toàn quốc?", spans)
    assert [bool(b) for b in person] == [False, True, False, False, False, False, False, False]
    # An organisation does not run on into the question's own words.
    q = "Cơ quan nào ở Vĩnh Tường tổ chức hội nghị?"
    bonus = typed_bonus(q, ["Ban Tổ chức Trung ương tổ chức", "Huyện ủy Vĩnh Tường"])
    assert [bool(b) for b in bonus] == [False, True]
    # A name the question already holds is not its answer.
    assert not typed_bonus("Ban Tổ chức Trung ương thuộc cơ quan nào?", spans[:1]).any()
