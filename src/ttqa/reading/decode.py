"""From start/end logits to answer spans with exact character offsets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ttqa.reading.windows import Window

FloatArray = npt.NDArray[np.float32]

_LEAD_TRIM = " \t\n,.;:)]}»”’/-–—|"
_TAIL_TRIM = " \t\n,.;:([{«“‘/-–—|"
_PAIRS = (("(", ")"), ("[", "]"), ("“", "”"), ("«", "»"), ('"', '"'))


@dataclass(frozen=True, slots=True)
class RawSpan:
    """A span decoded from one window: character offsets into the window's document text."""

    window: int
    start: int
    end: int
    score: float


def snap(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` widened to whole words (a token can stop inside a syllable: "Khan|h")
    and stripped of the punctuation a sub-word token drags along ("19/11/")."""
    n = len(text)
    start, end = max(0, min(start, n)), max(0, min(end, n))
    while start > 0 and text[start - 1].isalnum() and start < end and text[start].isalnum():
        start -= 1
    while end < n and end > start and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    while start < end and text[start] in _LEAD_TRIM:
        start += 1
    while end > start and text[end - 1] in _TAIL_TRIM:
        end -= 1
    # A bracket or quote at either end stays only with its partner inside the span.
    for open_, close in _PAIRS:
        span = text[start:end]
        if span.startswith(open_) and close not in span[1:]:
            start += 1
        span = text[start:end]
        if span.endswith(close) and open_ not in span[:-1]:
            end -= 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def window_spans(
    window_index: int,
    window: Window,
    start_logits: FloatArray,
    end_logits: FloatArray,
    text: str,
    *,
    n_best: int = 20,
    max_answer_tokens: int = 40,
    length_penalty: float = 0.0,
) -> list[RawSpan]:
    """The best spans of one window (scores are start + end logits, less ``length_penalty`` for
    each token past the first), widened to whole words, each within one line (no gold answer of
    the training or evaluation sets spans a line break)."""
    n = len(window.starts)
    if n == 0:
        return []
    lo = window.context_at
    s_log = np.asarray(start_logits[lo : lo + n], dtype=np.float32)
    e_log = np.asarray(end_logits[lo : lo + n], dtype=np.float32)
    k = min(n_best, n)
    top_s = np.argpartition(-s_log, k - 1)[:k]
    top_e = np.argpartition(-e_log, k - 1)[:k]
    ss, ee = np.meshgrid(top_s, top_e, indexing="ij")
    ok = (ee >= ss) & (ee - ss < max_answer_tokens)
    if not ok.any():
        return []
    ss, ee = ss[ok], ee[ok]
    scores = s_log[ss] + e_log[ee] - np.float32(length_penalty) * (ee - ss).astype(np.float32)
    order = np.argsort(-scores, kind="stable")[:n_best]
    out: list[RawSpan] = []
    for i in order:
        a, b = snap(text, int(window.starts[ss[i]]), int(window.ends[ee[i]]))
        if b > a and "\n" not in text[a:b]:  # an answer never runs across a line break
            out.append(RawSpan(window_index, a, b, float(scores[i])))
    return out


def null_score(start_logits: FloatArray, end_logits: FloatArray) -> float:
    """The window's no-answer score: its ``<s>`` token as both start and end."""
    return float(start_logits[0] + end_logits[0])
