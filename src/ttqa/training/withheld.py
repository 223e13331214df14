"""Questions whose answer was taken out of the text: the near miss people meet most.

A reader's hardest "no answer" is a question about the right article that the article does not
answer: the passages around it share the question's words, its names and its event, and only
the asked fact is missing. This module makes such examples from answerable ones: the text around
the answer, with every sentence that holds the answer (accents and case folded) removed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ttqa.reading.sentences import sentence_spans
from ttqa.text.normalize import fold_accents
from ttqa.training.examples import Example

DOMAIN_SOURCE = "party_org"
SKIPPED_SOURCES = frozenset({"cloze", "nonsense"})
"""Sources whose questions are made from the very sentence they ask about: taking that sentence
out leaves a question no passage comes near."""


def withheld_text(ex: Example, radius: int = 1500, min_chars: int = 300) -> str | None:
    """The text within ``radius`` characters of ``ex``'s first answer, less every sentence that
    holds one of its answers; ``None`` when less than ``min_chars`` is left, or when the answer
    is still there (in a sentence the splitter did not cut)."""
    if not ex.answers:
        return None
    golds = {g for a, b in ex.answers if (g := fold_accents(ex.text[a:b]).strip())}
    if not golds:
        return None
    first = min(a for a, _ in ex.answers)
    lo, hi = first - radius, first + radius
    parts: list[str] = []
    last_end: int | None = None
    for s, e in sentence_spans(ex.text):
        if e <= lo or s >= hi:
            continue
        folded = fold_accents(ex.text[s:e])
        if any(g in folded for g in golds):
            continue
        if last_end is not None:
            parts.append("\n" if "\n" in ex.text[last_end:s] else " ")
        parts.append(ex.text[s:e])
        last_end = e
    out = "".join(parts)
    if len(out) < min_chars or any(g in fold_accents(out) for g in golds):
        return None
    return out


def withheld_examples(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """Up to ``n`` unanswerable examples: the question of an answerable example over its text
    with the answer taken out (:func:`withheld_text`). The domain's own questions come first
    (theirs are the near misses ttqa meets), then the others in a random order drawn with ``seed``."""
    pool = [ex for ex in examples if ex.answerable and ex.source not in SKIPPED_SOURCES]
    if n <= 0 or not pool:
        return []
    rng = random.Random(seed)
    rng.shuffle(pool)
    pool.sort(key=lambda ex: ex.source != DOMAIN_SOURCE)  # stable: random within each part
    out: list[Example] = []
    for ex in pool:
        if len(out) >= n:
            break
        text = withheld_text(ex)
        if text is not None:
            group = f"withheld:{ex.group or ex.id}"
            out.append(Example(f"withheld-{ex.id}", ex.question, text, (), "withheld", group))
    return out
