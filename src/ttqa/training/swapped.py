"""Questions about another place, person or number: a name or number swapped for one the article lacks.

Many questions people ask that the articles do not answer are near misses of an answerable one:
the same event in another province, the same rule under another number ("Từ 2015 – 2018, tỉnh
Hà Tĩnh giảm được bao nhiêu biên chế?" where the articles tell of Nghệ An). This module makes such
questions from answerable ones: one of their names or numbers
(:func:`~ttqa.text.terms.key_term_spans`) replaced by another of the same kind, taken from other
questions, that the question's article does not hold.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Literal

from ttqa.text.normalize import nfc
from ttqa.text.terms import key_term_spans, term_key

TermKind = Literal["number", "name"]


def term_kind(term: str) -> TermKind | None:
    """A number, or a name of two words or more; ``None`` for a one-word name (a capitalised
    title word such as "Bí" or "Huyện" is no name to swap)."""
    if any(c.isdigit() for c in term):
        return "number"
    return "name" if len(term.split()) >= 2 else None


def swap_pool(questions: Iterable[str]) -> dict[TermKind, list[str]]:
    """The swappable terms of ``questions`` by kind, once each, in their first order."""
    pool: dict[TermKind, dict[str, None]] = {"number": {}, "name": {}}
    for q in questions:
        text = nfc(q)
        for s, e in key_term_spans(text):
            kind = term_kind(text[s:e])
            if kind is not None:
                pool[kind][text[s:e]] = None
    return {kind: list(terms) for kind, terms in pool.items()}


def swapped_question(
    question: str, article: str, pool: dict[TermKind, list[str]], rng: random.Random
) -> str | None:
    """``question`` with one of its terms (drawn with ``rng``) replaced by a term of ``pool`` of
    the same kind that neither the question nor ``article`` holds; ``None`` when none can be."""
    text = nfc(question)
    held = f" {term_key(article)} {term_key(text)} "
    spans = [(s, e, kind) for s, e in key_term_spans(text) if (kind := term_kind(text[s:e])) is not None]
    for s, e, kind in rng.sample(spans, len(spans)):
        options = [t for t in pool[kind] if f" {term_key(t)} " not in held]
        if options:
            return text[:s] + rng.choice(options) + text[e:]
    return None
