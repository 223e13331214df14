"""Training groups: the windows of one question that are scored together.

The reader is trained with shared normalisation (Clark & Gardner, 2018): the start (and end)
logits of all windows of a group share one softmax, with each window's ``<s>`` token standing for
"no answer here". A group holds a window with the answer and other windows of the same article
or retrieved near misses, so that the scores of different windows compare; a group of a
question its windows do not answer puts all its mass on the ``<s>`` tokens.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ttqa.reading.windows import (
    IntArray,
    Tokens,
    Window,
    WindowShape,
    question_ids,
    sentence_starts,
    tokenize_span,
    windows_of,
)
from ttqa.text.normalize import fold_accents
from ttqa.training.examples import Example

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """How groups are drawn from an example."""

    same_article: int = 1
    """Other windows of the example's text added beside the one with the answer."""
    negatives: int = 1
    """Retrieved near-miss passages added (one window each)."""
    unanswerable_windows: int = 2
    """Windows of a text that does not answer its question."""
    near_miss_rate: float = 0.25
    """Share of answerable examples with negatives that also give a no-answer group (their
    negatives and the article's windows without the answer)."""
    unaccented_rate: float = 0.05
    """Share of questions whose diacritics are dropped ("ai chu tri hoi nghi")."""


@dataclass(frozen=True, slots=True)
class TrainWindow:
    input_ids: IntArray
    starts: tuple[int, ...]  # positions in input_ids of gold starts (empty: no answer here)
    ends: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Group:
    windows: tuple[TrainWindow, ...]
    answerable: bool
    source: str
    weight: float = 1.0

    @property
    def width(self) -> int:
        return max(len(w.input_ids) for w in self.windows)


def _token_range(tokens: Tokens, start: int, end: int) -> tuple[int, int] | None:
    """First and last token of the character span ``[start, end)``."""
    if not len(tokens):
        return None
    first = int(np.searchsorted(tokens.ends, start, side="right"))
    last = int(np.searchsorted(tokens.starts, end, side="left")) - 1
    if first >= len(tokens) or last < first:
        return None
    return first, last


def _labelled(window: Window, lo: int, spans: Sequence[tuple[int, int]]) -> TrainWindow:
    """``window`` (whose first context token is token ``lo`` of its text) with the token spans
    that lie wholly inside it as targets."""
    n = len(window.starts)
    starts, ends = [], []
    for a, b in spans:
        if lo <= a and b < lo + n:
            starts.append(window.context_at + a - lo)
            ends.append(window.context_at + b - lo)
    return TrainWindow(window.input_ids, tuple(starts), tuple(ends))


def _windows_with_offsets(
    tokenizer: Tokenizer, text: str, q: IntArray, shape: WindowShape
) -> tuple[Tokens, list[tuple[Window, int]]]:
    tokens = tokenize_span(tokenizer, text, 0, len(text))
    ss = sentence_starts(text, tokens, 0, len(text))
    return tokens, [(w, w.first) for w in windows_of(tokens, q, shape, ss)]


def groups_of(
    ex: Example,
    tokenizer: Tokenizer,
    shape: WindowShape,
    plan: GroupPlan,
    rng: random.Random,
    weight: float = 1.0,
) -> list[Group]:
    """The training groups of one example (none when its answer cannot be tokenised whole)."""
    question = ex.question
    if rng.random() < plan.unaccented_rate:
        question = fold_accents(question)
    q = question_ids(tokenizer, question, shape)
    tokens, wins = _windows_with_offsets(tokenizer, ex.text, q, shape)
    if not wins:
        return []
    spans = [r for a, b in ex.answers if (r := _token_range(tokens, a, b)) is not None]
    labelled = [_labelled(w, lo, spans) for w, lo in wins]
    neg_windows: list[TrainWindow] = []
    for passage in ex.negatives:
        _, nw = _windows_with_offsets(tokenizer, passage, q, shape)
        if nw:
            w, _ = rng.choice(nw)
            neg_windows.append(TrainWindow(w.input_ids, (), ()))
    out: list[Group] = []
    if not ex.answerable:
        picked = rng.sample(labelled, min(plan.unanswerable_windows, len(labelled)))
        return [Group(tuple(TrainWindow(w.input_ids, (), ()) for w in picked), False, ex.source, weight)]
    positive = [i for i, w in enumerate(labelled) if w.starts]
    if not positive:
        return []
    first = rng.choice(positive)
    others = [i for i in range(len(labelled)) if i != first]
    chosen = [first, *rng.sample(others, min(plan.same_article, len(others)))]
    negs = rng.sample(neg_windows, min(plan.negatives, len(neg_windows)))
    out.append(Group(tuple(labelled[i] for i in chosen) + tuple(negs), True, ex.source, weight))
    if neg_windows and rng.random() < plan.near_miss_rate:
        empty = [w for w in labelled if not w.starts]
        pool = [*neg_windows, *rng.sample(empty, min(1, len(empty)))]
        out.append(Group(tuple(pool[: plan.negatives + 1]), False, ex.source, weight))
    return out


def batches(
    groups: Sequence[Group], max_windows: int, rng: random.Random, *, bucket: int = 64
) -> Iterator[list[Group]]:
    """Groups in a random order, packed into batches of at most ``max_windows`` windows; groups
    of similar width share a batch (less padding)."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    out: list[list[Group]] = []
    for lo in range(0, len(order), bucket * 8):
        chunk = sorted(order[lo : lo + bucket * 8], key=lambda i: groups[i].width)
        current: list[Group] = []
        size = 0
        for i in chunk:
            g = groups[i]
            if current and size + len(g.windows) > max_windows:
                out.append(current)
                current, size = [], 0
            current.append(g)
            size += len(g.windows)
        if current:
            out.append(current)
    rng.shuffle(out)
    yield from out
