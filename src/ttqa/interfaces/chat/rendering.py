"""Pure functions that turn answers, citations and articles into safe HTML.

Every piece of text that comes from an article, a question or the browser goes
through :func:`esc` (``html.escape`` with quotes) before it is placed in HTML:
no Markdown is rendered anywhere, so ``[x](javascript:alert(1))``, ``<script>``
and ``<img onerror=…>`` are shown as the characters they are. Highlights are cut
with the exact offsets ttqa returns (``document.text[start:end]``).

Clickable elements carry a ``data-ttqa-action`` attribute (``cite:<turn>:<n>``,
``vote:<turn>:up|down``, ``example:<i>``, ``reask:<turn>``) that the chat page
sends back to the server; nothing here runs any script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ttqa.interfaces.chat.history import Turn
from ttqa.interfaces.labels import format_date, relevance_text
from ttqa.schema import Answer, Citation, Document

LOW_CONFIDENCE = 0.6
"""Answers below this confidence (and not abstained) carry a visible warning."""

ABSTAIN_TEXT = "Không tìm thấy câu trả lời trong kho bài viết."
RELATED_LABEL = "Có thể liên quan"
SOURCES_LABEL = "Nguồn trích dẫn"
LOW_CONFIDENCE_TEXT = "Độ tin cậy thấp"
LOW_CONFIDENCE_HINT = "câu trả lời có thể chưa chính xác, hãy đối chiếu với bài viết nguồn."
STALE_TEXT = (
    "Kho bài viết đã thay đổi kể từ khi câu hỏi này được trả lời, nên trích dẫn cũ không còn chính xác."
)
MODE_LABELS = {
    "hybrid": "Kết hợp (hybrid)",
    "dense": "Ngữ nghĩa (dense)",
    "bm25": "Từ khóa (BM25)",
}

EXAMPLES = (
    "Hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường diễn ra ngày nào?",
    "Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?",
    "ai chu tri hoi nghi so ket cong tac to chuc xay dung dang 6 thang dau nam 2020",
)


def esc(text: object) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return html.escape(str(text), quote=True)


def mark(text: str, start: int, end: int, cls: str, *, elem_id: str | None = None) -> str:
    """``text`` escaped, with ``text[start:end]`` wrapped in ``<mark class=cls>``."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    id_attr = f' id="{esc(elem_id)}"' if elem_id else ""
    return (
        f'{esc(text[:start])}<mark class="{esc(cls)}"{id_attr}>{esc(text[start:end])}</mark>{esc(text[end:])}'
    )


def _button(label: str, action: str, cls: str, title: str, *, pressed: bool | None = None) -> str:
    pressed_attr = "" if pressed is None else f' aria-pressed="{"true" if pressed else "false"}"'
    return (
        f'<button type="button" class="{esc(cls)}" data-ttqa-action="{esc(action)}" '
        f'title="{esc(title)}"{pressed_attr}>{esc(label)}</button>'
    )


def cite_marker(turn_id: str, n: int) -> str:
    """The clickable ``[n]`` that opens citation ``n`` of a turn."""
    return _button(f"[{n}]", f"cite:{turn_id}:{n}", "ttqa-marker", f"Mở bài viết nguồn [{n}]")


def answer_span_in(answer: Answer, citation: Citation) -> tuple[int, int] | None:
    """Where the answer span lies inside ``citation.quote`` (``None`` if it does not)."""
    if (
        answer.abstained
        or answer.doc_id != citation.doc_id
        or answer.start is None
        or answer.end is None
        or not citation.start <= answer.start <= answer.end <= citation.end
    ):
        return None
    return answer.start - citation.start, answer.end - citation.start


def render_citation(answer: Answer, citation: Citation, turn_id: str) -> str:
    """One entry of the citation list: number, title, date, source, relevance and quoted passage."""
    c = citation
    meta = [x for x in (format_date(c.date), c.source) if x]
    meta.append(relevance_text(c, answer.citations))
    span = answer_span_in(answer, c) if c.n == 1 else None
    quote = mark(c.quote, span[0], span[1], "ttqa-span") if span else esc(c.quote)
    title = _button(
        c.display_title,
        f"cite:{turn_id}:{c.n}",
        "ttqa-cite-title",
        "Mở bài viết và tô sáng đoạn trích",
    )
    return (
        f'<li class="ttqa-citation" data-n="{c.n}" data-doc="{esc(c.doc_id)}" '
        f'data-start="{c.start}" data-end="{c.end}">'
        f'<div class="ttqa-cite-n">{cite_marker(turn_id, c.n)}</div><div class="ttqa-cite-body">{title}'
        f'<div class="ttqa-cite-meta">{esc(" · ".join(meta))}</div>'
        f'<blockquote class="ttqa-quote">{quote}</blockquote></div></li>'
    )


def render_feedback(turn_id: str, vote: str | None) -> str:
    up = _button("👍 Hữu ích", f"vote:{turn_id}:up", "ttqa-vote", "Câu trả lời hữu ích", pressed=vote == "up")
    down = _button(
        "👎 Chưa đúng", f"vote:{turn_id}:down", "ttqa-vote", "Câu trả lời chưa đúng", pressed=vote == "down"
    )
    thanks = '<span class="ttqa-thanks">Đã ghi nhận phản hồi, cảm ơn bạn!</span>' if vote else ""
    return f'<div class="ttqa-feedback"><span>Câu trả lời có hữu ích không?</span> {up}{down}{thanks}</div>'


def render_answer(
    answer: Answer,
    *,
    turn_id: str = "0" * 32,
    vote: str | None = None,
    mode: str | None = None,
    k: int | None = None,
    low_confidence: float = LOW_CONFIDENCE,
) -> str:
    """The answer card: the span highlighted in its sentence with ``[1]``, warnings, citations."""
    parts: list[str] = []
    settings = []
    if mode:
        settings.append(MODE_LABELS.get(mode, mode))
    if k:
        settings.append(f"k = {k}")
    if answer.abstained:
        parts.append(f'<p class="ttqa-abstain-msg" role="status">{esc(ABSTAIN_TEXT)}</p>')
        list_label = RELATED_LABEL
    else:
        text = answer.text or ""
        parts.append(
            f'<p class="ttqa-answer-text"><span class="ttqa-label">Trả lời:</span> '
            f'<strong class="ttqa-answer-span">{esc(text)}</strong></p>'
        )
        if answer.sentence is not None and answer.sentence_start is not None and answer.start is not None:
            a = answer.start - answer.sentence_start
            sentence = mark(answer.sentence, a, a + len(text), "ttqa-span")
        else:
            sentence = esc(answer.sentence or text)
        parts.append(
            f'<blockquote class="ttqa-sentence">{sentence} {cite_marker(turn_id, 1)}</blockquote>'
            if answer.citations
            else f'<blockquote class="ttqa-sentence">{sentence}</blockquote>'
        )
        if len(answer.citations) > 1:
            others = " ".join(cite_marker(turn_id, c.n) for c in answer.citations[1:])
            parts.append(f'<p class="ttqa-more">Nguồn khác: {others}</p>')
        if answer.confidence < low_confidence:
            parts.append(
                f'<p class="ttqa-warning" role="alert">⚠ <strong>{esc(LOW_CONFIDENCE_TEXT)}</strong>: '
                f"{esc(LOW_CONFIDENCE_HINT)}</p>"
            )
        settings.insert(0, f"độ tin cậy {answer.confidence:.0%}")
        list_label = SOURCES_LABEL
    if settings:
        parts.append(f'<p class="ttqa-settings">{esc(" · ".join(settings))}</p>')
    parts.append(render_feedback(turn_id, vote))
    if answer.citations:
        items = "".join(render_citation(answer, c, turn_id) for c in answer.citations)
        parts.append(
            f'<details class="ttqa-citations-box" open><summary>{esc(list_label)} '
            f"({len(answer.citations)})</summary>"
            f'<ol class="ttqa-citations">{items}</ol></details>'
        )
    cls = "ttqa-answer ttqa-abstained" if answer.abstained else "ttqa-answer"
    if not answer.abstained and answer.confidence < low_confidence:
        cls += " ttqa-low-confidence"
    return f'<div class="{cls}">{"".join(parts)}</div>'


def render_question(question: str) -> str:
    return (
        f'<div class="ttqa-question"><span class="ttqa-label">Bạn hỏi:</span> '
        f'<span class="ttqa-question-text">{esc(question)}</span></div>'
    )


def render_turn(turn: Turn, *, low_confidence: float = LOW_CONFIDENCE) -> str:
    if turn.answer is None:
        body = (
            f'<div class="ttqa-answer ttqa-stale"><p>{esc(STALE_TEXT)}</p>'
            f"{_button('Hỏi lại', f'reask:{turn.turn_id}', 'ttqa-reask', 'Hỏi lại câu này')}</div>"
        )
    else:
        body = render_answer(
            turn.answer,
            turn_id=turn.turn_id,
            vote=turn.vote,
            mode=turn.mode,
            k=turn.k,
            low_confidence=low_confidence,
        )
    question = render_question(turn.question)
    return f'<section class="ttqa-turn" data-turn="{esc(turn.turn_id)}">{question}{body}</section>'


def render_start(examples: Sequence[str] = EXAMPLES, *, documents: int | None = None) -> str:
    """The start screen: what ttqa does and clickable example questions."""
    count = f" trong {documents} bài viết" if documents else ""
    buttons = "".join(
        f"<li>{_button(q, f'example:{i}', 'ttqa-example', 'Hỏi câu này')}</li>"
        for i, q in enumerate(examples)
    )
    return (
        '<div class="ttqa-start">'
        "<p>Đặt câu hỏi về công tác tổ chức xây dựng Đảng (đại hội, cán bộ, sắp xếp bộ máy, "
        f"tinh giản biên chế). Câu trả lời là một đoạn trích nguyên văn{esc(count)}, "
        "kèm trích dẫn đánh số; bấm vào trích dẫn để mở bài viết gốc. Có thể gõ có dấu hoặc không dấu.</p>"
        f'<p class="ttqa-label">Câu hỏi mẫu</p><ul class="ttqa-examples">{buttons}</ul></div>'
    )


def render_chat(
    turns: Sequence[Turn],
    *,
    examples: Sequence[str] = EXAMPLES,
    focus: str | None = None,
    documents: int | None = None,
    low_confidence: float = LOW_CONFIDENCE,
) -> str:
    """The whole conversation (the start screen when it is empty).

    ``focus``: the turn the page scrolls to (the one just asked).
    """
    focus_attr = f' data-ttqa-focus="{esc(focus)}"' if focus else ""
    if not turns:
        return f'<div class="ttqa-chat">{render_start(examples, documents=documents)}</div>'
    body = "".join(render_turn(t, low_confidence=low_confidence) for t in turns)
    return f'<div class="ttqa-chat"{focus_attr}>{body}</div>'


def render_article(
    doc: Document,
    start: int,
    end: int,
    *,
    n: int | None = None,
    answer_span: tuple[int, int] | None = None,
) -> str:
    """The article with ``doc.text[start:end]`` highlighted (``id="ttqa-cited"``).

    ``answer_span``: document offsets of the answer inside the passage, highlighted
    more strongly.
    """
    text = doc.text
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    if answer_span and start <= answer_span[0] <= answer_span[1] <= end:
        a, b = answer_span
        passage = mark(text[start:end], a - start, b - start, "ttqa-span")
    else:
        passage = esc(text[start:end])
    body = f'{esc(text[:start])}<mark class="ttqa-cited" id="ttqa-cited">{passage}</mark>{esc(text[end:])}'
    meta = [x for x in (format_date(doc.date), doc.source, doc.author) if x]
    meta.append(f"mã bài {doc.doc_id}")
    link = ""
    if doc.url and re.match(r"^https?://", doc.url, re.IGNORECASE):
        link = (
            f' · <a href="{esc(doc.url)}" target="_blank" rel="noopener noreferrer nofollow">'
            "bản gốc trên web</a>"
        )
    label = f"Đoạn trích dẫn [{n}] được tô sáng." if n else "Đoạn trích dẫn được tô sáng."
    return (
        f'<article class="ttqa-article" data-doc="{esc(doc.doc_id)}" data-start="{start}" data-end="{end}">'
        f"<h3>{esc(doc.heading)}</h3>"
        f'<p class="ttqa-article-meta">{esc(" · ".join(meta))}{link}</p>'
        f'<p class="ttqa-article-label">{esc(label)}</p>'
        f'<div class="ttqa-article-text">{body}</div></article>'
    )


ARTICLE_PLACEHOLDER = (
    '<div class="ttqa-article-empty">Bấm vào một trích dẫn ([1], [2]…) hoặc tiêu đề bài viết '
    "để mở bài viết gốc tại đây, với đoạn được trích dẫn tô sáng.</div>"
)


def render_missing_article(doc_id: str) -> str:
    return (
        f'<div class="ttqa-article-empty">Bài viết {esc(doc_id)} không còn trong kho bài viết '
        "(chỉ mục đã thay đổi).</div>"
    )


CSS = """
.ttqa-chat { display: flex; flex-direction: column; gap: 14px; }
.ttqa-turn { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--block-background-fill); scroll-margin-top: 12px; }
.ttqa-question { font-weight: 600; margin-bottom: 8px; overflow-wrap: anywhere; }
.ttqa-label { color: var(--body-text-color-subdued); font-weight: 600; margin-right: 4px; }
.ttqa-answer-text { margin: 4px 0; font-size: 1.08em; }
.ttqa-chat blockquote.ttqa-sentence, .ttqa-chat blockquote.ttqa-quote { margin: 6px 0 !important;
  padding: 6px 10px;
  border-left: 3px solid #e0a800;
  background: var(--background-fill-secondary); overflow-wrap: anywhere; }
.ttqa-chat blockquote.ttqa-quote { border-left-color: var(--border-color-primary); font-size: 0.93em;
  margin-top: 2px !important; }
mark.ttqa-span { background: #ffd54f; color: #1a1a1a; padding: 0 2px; border-radius: 3px; font-weight: 600; }
mark.ttqa-cited { background: #fff3bf; color: #1a1a1a; scroll-margin: 80px; }
.ttqa-marker, .ttqa-cite-title, .ttqa-example, .ttqa-vote, .ttqa-reask { cursor: pointer; font: inherit;
  border: none; background: none; padding: 0 2px; color: var(--link-text-color, #2563eb); display: inline; }
.ttqa-marker { font-weight: 700; }
.ttqa-cite-title { text-align: left; font-weight: 600; text-decoration: underline; }
.ttqa-marker:hover, .ttqa-cite-title:hover, .ttqa-example:hover { text-decoration: underline; }
.ttqa-cite-meta, .ttqa-settings, .ttqa-article-meta, .ttqa-article-label {
  color: var(--body-text-color-subdued); font-size: 0.88em; margin: 2px 0; }
.ttqa-citations { margin: 6px 0 0 0; padding-left: 0; list-style: none; }
.ttqa-chat .ttqa-citation { margin: 0 0 10px 0; padding: 0; display: flex; gap: 4px; }
.ttqa-cite-body { flex: 1; min-width: 0; }
.ttqa-cite-body .ttqa-cite-title { display: block; width: 100%; padding: 0; }
.ttqa-chat p { margin: 4px 0; }
.ttqa-citations-box summary { cursor: pointer; font-weight: 600; margin-top: 6px; }
.ttqa-abstain-msg { font-weight: 700; color: #b45309; margin: 4px 0; }
.ttqa-warning { background: #fff4e5; color: #8a4b00; border: 1px solid #f5c27a; border-radius: 6px;
  padding: 4px 8px; margin: 6px 0; }
.ttqa-stale p { color: var(--body-text-color-subdued); }
.ttqa-feedback { margin-top: 8px; font-size: 0.9em; color: var(--body-text-color-subdued); }
.ttqa-vote { border: 1px solid var(--border-color-primary); border-radius: 6px; margin-left: 4px;
  padding: 1px 8px; display: inline-block; color: var(--body-text-color); }
.ttqa-vote[aria-pressed="true"] { background: #dbeafe; border-color: #2563eb; }
.ttqa-thanks { margin-left: 8px; }
.ttqa-examples { list-style: none; padding-left: 0; margin: 4px 0; }
.ttqa-examples li { margin: 4px 0; }
.ttqa-example { border: 1px solid var(--border-color-primary); border-radius: 16px; padding: 4px 12px;
  text-align: left; display: inline-block; }
.ttqa-article h3 { margin: 0 0 4px 0; }
.ttqa-article-text { white-space: pre-wrap; line-height: 1.55; overflow-wrap: anywhere; }
.ttqa-article-empty { color: var(--body-text-color-subdued); padding: 12px; }
#ttqa-article-col { position: sticky; top: 8px; align-self: flex-start; }
"""
