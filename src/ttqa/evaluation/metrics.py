"""Answer metrics: exact match and token F1 on normalised syllables.

Normalisation: NFC, lower-case, tone-mark placement folded, punctuation dropped,
syllable tokens (the same tokens BM25 uses). Scores are the maximum over the
gold answers, as in SQuAD.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from ttqa.text.normalize import tokenize


def answer_tokens(text: str) -> list[str]:
    return tokenize(text)


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    if prediction is None or not golds:
        return 0.0
    pred = answer_tokens(prediction)
    return float(any(pred == answer_tokens(g) for g in golds))


def token_f1(prediction: str | None, golds: Sequence[str]) -> float:
    if prediction is None or not golds:
        return 0.0
    pred = answer_tokens(prediction)
    return max((_f1(pred, answer_tokens(g)) for g in golds), default=0.0)


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred)
    recall = same / len(gold)
    return 2 * precision * recall / (precision + recall)


SpanError = Literal["exact", "runs_on", "stops_short", "overlaps", "misses", "none"]
SPAN_ERRORS: tuple[SpanError, ...] = ("exact", "runs_on", "stops_short", "overlaps", "misses", "none")


def _joined(tokens: Sequence[str]) -> str:
    return " " + " ".join(tokens) + " "


def span_error(prediction: str | None, golds: Sequence[str]) -> SpanError:
    """How a predicted span stands to the gold answers (normalised syllables): ``exact``;
    ``runs_on``, it holds a gold answer and more; ``stops_short``, it lies inside one;
    ``overlaps``, it shares words with one and neither holds the other; ``misses``, it shares
    none; ``none``, no prediction."""
    if prediction is None:
        return "none"
    if exact_match(prediction, golds):
        return "exact"
    pred = answer_tokens(prediction)
    gold_tokens = [answer_tokens(g) for g in golds]
    if pred and any(toks and _joined(toks) in _joined(pred) for toks in gold_tokens):
        return "runs_on"
    if pred and any(_joined(pred) in _joined(toks) for toks in gold_tokens):
        return "stops_short"
    return "overlaps" if token_f1(prediction, golds) > 0 else "misses"


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Does ``text`` contain one of the gold answers (token-normalised)?"""
    hay = _joined(answer_tokens(text))
    return any(_joined(toks) in hay for toks in (answer_tokens(g) for g in golds) if toks)


def auroc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half)."""
    if not positive_scores or not negative_scores:
        return None
    pairs = sorted([(s, 1) for s in positive_scores] + [(s, 0) for s in negative_scores])
    # Rank-sum (Mann-Whitney U) with average ranks for ties.
    ranks: list[float] = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[k] = avg
        i = j + 1
    pos_rank_sum = sum(r for r, (_, label) in zip(ranks, pairs, strict=True) if label == 1)
    n_pos, n_neg = len(positive_scores), len(negative_scores)
    return (pos_rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test (McNemar's exact test on paired outcomes): the probability
    that a fair coin splits ``wins + losses`` changed outcomes at least this unevenly. Ties
    (questions both runs get right, or both wrong) are left out by the caller."""
    if wins < 0 or losses < 0:
        raise ValueError("counts cannot be negative")
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / (1 << n))
