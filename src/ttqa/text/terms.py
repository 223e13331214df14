"""The names and numbers of a question: what an article about another place or person lacks.

A near miss shares most of a question's words ("giảm được bao nhiêu biên chế") but not its
names or numbers ("Hà Tĩnh" where the article is about Nghệ An, "Nghị định 108" where it tells
of Nghị định 132). :func:`key_term_spans` finds them; :func:`key_terms` gives their matching
keys. Dates and years are left out: a question often dates its event by the day the article
appeared ("Chiều 15/5/2017, ..."), which the article's text need not hold.
"""

from __future__ import annotations

import re

from ttqa.text.normalize import TOKEN_RE, has_diacritics, match_key, nfc, tokenize_folded

_DATE_RE = re.compile(r"\d+/\d+(?:/\d+)?|(?:19|20)\d\d(?:-(?:19|20)\d\d)?")


def key_term_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` in ``text`` (NFC) of each run of adjacent capitalised words past its first
    word ("Hà Tĩnh", "Đàm Hữu Khanh", "XIII") and of each number but dates and years ("6.666",
    "132", not "15/5", "6/2017" or "2017")."""
    spans: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for n, m in enumerate(TOKEN_RE.finditer(text)):
        word = m.group(0)
        named = n > 0 and word[0].isupper()
        if run and (not named or text[run[1] : m.start()].strip()):
            spans.append(run)
            run = None
        if named:
            run = (run[0] if run else m.start(), m.end())
        elif any(c.isdigit() for c in word) and not _DATE_RE.fullmatch(word):
            spans.append((m.start(), m.end()))
    if run:
        spans.append(run)
    return sorted(spans)


def term_key(term: str, *, accents: bool = True) -> str:
    """The matching key of a term or a text: tone-folded, or accent-folded without ``accents``."""
    return match_key(term) if accents else " ".join(tokenize_folded(term))


def key_terms(question: str) -> list[str]:
    """The keys of :func:`key_term_spans` of ``question``, once each (accents folded too when the
    question has none)."""
    text = nfc(question)
    accents = has_diacritics(text)
    keys = (term_key(text[s:e], accents=accents) for s, e in key_term_spans(text))
    return [k for k in dict.fromkeys(keys) if k]


def missing_share(terms: list[str], text: str, *, accents: bool = True) -> float:
    """The share of ``terms`` (keys of :func:`key_terms`) that ``text`` does not hold (0 for none)."""
    if not terms:
        return 0.0
    held = f" {term_key(text, accents=accents)} "
    return sum(f" {t} " not in held for t in terms) / len(terms)
