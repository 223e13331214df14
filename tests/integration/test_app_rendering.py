"""The chat's HTML: pure rendering of real seed answers, history restoration, feedback log."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ttqa import QA, Answer, Citation, Document
from ttqa.interfaces import labels
from ttqa.interfaces.chat import rendering as r
from ttqa.interfaces.chat.feedback import FeedbackLog, feedback_record
from ttqa.interfaces.chat.history import dump_history, make_turn, restore_history, restore_turn

VINH_TUONG = "Hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường diễn ra ngày nào?"
VINH_TUONG_DOC = "000_7c61923aec2bb611"
NGHE_AN = "Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?"
NGHE_AN_DOC = "003_755f0a2fc64bc61b"
INJECTIONS = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    '"><svg onload=alert(1)>',
    "{{constructor.constructor('alert(1)')()}} ${alert(1)}",
)


class Tree(HTMLParser):
    """Tags and attributes of an HTML fragment, and the text inside chosen elements."""

    VOID: ClassVar[set[str]] = {"br", "img", "hr", "input", "meta", "link", "source", "wbr"}

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in self.VOID:
            return
        key = (a.get("id") and f"#{a['id']}") or (a.get("class") and f".{a['class']}")
        self._open.append((tag, key or None))
        if key:
            self.text.setdefault(key, []).append("")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            t, _ = self._open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, key in self._open:
            if key:
                self.text[key][-1] += data

    def texts(self, key: str) -> list[str]:
        return self.text.get(key, [])


def assert_inert(fragment: str) -> Tree:
    """No script, no event-handler attribute, no javascript: URL, no image/svg/iframe."""
    tree = Tree(fragment)
    for tag, attrs in tree.tags:
        assert tag not in {"script", "img", "svg", "iframe", "object", "embed", "a"} or (
            tag == "a" and str(attrs.get("href", "")).startswith(("http://", "https://"))
        ), (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    assert "<script" not in fragment.lower()
    return tree


@pytest.fixture(scope="module")
def answers(seed_qa: QA) -> dict[str, Answer]:
    return {q: seed_qa.ask(q) for q in (VINH_TUONG, NGHE_AN)}


@pytest.fixture(scope="module")
def answered(answers: dict[str, Answer]) -> Answer:
    """A real, non-abstained answer (the seed corpus answers the Nghệ An question)."""
    a = answers[NGHE_AN]
    if a.abstained:
        a = answers[VINH_TUONG]
    assert not a.abstained, "ttqa abstained on both seed questions"
    return a


def test_answer_span_highlighted_in_its_sentence(answered: Answer, seed_qa: QA) -> None:
    a = answered
    assert a.text and a.sentence is not None and a.start is not None and a.sentence_start is not None
    doc = seed_qa.document(a.doc_id or "")
    assert doc.text[a.start : a.end] == a.text
    out = r.render_answer(a, turn_id="ab" * 16)
    tree = assert_inert(out)
    assert tree.texts(".ttqa-answer-span") == [a.text]
    # the sentence is shown whole, with exactly the answer's characters highlighted
    (sentence,) = tree.texts(".ttqa-sentence")
    assert sentence.startswith(a.sentence)
    marks = tree.texts(".ttqa-span")
    assert marks[0] == a.text
    offset = a.start - a.sentence_start
    expected = (
        f'{html.escape(a.sentence[:offset])}<mark class="ttqa-span">{html.escape(a.text)}</mark>'
        f"{html.escape(a.sentence[offset + len(a.text) :])}"
    )
    assert expected in out
    assert r.ABSTAIN_TEXT not in out
    assert r.SOURCES_LABEL in out


def test_citations_numbered_with_exact_offsets(answered: Answer, seed_qa: QA) -> None:
    a = answered
    turn_id = "cd" * 16
    out = r.render_answer(a, turn_id=turn_id)
    tree = Tree(out)
    items = [attrs for tag, attrs in tree.tags if tag == "li" and attrs.get("class") == "ttqa-citation"]
    assert [int(str(i["data-n"])) for i in items] == list(range(1, len(a.citations) + 1))
    quotes = tree.texts(".ttqa-quote")
    for c, item, quote in zip(a.citations, items, quotes, strict=True):
        doc = seed_qa.document(c.doc_id)
        assert (item["data-doc"], int(str(item["data-start"])), int(str(item["data-end"]))) == (
            c.doc_id,
            c.start,
            c.end,
        )
        assert quote == doc.text[c.start : c.end] == c.quote
        assert f'data-ttqa-action="cite:{turn_id}:{c.n}"' in out
        assert f">[{c.n}]</button>" in out
        if c.title:
            assert html.escape(c.title) in out
    # the answer span is highlighted inside citation 1's quote, at the answer's offsets
    c1 = a.citations[0]
    assert c1.doc_id == a.doc_id
    span = r.answer_span_in(a, c1)
    assert span is not None and c1.quote[span[0] : span[1]] == a.text
    first_quote = out.split('class="ttqa-quote">', 1)[1].split("</blockquote>", 1)[0]
    assert f'<mark class="ttqa-span">{html.escape(a.text or "")}</mark>' in first_quote
    assert "độ liên quan 0" not in out  # no raw fusion score
    ranks = [c.relevance_rank(a.citations) for c in a.citations]
    assert sorted(ranks)[0] == 1 and all(1 <= r <= len(a.citations) for r in ranks)
    for c, rank in zip(a.citations, ranks, strict=True):
        label = "liên quan nhất" if rank == 1 else f"liên quan thứ {rank}/{len(a.citations)}"
        assert label in out
        assert all(o.score <= c.score for o in a.citations) == (rank == 1)


def test_right_articles_cited(answers: dict[str, Answer]) -> None:
    assert answers[VINH_TUONG].citations[0].doc_id == VINH_TUONG_DOC
    assert answers[NGHE_AN].citations[0].doc_id == NGHE_AN_DOC


def test_article_highlights_the_cited_passage_exactly(answered: Answer, seed_qa: QA) -> None:
    a = answered
    for c in a.citations:
        doc = seed_qa.document(c.doc_id)
        span = r.answer_span_in(a, c)
        answer_span = (c.start + span[0], c.start + span[1]) if span else None
        out = r.render_article(doc, c.start, c.end, n=c.n, answer_span=answer_span)
        tree = assert_inert(out)
        assert tree.texts("#ttqa-cited") == [doc.text[c.start : c.end]]
        (body,) = tree.texts(".ttqa-article-text")
        assert body == doc.text  # the whole article, character for character
        if answer_span:
            assert tree.texts(".ttqa-span") == [a.text]
        assert html.escape(doc.heading) in out
        assert f"[{c.n}]" in out


LEAD_002 = (
    "Sáng 3/1, Ban Tổ chức Tỉnh ủy tổ chức Hội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2024, "
    "triển khai nhiệm vụ năm 2025."
)


def test_an_article_without_a_title_shows_its_lead_sentence_never_its_id(seed_qa: QA) -> None:
    """The 2024 Vĩnh Phúc review (002) has no title line: the chat titles it by its first sentence."""
    answer = seed_qa.ask(
        "Ban Tổ chức Tỉnh ủy tổ chức hội nghị tổng kết công tác tổ chức xây dựng Đảng năm 2024 khi nào?"
    )
    (c,) = [c for c in answer.citations if c.doc_id == "002_c369b9d2d1f34063"][:1]
    doc = seed_qa.document(c.doc_id)
    assert doc.title is None and doc.heading == c.heading == LEAD_002
    assert doc.text.startswith(LEAD_002)  # copied from the article, not made up
    cited = r.render_answer(answer, turn_id="ab" * 16)
    assert_inert(cited)
    assert html.escape(LEAD_002) in cited and f">{c.doc_id}<" not in cited
    article = r.render_article(doc, c.start, c.end, n=c.n)
    assert f"<h3>{html.escape(LEAD_002)}</h3>" in article


def test_abstention_shows_no_answer(answered: Answer) -> None:
    a = replace(answered, text=None, sentence=None, abstained=True, doc_id=None, start=None, end=None)
    out = r.render_answer(a, turn_id="ef" * 16)
    tree = assert_inert(out)
    assert r.ABSTAIN_TEXT == "Không tìm thấy câu trả lời trong kho bài viết."
    assert tree.texts(".ttqa-abstain-msg") == [r.ABSTAIN_TEXT]
    assert r.RELATED_LABEL in out and r.SOURCES_LABEL not in out
    assert "ttqa-answer-span" not in out and "ttqa-sentence" not in out and "ttqa-span" not in out
    assert r.LOW_CONFIDENCE_TEXT not in out  # a low confidence is expected when abstaining
    assert len(tree.texts(".ttqa-quote")) == len(a.citations)


def test_low_confidence_warning(answered: Answer) -> None:
    low = r.render_answer(replace(answered, confidence=0.31))
    assert r.LOW_CONFIDENCE_TEXT == "Độ tin cậy thấp"
    assert Tree(low).texts(".ttqa-warning") and r.LOW_CONFIDENCE_TEXT in low
    high = r.render_answer(replace(answered, confidence=0.95))
    assert r.LOW_CONFIDENCE_TEXT not in high
    assert r.LOW_CONFIDENCE_TEXT in r.render_answer(replace(answered, confidence=0.7), low_confidence=0.8)


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_is_shown_as_text(evil: str, answered: Answer) -> None:
    doc = Document(
        doc_id="evil",
        text=f"Mở đầu. {evil} Đoạn giữa {evil}. Kết.",
        title=f"Tiêu đề {evil}",
        date=evil,
        source=evil,
        url="javascript:alert(1)",
    )
    start = doc.text.index(evil)
    cite = Citation(1, "evil", doc.title, evil, evil, None, start, start + len(evil), evil, 0.5)
    a = Answer(
        question=evil,
        text=evil,
        sentence=doc.text,
        abstained=False,
        confidence=0.9,
        citations=[cite, replace(answered.citations[0], n=2)],
        doc_id="evil",
        start=start,
        end=start + len(evil),
        sentence_start=0,
        sentence_end=len(doc.text),
    )
    turn = make_turn(a, mode=evil, k=8)
    outputs = [
        r.render_answer(a, turn_id="12" * 16, mode=evil),
        r.render_chat([turn], examples=[evil]),
        r.render_start([evil]),
        r.render_article(doc, start, start + len(evil), n=1, answer_span=(start, start + len(evil))),
        r.render_missing_article(evil),
    ]
    for out in outputs:
        tree = assert_inert(out)
        assert html.escape(evil) in out
        # what the browser displays is the original text
        assert any(evil in t for texts in tree.text.values() for t in texts)
    chat_tree = Tree(outputs[1])
    assert chat_tree.texts(".ttqa-question-text") == [evil]
    assert chat_tree.texts(".ttqa-answer-span") == [evil]


def test_dates_formatted() -> None:
    assert labels.format_date("2020-11-19") == "19/11/2020"
    assert labels.format_date("2020-07-25T13:05:15") == "25/07/2020 13:05"
    assert labels.format_date("--12-25") == "25/12"
    assert labels.format_date(None) is None
    assert labels.format_date("tháng 5") == "tháng 5"


def test_start_screen_has_the_examples() -> None:
    out = r.render_chat([], documents=5)
    assert_inert(out)
    for i, q in enumerate(r.EXAMPLES):
        assert html.escape(q) in out and f'data-ttqa-action="example:{i}"' in out
    assert "5 bài viết" in out


# ------------------------------------------------------------------ history after a refresh
def _lookup(qa: QA) -> Callable[[str], Document | None]:
    def lookup(doc_id: str) -> Document | None:
        try:
            return qa.document(doc_id)
        except KeyError:
            return None

    return lookup


def test_history_round_trip_rerenders_from_the_documents(answers: dict[str, Answer], seed_qa: QA) -> None:
    turns = [make_turn(a, mode="hybrid", k=8) for a in answers.values()]
    turns[0] = turns[0].with_vote("up")
    state = json.loads(json.dumps(dump_history(turns)))  # what localStorage holds
    stored = json.dumps(state, ensure_ascii=False)
    for a in answers.values():
        for c in a.citations:  # offsets and hashes only, not the article text
            assert c.quote not in stored
    restored = restore_history(state, _lookup(seed_qa))
    assert [t.turn_id for t in restored] == [t.turn_id for t in turns]
    assert restored[0].vote == "up"
    for before, after in zip(turns, restored, strict=True):
        assert after.answer == before.answer
        assert r.render_turn(after) == r.render_turn(before)


def test_history_detects_a_changed_index_and_drops_garbage(answered: Answer, seed_qa: QA) -> None:
    turn = make_turn(answered, mode="hybrid", k=8)
    (good,) = dump_history([turn])
    moved = json.loads(json.dumps(good))
    moved["answer"]["citations"][0]["start"] += 1  # the article changed: the hash no longer matches
    gone = json.loads(json.dumps(good))
    gone["answer"]["citations"][0]["doc_id"] = "no-such-doc"
    lookup = _lookup(seed_qa)
    for stale in (moved, gone):
        t = restore_turn(stale, lookup)
        assert t is not None and t.stale and t.answer is None
        out = r.render_turn(t)
        assert r.STALE_TEXT in out and f"reask:{t.turn_id}" in out
    garbage: list[Any] = [
        None,
        "x",
        {"v": 1},
        {**good, "id": "<script>"},
        {**good, "k": "8"},
        {**good, "vote": "maybe"},
        {**good, "answer": {**good["answer"], "confidence": "high"}},
        {**good, "answer": {**good["answer"], "start": -5}},
    ]
    assert restore_history(garbage, lookup) == []
    assert restore_history("not a list", lookup) == []
    assert len(restore_history([good, *garbage, moved], lookup)) == 2


# ------------------------------------------------------------------ feedback
def test_feedback_lines_are_appended_whole(answered: Answer, tmp_path: Path) -> None:
    turn = make_turn(answered, mode="dense", k=5)
    log = FeedbackLog.in_dir(tmp_path / "nested" / "data")

    def vote(value: str) -> None:
        for _ in range(25):
            log.append(feedback_record(turn, value))

    threads = [threading.Thread(target=vote, args=(v,)) for v in ("up", "down") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "nested" / "data" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    records = [json.loads(line) for line in lines]
    assert records == log.read()
    rec = records[0]
    assert set(rec) >= {"question", "answer", "citations", "vote", "time", "mode"}
    assert rec["question"] == answered.question and rec["mode"] == "dense" and rec["k"] == 5
    assert rec["answer"]["text"] == answered.text
    assert [c["doc_id"] for c in rec["citations"]] == [c.doc_id for c in answered.citations]
    assert {r_["vote"] for r_ in records} == {"up", "down"}
    with pytest.raises(ValueError):
        feedback_record(turn, "meh")


# ------------------------------------------------------------------ the page's handlers
def test_chat_handlers_validate_what_the_browser_sends(
    answers: dict[str, Answer], seed_qa: QA, tmp_path: Path
) -> None:
    from ttqa.interfaces.chat.ui import ChatService

    service = ChatService(seed_qa, data_dir=tmp_path / "data")
    turns = [make_turn(a, mode="hybrid", k=8) for a in answers.values()]
    state = dump_history(turns)
    tid = turns[0].turn_id
    for junk in (
        None,
        42,
        "",
        "cite",
        "cite:xyz:1",
        f"cite:{tid}:<b>",
        "drop:1",
        f"vote:{tid}:meh",
        "example:99",
    ):
        view = service.on_action(junk, "hybrid", 8, state)
        assert view.chat is None and view.article is None and view.state is None
    assert service.on_action(f"cite:{'0' * 32}:1", "hybrid", 8, state).notice
    # a citation opens its article at the stored offsets
    c2 = turns[0].answer.citations[1] if turns[0].answer else None
    assert c2 is not None
    view = service.on_action(f"cite:{tid}:2", "hybrid", 8, state)
    assert view.article and Tree(view.article).texts("#ttqa-cited") == [c2.quote]
    # a vote is written and kept in the history
    view = service.on_action(f"vote:{tid}:down", "hybrid", 8, state)
    assert view.state and view.state[0]["vote"] == "down" and view.chat and "ttqa-thanks" in view.chat
    (rec,) = service.feedback.read()
    assert rec["vote"] == "down" and rec["question"] == turns[0].question
    # bad questions and settings give a notice, never an exception or a turn
    for question, mode, k in (("   ", "hybrid", 8), ("x" * 5000, "hybrid", 8), ("hỏi", "<b>x</b>", 8)):
        view = service.on_ask(question, mode, k, state)
        assert view.notice and "<" not in view.notice and view.state is None
    # a restored page shows every turn again
    loaded = service.on_load(state)
    assert loaded.state == state and loaded.chat and loaded.chat.count('class="ttqa-turn"') == 2
