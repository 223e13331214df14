"""Questions whose answer was taken out of the text: the near miss people meet most.

A reader's hardest "no answer" is a question about the right article that the article does not
answer: the passages around it share the question's words, its names and its event, and only
the asked fact is missing. This module makes such examples from answerable ones: the text around
the answer, with every sentence that holds the answer (accents and case folded) removed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ttqa.reading.sentences import sentence_spans
from ttqa.text.normalize import fold_accents
from ttqa.training.examples import Example

DOMAIN_SOURCE = "party_org"
SKIPPED_SOURCES = frozenset({"cloze", "nonsense"})
"""Sources whose questions are made from the very sentence they ask about: taking that sentence
out leaves a question no passage comes near."""


def _golds(answers: Iterable[str]) -> set[str]:
    """The answers accents and case folded, the empty ones left out."""
    return {g for a in answers if (g := fold_accents(a).strip())}


def _without(text: str, golds: set[str], lo: int, hi: int) -> tuple[str, list[tuple[int, int, int]]]:
    """``text[lo:hi]``'s sentences less those holding one of ``golds`` (folded), joined by a
    space or, where the text had one between them, a line break; with each kept sentence's
    ``(start, end, start in the result)``."""
    parts: list[str] = []
    kept: list[tuple[int, int, int]] = []
    size = 0
    last_end: int | None = None
    for s, e in sentence_spans(text):
        if e <= lo or s >= hi:
            continue
        if any(g in fold_accents(text[s:e]) for g in golds):
            continue
        if last_end is not None:
            parts.append("\n" if "\n" in text[last_end:s] else " ")
            size += 1
        parts.append(text[s:e])
        kept.append((s, e, size))
        size += e - s
        last_end = e
    return "".join(parts), kept


def withheld_text(ex: Example, radius: int = 1500, min_chars: int = 300) -> str | None:
    """The text within ``radius`` characters of ``ex``'s first answer, less every sentence that
    holds one of its answers; ``None`` when less than ``min_chars`` is left, or when the answer
    is still there (in a sentence the splitter did not cut)."""
    golds = _golds(ex.text[a:b] for a, b in ex.answers)
    if not golds:
        return None
    first = min(a for a, _ in ex.answers)
    out, _ = _without(ex.text, golds, first - radius, first + radius)
    if len(out) < min_chars or any(g in fold_accents(out) for g in golds):
        return None
    return out


@dataclass(frozen=True, slots=True)
class WithheldDocument:
    """A document less every sentence holding an answer, and where its old offsets went."""

    text: str
    kept: tuple[tuple[int, int, int], ...]
    """Each kept sentence's ``(start, end)`` in the old text and its start in :attr:`text`."""

    def offset(self, old: int) -> int:
        """Where old offset ``old`` is in :attr:`text`: the same character inside a kept
        sentence, else the start of the next kept one (the end of the text after the last)."""
        for s, e, at in self.kept:
            if old < e:
                return at + max(0, old - s)
        return len(self.text)


def withheld_document(text: str, answers: Sequence[str]) -> WithheldDocument | None:
    """``text`` less every sentence holding one of ``answers`` (accents and case folded);
    ``None`` when no sentence holds one, or an answer is still there."""
    golds = _golds(answers)
    if not golds:
        return None
    out, kept = _without(text, golds, 0, len(text))
    if len(kept) == len(sentence_spans(text)) or any(g in fold_accents(out) for g in golds):
        return None
    return WithheldDocument(out, tuple(kept))


def near_miss_sources(examples: Sequence[Example], rng: random.Random) -> list[Example]:
    """The answerable examples a near miss is made from (no cloze or nonsense questions): the
    domain's own first (theirs are the near misses ttqa meets), then the others, each part in a
    random order drawn with ``rng``."""
    pool = [ex for ex in examples if ex.answerable and ex.source not in SKIPPED_SOURCES]
    rng.shuffle(pool)
    pool.sort(key=lambda ex: ex.source != DOMAIN_SOURCE)  # stable: random within each part
    return pool


def withheld_examples(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """Up to ``n`` unanswerable examples: the question of an answerable example over its text
    with the answer taken out (:func:`withheld_text`), drawn as :func:`near_miss_sources` orders
    them with ``seed``."""
    pool = near_miss_sources(examples, random.Random(seed)) if n > 0 else []
    out: list[Example] = []
    for ex in pool:
        if len(out) >= n:
            break
        text = withheld_text(ex)
        if text is not None:
            group = f"withheld:{ex.group or ex.id}"
            out.append(Example(f"withheld-{ex.id}", ex.question, text, (), "withheld", group))
    return out
