"""The names and numbers of a question: what an article about another place or person lacks.

A near miss shares most of a question's words ("giảm được bao nhiêu biên chế") but not its
names or numbers ("Hà Tĩnh" where the article is about Nghệ An, "Nghị định 108" where it tells
of Nghị định 132). :func:`key_term_spans` finds them; :func:`key_terms` gives their matching
keys. Dates and years are left out: a question often dates its event by the day the article
appeared ("Chiều 15/5/2017, ..."), which the article's text need not hold.

:func:`holds` looks for a term in an article without folding the whole article: a question is
answered from articles of any length, and folding 16 MiB takes seconds.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ttqa.text.normalize import TOKEN_RE, fold_accents, has_diacritics, match_key, nfc, tokenize_folded

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


MAX_CANDIDATES = 64
"""Places a term's letters are checked at before :func:`holds` folds the whole text instead."""

FOLDING_BLOCKS = ((0x41, 0x250), (0x1E00, 0x1F00), (0x2100, 0x2150))
"""The blocks of every character that folds to an ASCII letter or digit other than itself
(Basic Latin capitals, Latin-1 to Latin Extended-B, Latin Extended Additional, the Kelvin and
Ångström signs)."""

_ASCII_TOKEN = re.compile(r"[0-9a-z.,/:\-]+")  # the characters of a token of TOKEN_RE, folded
_TONE_DIGITS = "12345"
_SPACES = " \n\t\r"


@lru_cache(maxsize=1)
def _variants() -> dict[str, str]:
    """Each ASCII letter or digit with every character that folds to it (:func:`fold_accents`)."""
    out = {c: c for c in "0123456789abcdefghijklmnopqrstuvwxyz"}
    for lo, hi in FOLDING_BLOCKS:
        for cp in range(lo, hi):
            char = chr(cp)
            if char.isalnum() and (base := fold_accents(char)) in out and base != char:
                out[base] += char
    return out


@lru_cache(maxsize=1024)
def _patterns(term: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """Two patterns that match wherever a text's words read as ``term`` (a key of
    :func:`term_key`), and maybe elsewhere too: the term's letters, quick to search for, and the
    same at the bounds of a token; ``None`` for a term with a letter beyond ASCII."""
    variants = _variants()
    words = []
    for word in term.split():
        base = fold_accents(word)
        if not _ASCII_TOKEN.fullmatch(base):
            return None
        letters = "".join(f"[{variants[c]}]" if c in variants else re.escape(c) for c in base)
        if len(base) > 1 and base[-1] in _TONE_DIGITS and not base[:-1].isdigit():
            letters += "?"  # "ha2" is the tone key of "hà": its text reads "ha"
        words.append(letters)
    if not words:
        return None
    core = r"[\W_]*".join(words)
    # a token of TOKEN_RE is a number when it starts with a digit ("ha2", the key of "hà", is
    # none); it starts after no letter ("İ" aside: lower-cased it ends in a mark), nor after a
    # digit when it is a number; it ends before no letter or digit, nor before a number's next
    # part when it is a number
    digits = term[0].isdigit(), term.split()[-1][0].isdigit()
    before = r"(?<![^\W_\u0130])" if digits[0] else r"(?<![^\W\d_\u0130])"
    after = r"(?![.,/:\-]?\d)" if digits[1] else r"(?![^\W_])"
    return re.compile(core), re.compile(before + core + after)


def _in_key(term: str, text: str, accents: bool) -> bool:
    """Whether the whole key of ``text`` (:func:`term_key`) holds ``term``."""
    return f" {term} " in f" {term_key(text, accents=accents)} "


def holds(text: str, term: str, *, accents: bool = True) -> bool:
    """Whether ``text``'s words read as ``term`` (a key of :func:`term_key` with the same
    ``accents``), as :func:`term_key` of the whole text would show, found without folding the
    whole text: only the words where the term's letters (accents and case folded) occur are."""
    text = nfc(text)  # the letters searched for are precomposed ones
    patterns = _patterns(term)
    if patterns is None:
        return _in_key(term, text, accents)
    letters, bounded = patterns
    tried: set[tuple[int, int]] = set()
    at = 0
    while (found := letters.search(text, at)) is not None:
        at = found.start() + 1
        if (m := bounded.match(text, found.start())) is None:
            continue
        # the whole words around the match: no token holds white space
        lo = max(text.rfind(c, 0, m.start()) for c in _SPACES) + 1
        hi = min((i for c in _SPACES if (i := text.find(c, m.end())) >= 0), default=len(text))
        if (lo, hi) in tried:
            continue
        if _in_key(term, text[lo:hi], accents):
            return True
        tried.add((lo, hi))
        if len(tried) == MAX_CANDIDATES:
            return _in_key(term, text, accents)
    return False


def missing_share(terms: list[str], text: str, *, accents: bool = True) -> float:
    """The share of ``terms`` (keys of :func:`key_terms`) that ``text`` does not hold (0 for none)."""
    if not terms:
        return 0.0
    return sum(not holds(text, t, accents=accents) for t in terms) / len(terms)
