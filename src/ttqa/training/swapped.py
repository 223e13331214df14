"""Questions about another place, person or number: a name or number swapped for one the article lacks.

Many questions people ask that the articles do not answer are near misses of an answerable one:
the same event in another province, the same rule under another number ("Từ 2015 – 2018, tỉnh
Hà Tĩnh giảm được bao nhiêu biên chế?" where the articles tell of Nghệ An). This module makes such
questions from answerable ones: one of their names or numbers
(:func:`~ttqa.text.terms.key_term_spans`) replaced by another of the same kind, taken from other
questions, that the question's article does not hold. The confidence is fitted on such questions
(:mod:`ttqa.training.calibrate`) and the reader is trained on them (:func:`swapped_examples`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Literal

from ttqa.reading.sentences import sentence_spans
from ttqa.text.normalize import nfc
from ttqa.text.terms import key_term_spans, term_key
from ttqa.training.examples import Example
from ttqa.training.withheld import near_miss_sources

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


def around_answer(ex: Example, radius: int = 1500) -> str:
    """The whole sentences of ``ex``'s text within ``radius`` characters of its first answer."""
    first = min(a for a, _ in ex.answers)
    spans = [(s, e) for s, e in sentence_spans(ex.text) if e > first - radius and s < first + radius]
    return ex.text[spans[0][0] : spans[-1][1]] if spans else ex.text


def swapped_examples(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """Up to ``n`` unanswerable examples: the question of an answerable example with one name or
    number swapped (:func:`swapped_question`, the pool drawn from the questions of the same
    source) over the text around its answer (:func:`around_answer`), drawn as
    :func:`~ttqa.training.withheld.near_miss_sources` orders them with ``seed``."""
    rng = random.Random(seed)
    pool = near_miss_sources(examples, rng) if n > 0 else []
    chosen = {id(ex) for ex in pool}
    terms: dict[str, dict[TermKind, list[str]]] = {}  # each source's terms in the examples' order
    for source in dict.fromkeys(ex.source for ex in pool):
        terms[source] = swap_pool(ex.question for ex in examples if ex.source == source and id(ex) in chosen)
    out: list[Example] = []
    for ex in pool:
        if len(out) >= n:
            break
        question = swapped_question(ex.question, ex.text, terms[ex.source], rng)
        if question is not None:
            group = f"swapped:{ex.group or ex.id}"
            out.append(Example(f"swapped-{ex.id}", question, around_answer(ex), (), "swapped", group))
    return out
