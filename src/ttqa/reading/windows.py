"""Question + passage windows for the span reader, with exact character offsets.

A window is ``<s> question </s></s> context </s>``: the context is a run of whole sentences of a
passage where they fit, cut at token boundaries only when one sentence is longer than the window.
Every context token carries the character offsets of its text in the passage's document, with
the tokenizer's leading space left out, so that a span of tokens maps back to
``text[start:end]``. Training and reading build windows with the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ttqa.reading.sentences import sentence_spans

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CLS_ID = 0
SEP_ID = 2
PAD_ID = 1
SPECIAL_AROUND = 4
"""``<s>`` before the question, ``</s></s>`` between question and context, ``</s>`` at the end."""

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class WindowShape:
    """How long windows are: ``max_tokens`` in all, the question cut at ``max_question_tokens``,
    consecutive windows of one passage sharing about ``overlap_tokens``."""

    max_tokens: int = 256
    max_question_tokens: int = 64
    overlap_tokens: int = 64

    def context_tokens(self, question_tokens: int) -> int:
        return self.max_tokens - min(question_tokens, self.max_question_tokens) - SPECIAL_AROUND


@dataclass(frozen=True, slots=True)
class Window:
    """One model input: the question and a stretch of one passage.

    ``starts[i]``/``ends[i]`` are the character offsets (into the passage's document text) of
    context token ``i``, which is ``input_ids[context_at + i]``.
    """

    source: int
    input_ids: IntArray
    context_at: int
    starts: IntArray
    ends: IntArray
    first: int = 0
    """Index of the first context token among the tokens the window was cut from."""

    @property
    def char_start(self) -> int:
        return int(self.starts[0]) if len(self.starts) else 0

    @property
    def char_end(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token ids of a stretch of text and each token's ``[start, end)`` in the whole text."""

    ids: IntArray
    starts: IntArray
    ends: IntArray

    def __len__(self) -> int:
        return len(self.ids)


def question_ids(tokenizer: Tokenizer, question: str, shape: WindowShape) -> IntArray:
    """The question's token ids, cut at ``shape.max_question_tokens``."""
    enc = tokenizer.encode(question, add_special_tokens=False)
    return np.asarray(enc.ids[: shape.max_question_tokens], dtype=np.int64)


def tokenize_span(tokenizer: Tokenizer, text: str, start: int, end: int) -> Tokens:
    """Tokens of ``text[start:end]`` with offsets into ``text``. Tokens with no visible
    character of their own (a lone "▁", control characters) are left out."""
    piece = text[start:end]
    if not piece.strip():
        empty = np.zeros(0, dtype=np.int64)
        return Tokens(empty, empty, empty)
    enc = tokenizer.encode(piece, add_special_tokens=False)
    ids: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for tok_id, (s, e) in zip(enc.ids, enc.offsets, strict=True):
        while s < e and piece[s].isspace():
            s += 1
        if e <= s:
            continue
        ids.append(tok_id)
        starts.append(start + s)
        ends.append(start + e)
    return Tokens(
        np.asarray(ids, dtype=np.int64), np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    )


def sentence_starts(text: str, tokens: Tokens, start: int, end: int) -> npt.NDArray[np.bool_]:
    """``out[i]``: token ``i`` is the first token of a sentence of ``text[start:end]``."""
    out = np.zeros(len(tokens), dtype=np.bool_)
    if not len(tokens):
        return out
    firsts = np.asarray([start + s for s, _ in sentence_spans(text[start:end])], dtype=np.int64)
    where = np.searchsorted(tokens.starts, firsts)
    out[where[where < len(tokens)]] = True
    out[0] = True
    return out


def split_points(
    n: int, fits: int, overlap: int, starts_sentence: npt.NDArray[np.bool_]
) -> list[tuple[int, int]]:
    """Token ranges ``[lo, hi)`` covering ``n`` tokens, each at most ``fits`` long.

    A window ends before a sentence start where one lies in its second half; the next window
    then starts there, or at a sentence start up to ``overlap`` tokens earlier (a short last
    sentence read twice, for context). A window that had to end inside a sentence is followed
    by one starting at the last sentence start of its second half, or ``overlap`` tokens back,
    so that a span near the cut is whole in one window."""
    if n <= 0:
        return []
    fits = max(1, fits)
    overlap = min(overlap, fits // 2)
    firsts = np.flatnonzero(starts_sentence)
    out: list[tuple[int, int]] = []
    lo = 0
    while True:
        hi = min(n, lo + fits)
        at_sentence = hi == n
        if hi < n:
            cuts = firsts[(firsts > lo + fits // 2) & (firsts <= hi)]
            if len(cuts):
                hi, at_sentence = int(cuts[-1]), True
        out.append((lo, hi))
        if hi >= n:
            return out
        if at_sentence:
            back = firsts[(firsts >= hi - overlap) & (firsts < hi) & (firsts > lo)]
            lo = int(back[0]) if len(back) else hi
        else:
            back = firsts[(firsts >= hi - fits // 2) & (firsts < hi) & (firsts > lo)]
            lo = int(back[-1]) if len(back) else max(lo + 1, hi - overlap)


def windows_of(
    tokens: Tokens,
    question: IntArray,
    shape: WindowShape,
    starts_sentence: npt.NDArray[np.bool_],
    *,
    source: int = 0,
    limit: int | None = None,
) -> list[Window]:
    """The windows covering ``tokens`` (at most ``limit``, the first ones)."""
    fits = shape.context_tokens(len(question))
    ranges = split_points(len(tokens), fits, shape.overlap_tokens, starts_sentence)
    if limit is not None:
        ranges = ranges[:limit]
    head = np.concatenate([[CLS_ID], question, [SEP_ID, SEP_ID]]).astype(np.int64)
    out = []
    for lo, hi in ranges:
        ids = np.concatenate([head, tokens.ids[lo:hi], [SEP_ID]]).astype(np.int64)
        out.append(Window(source, ids, len(head), tokens.starts[lo:hi], tokens.ends[lo:hi], lo))
    return out


def batch_arrays(windows: Sequence[Window]) -> tuple[IntArray, IntArray]:
    """``input_ids`` and ``attention_mask`` of the windows, padded to the longest."""
    width = max((len(w) for w in windows), default=0)
    ids = np.full((len(windows), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for i, w in enumerate(windows):
        ids[i, : len(w)] = w.input_ids
        mask[i, : len(w)] = 1
    return ids, mask
