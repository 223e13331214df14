"""The neural reader: windows of the passages through the span model, spans decoded and merged.

Passages of one article that overlap or touch are read as one stretch of text, best passage
first, and only up to ``max_windows`` windows in all (the best passages first): reading costs
time in proportion to the tokens read. The windows go through the model in one batch (two, when
the first windows are read alone to see whether the rest is needed). Because
the model was trained with one softmax over all windows of a question, span scores of different
windows and articles compare directly, and so does the no-answer score (the best window's
``<s>`` score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ttqa.reading.base import Passage, Reading, SpanCandidate
from ttqa.reading.decode import FloatArray, RawSpan, null_score, window_spans
from ttqa.reading.sentences import sentence_at
from ttqa.reading.windows import (
    IntArray,
    Window,
    WindowShape,
    batch_arrays,
    question_ids,
    sentence_starts,
    tokenize_span,
    windows_of,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

WHOLE = 1 << 20
"""The window budget of a whole reading (``read(..., whole=True)``): more than any article needs."""
CHARS_PER_WINDOW = 1400
"""Characters tokenised per window a stretch may still fill (Vietnamese news: ~4 characters a
token), so that a huge passage is never tokenised whole."""


class LogitsBackend(Protocol):
    """Runs the span model: start and end logits for padded ``ids`` and ``mask``."""

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]: ...


class WindowMemo:
    """A :class:`LogitsBackend` that runs each window once and gives its logits again whenever
    it comes back, in any batch (rows past a window's end read -1e4)."""

    def __init__(self, backend: LogitsBackend) -> None:
        self.backend = backend
        self.rows: dict[bytes, tuple[FloatArray, FloatArray]] = {}

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
        lengths = mask.sum(axis=1)
        keys = [ids[r, : lengths[r]].tobytes() for r in range(len(ids))]
        if not all(k in self.rows for k in keys):
            s, e = self.backend.logits(ids, mask)
            for r, k in enumerate(keys):
                self.rows[k] = (s[r, : lengths[r]], e[r, : lengths[r]])
            return s, e
        starts = np.full(ids.shape, -1e4, dtype=np.float32)
        ends = np.full(ids.shape, -1e4, dtype=np.float32)
        for r, k in enumerate(keys):
            starts[r, : lengths[r]], ends[r, : lengths[r]] = self.rows[k]
        return starts, ends


@dataclass(frozen=True, slots=True)
class Stretch:
    """Text read as one: ``[start, end)`` of passage ``passage``'s document."""

    passage: int
    start: int
    end: int


def stretches(passages: Sequence[Passage]) -> list[Stretch]:
    """Passages merged per document where they overlap or touch, in the order of each
    document's best passage."""
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_doc.setdefault(p.doc_id, []).append(i)
    out: list[tuple[int, Stretch]] = []
    for idxs in by_doc.values():
        spans = sorted(
            (max(0, passages[i].start), min(len(passages[i].document), passages[i].end), i) for i in idxs
        )
        cur_s, cur_e, cur_rank = spans[0]
        for s, e, i in spans[1:]:
            if s <= cur_e + 1:
                cur_e, cur_rank = max(cur_e, e), min(cur_rank, i)
                continue
            out.append((cur_rank, Stretch(cur_rank, cur_s, cur_e)))
            cur_s, cur_e, cur_rank = s, e, i
        out.append((cur_rank, Stretch(cur_rank, cur_s, cur_e)))
    out.sort(key=lambda rs: rs[0])
    return [s for _, s in out]


class NeuralReader:
    """:class:`~ttqa.reading.base.Reader` over a span model (see the module notes).

    ``max_windows``: the windows read at most (the best passages' first). With ``enough_gap``,
    the first ``first_windows`` are read alone, and the rest only when no span of theirs beats
    the no-answer score by ``enough_gap``. ``length_penalty``: taken from a span's score for
    each token past its first (:attr:`~ttqa.reading.model.ReaderConfig.length_penalty`).
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        backend: LogitsBackend,
        shape: WindowShape | None = None,
        *,
        max_windows: int = 4,
        max_answer_tokens: int = 40,
        batch_size: int = 16,
        first_windows: int = 2,
        enough_gap: float | None = None,
        length_penalty: float = 0.0,
    ) -> None:
        self.tokenizer = tokenizer
        self.backend = backend
        self.shape = shape or WindowShape()
        self.max_windows = max_windows
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self.first_windows = first_windows
        self.enough_gap = enough_gap
        self.length_penalty = length_penalty

    def windows(
        self, question: str, passages: Sequence[Passage], max_windows: int | None = None
    ) -> list[Window]:
        """The windows read for ``question``, best passages first."""
        budget = self.max_windows if max_windows is None else max_windows
        q = question_ids(self.tokenizer, question, self.shape)
        out: list[Window] = []
        for st in stretches(passages):
            left = budget - len(out)
            if left <= 0:
                break
            text = passages[st.passage].document
            end = min(st.end, st.start + left * CHARS_PER_WINDOW)
            if end < st.end:  # cut at a space, never inside a word
                space = text.rfind(" ", st.start, end)
                end = space if space > st.start else end
            tokens = tokenize_span(self.tokenizer, text, st.start, end)
            if not len(tokens):
                continue
            ss = sentence_starts(text, tokens, st.start, end)
            out.extend(windows_of(tokens, q, self.shape, ss, source=st.passage, limit=left))
        return out

    def run(self, windows: Sequence[Window]) -> tuple[list[FloatArray], list[FloatArray]]:
        """Start and end logits of each window (batched, longest first)."""
        starts: list[FloatArray] = [np.zeros(0, np.float32)] * len(windows)
        ends: list[FloatArray] = [np.zeros(0, np.float32)] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i]))
        for lo in range(0, len(order), self.batch_size):
            part = order[lo : lo + self.batch_size]
            ids, mask = batch_arrays([windows[i] for i in part])
            s, e = self.backend.logits(ids, mask)
            for row, i in enumerate(part):
                n = len(windows[i])
                starts[i], ends[i] = s[row, :n], e[row, :n]
        return starts, ends

    def _decode(
        self,
        wins: Sequence[Window],
        lo: int,
        hi: int,
        passages: Sequence[Passage],
        best: dict[tuple[int, int, int], RawSpan],
        top: int,
    ) -> float:
        """Run windows ``lo:hi``, merge their spans into ``best``; their best no-answer score."""
        s_logits, e_logits = self.run(wins[lo:hi])
        no_answer = -np.inf
        for k in range(lo, hi):
            w, s, e = wins[k], s_logits[k - lo], e_logits[k - lo]
            no_answer = max(no_answer, null_score(s, e))
            text = passages[w.source].document
            for span in window_spans(
                k,
                w,
                s,
                e,
                text,
                n_best=max(top, 20),
                max_answer_tokens=self.max_answer_tokens,
                length_penalty=self.length_penalty,
            ):
                key = (w.source, span.start, span.end)
                if key not in best or best[key].score < span.score:
                    best[key] = span
        return float(no_answer)

    def read(
        self, question: str, passages: Sequence[Passage], *, top: int = 5, whole: bool = False
    ) -> Reading:
        wins = self.windows(question, passages, WHOLE if whole else None)
        if not wins:
            return Reading([], 0.0, 0)
        best: dict[tuple[int, int, int], RawSpan] = {}
        first = len(wins) if whole or self.enough_gap is None else min(len(wins), self.first_windows)
        no_answer = self._decode(wins, 0, first, passages, best, top)
        if first < len(wins):
            top_score = max((r.score for r in best.values()), default=-np.inf)
            if top_score - no_answer >= (self.enough_gap or 0.0):  # sure enough: the rest is not read
                wins = wins[:first]
            else:
                no_answer = max(no_answer, self._decode(wins, first, len(wins), passages, best, top))

        ranked = sorted(best.values(), key=lambda r: -r.score)
        seen: set[tuple[str, int, int]] = set()
        out: list[SpanCandidate] = []
        for r in ranked:
            p = passages[wins[r.window].source]
            doc_key = (p.doc_id, r.start, r.end)
            if doc_key in seen:
                continue
            seen.add(doc_key)
            s0, _ = sentence_at(p.document, r.start)
            _, e1 = sentence_at(p.document, max(r.start, r.end - 1))
            out.append(
                SpanCandidate(
                    doc_id=p.doc_id,
                    start=r.start,
                    end=r.end,
                    text=p.document[r.start : r.end],
                    score=r.score,
                    passage=wins[r.window].source,
                    sentence_start=min(s0, r.start),
                    sentence_end=max(e1, r.end),
                    passage_score=p.score,
                )
            )
            if len(out) >= top:
                break
        return Reading(out, float(no_answer), len(wins))


class TorchLogits:
    """The span model in torch (training, evaluation of checkpoints, the ONNX check)."""

    def __init__(self, model: object) -> None:
        self.model = model

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
        import torch

        model = self.model
        assert isinstance(model, torch.nn.Module)
        device = next(model.parameters()).device
        with torch.inference_mode():
            s, e = model(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        return s.float().cpu().numpy(), e.float().cpu().numpy()
