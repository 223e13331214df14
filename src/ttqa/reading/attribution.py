"""Questions about an article itself: who wrote it, who took its photos, when it was published.

The cleaner keeps an article's byline ("Tin: Kiều Trang. Ảnh: Trung Hiếu"), closing signature
("Văn Hải") and publication line ("Ngày đăng: 19/11/2020") in its text, and reads the article's
``author`` and ``date`` from them (:mod:`ttqa.ingest.cleaning`). A question that asks for one of them
("Ai viết bài về hội thảo ...?", "Ảnh ... do ai chụp?", "Bài ... được đăng ngày nào?") is about the
article the rest of the question describes, so it is answered from that line of the best retrieved
article, with offsets into its text like any other answer. The span reader cannot do it: such a
line shares no word with the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ttqa.ingest.cleaning import byline_photo_credit, meta_date_value
from ttqa.reading.base import Passage, Reader, Reading, SpanCandidate
from ttqa.text.normalize import fold_accents

__all__ = ["Asked", "AttributionSpan", "RoutingReader", "asked_attribution", "find_attribution"]


class Asked(StrEnum):
    AUTHOR = "author"
    PHOTO = "photo"
    PUBLISHED = "published"


# Matched on the accent-folded, lower-cased question ("ai chup" is "ai chụp" typed either way).
_ARTICLE = re.compile(r"\b(bai|bai viet|bai bao|phong su)\b|(?<!thong )\btin\b")
_PHOTO = re.compile(r"\b(ai chup|nguoi chup|chup anh|anh (do|cua) ai|tac gia (cua )?(buc )?anh)\b")
_AUTHOR = re.compile(
    r"\b(ai viet|nguoi viet|viet boi|ai la tac gia|tac gia (cua )?(bai|tin)|ai dua tin|phong vien nao"
    r"|nha bao nao|but danh|ai ky ten)\b"
)
_PUBLISHED = re.compile(
    r"\b(duoc dang|dang (tai|tren|luc|vao|ngay)|ngay dang|cap nhat|xuat ban)\b"
    r".*\b(ngay nao|luc nao|khi nao|bao gio|hom nao)\b"
)


def asked_attribution(question: str) -> Asked | None:
    """What the question asks about its article, if it asks for a byline, credit or date."""
    folded = fold_accents(question)
    if not _ARTICLE.search(folded):
        return None
    if _PHOTO.search(folded):
        return Asked.PHOTO
    if _AUTHOR.search(folded):
        return Asked.AUTHOR
    if _PUBLISHED.search(folded):
        return Asked.PUBLISHED
    return None


@dataclass(frozen=True, slots=True)
class AttributionSpan:
    """The answer (``start``/``end``) and the line holding it, as offsets into the article text."""

    start: int
    end: int
    line_start: int
    line_end: int


def find_attribution(text: str, author: str | None, asked: Asked) -> AttributionSpan | None:
    """The span of ``text`` that answers ``asked``, or None when the article does not carry it.

    The author is the article's ``author`` metadata where it stands in the text (its last
    occurrence: bylines and signatures close an article); the photo credit and the publication
    date are read from their lines, the last such line first.
    """
    lines = _lines(text)
    if asked is Asked.AUTHOR:
        if not author:
            return None
        at = text.rfind(author)
        if at < 0:
            return None
        line = next((ln for ln in lines if ln[0] <= at < ln[1]), None)
        if line is None:
            return None
        return AttributionSpan(at, at + len(author), *line)
    read = byline_photo_credit if asked is Asked.PHOTO else meta_date_value
    for start, end in reversed(lines):
        value = read(text[start:end])
        if value is not None:
            return AttributionSpan(start + value[0], start + value[1], start, end)
    return None


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line."""
    out = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def read_attribution(passages: Sequence[Passage], asked: Asked) -> Reading:
    """The answer to ``asked`` from the first passage's article, or no candidate when that
    article carries none (another article's byline would be a confident wrong answer)."""
    if not passages:
        return Reading([], 0.0, 0, source="attribution")
    first = passages[0]
    span = find_attribution(first.document, first.author, asked)
    if span is None:
        return Reading([], 0.0, 0, source="attribution")
    candidate = SpanCandidate(
        doc_id=first.doc_id,
        start=span.start,
        end=span.end,
        text=first.document[span.start : span.end],
        score=0.0,
        passage=0,
        sentence_start=span.line_start,
        sentence_end=span.line_end,
        passage_score=first.score,
    )
    return Reading([candidate], 0.0, 0, source="attribution")


class RoutingReader:
    """A :class:`~ttqa.reading.base.Reader` that answers questions about an article's byline,
    photo credit or publication date from those lines, and every other question with ``spans``."""

    def __init__(self, spans: Reader) -> None:
        self.spans = spans

    def read(
        self, question: str, passages: Sequence[Passage], *, top: int = 5, whole: bool = False
    ) -> Reading:
        asked = asked_attribution(question)
        if asked is not None:
            return read_attribution(passages, asked)
        return self.spans.read(question, passages, top=top, whole=whole)
