"""Sentence spans of Vietnamese article text, as character offsets.

A sentence ends at a line break, or at ``.``, ``!``, ``?``, ``…`` (possibly
followed by closing quotes or brackets) when whitespace and an upper-case
letter, a digit or an opening quote follow. Abbreviations such as "TP.", "P.L",
"v.v." and numbers such as "6.666" or "8,1" do not end a sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BREAK_RE = re.compile(
    r"""(?<=[.!?…])["”’)\]]*(?=\s+["“(\[]?[A-ZÀ-ỸĐ0-9])"""  # punctuation + space + capital/digit
    r"""|\n+""",
)
_ABBREV_RE = re.compile(
    r"(?:\b(?:TP|Tp|ThS|TS|PGS|GS|Th\.S|BS|v\.v|St|Mr|Mrs|Dr|Q|P|TT|Ô|Bà|Ông)|\b[A-ZĐ])\.$"
)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@lru_cache(maxsize=4096)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """All sentences of ``text`` as ``(start, end)``; ``text[start:end]`` is stripped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BREAK_RE.finditer(text):
        cut = m.end() if m.group(0) and not m.group(0).startswith("\n") else m.start()
        if "\n" not in m.group(0) and _ABBREV_RE.search(text[max(start, cut - 8) : cut]):
            continue
        s, e = _trim(text, start, cut)
        if e > s:
            spans.append((s, e))
        start = m.end()
    s, e = _trim(text, start, len(text))
    if e > s:
        spans.append((s, e))
    return tuple(spans)


def sentences_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of ``text`` that overlap ``[start, end)``, whole."""
    return [(s, e) for s, e in sentence_spans(text) if s < end and e > start]


def sentence_at(text: str, pos: int) -> tuple[int, int]:
    """The sentence containing character ``pos`` (or the nearest one)."""
    spans = sentence_spans(text)
    for s, e in spans:
        if s <= pos < e:
            return s, e
    if not spans:
        return 0, len(text)
    return min(spans, key=lambda se: min(abs(se[0] - pos), abs(se[1] - pos)))


def lead_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of ``text``, cut at a word boundary with "…" when longer than
    ``limit`` characters; ``""`` for a blank text."""
    head = text[: 4 * limit]
    spans = sentence_spans(head)
    if not spans:
        return ""
    lead = head[spans[0][0] : spans[0][1]]
    if len(lead) <= limit:
        return lead
    cut = lead[:limit].rsplit(" ", 1)[0] if " " in lead[:limit] else lead[:limit]
    return cut.rstrip(" ,;:–-") + "…"
