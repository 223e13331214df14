"""Fit the reader's length penalty on held-in questions.

``python -m ttqa.training.span_length --index DIR`` (DIR: an index of the 606 domain articles)
reads each domain question that training kept out (:func:`ttqa.training.data.held_out`) over its
whole article, as shipped (ONNX int8), once; then decodes the same logits with each penalty of
:data:`GRID` taken from a span's score per token past its first, and keeps the one whose best
spans score the highest EM + F1 against the gold answers (ties: the smaller). A span's score is
its start and end logits summed, each scored on its own: a start followed by a good end further
on can outscore the answer alone, and the penalty weighs against such run-on spans. It is written into the
reader file's config (:attr:`~ttqa.reading.model.ReaderConfig.length_penalty`; the tensors are
kept as they are). Refit the confidence afterwards (``python -m ttqa.training.calibrate``): the
span scores it reads have changed. The evaluation sets (seed, domain, XQuAD-vi) are never read.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ttqa.evaluation.datasets import EvalQuestion, load_jsonl
from ttqa.evaluation.metrics import exact_match, token_f1
from ttqa.reading.base import Passage
from ttqa.reading.model import bundled_delta, read_config, read_stored, write_delta
from ttqa.reading.neural import NeuralReader, WindowMemo
from ttqa.training.data import held_out
from ttqa.training.examples import refuse_evaluation_sets

logger = logging.getLogger(__name__)

GRID: tuple[float, ...] = tuple(round(0.025 * i, 3) for i in range(13))
"""Penalties tried: 0 to 0.3 per token."""


def scores(
    reader: NeuralReader, items: Sequence[tuple[str, str, Sequence[str]]], grid: Sequence[float] = GRID
) -> dict[float, tuple[float, float]]:
    """EM and F1 (in %) of ``reader``'s best span over each ``(question, text, answers)``, the
    whole text read, with each length penalty of ``grid``."""
    replay = WindowMemo(reader.backend)  # the same windows, decoded once per penalty
    out: dict[float, tuple[float, float]] = {}
    for penalty in grid:
        probe = NeuralReader(
            reader.tokenizer,
            replay,
            reader.shape,
            max_windows=reader.max_windows,
            max_answer_tokens=reader.max_answer_tokens,
            length_penalty=penalty,
        )
        ems, f1s = [], []
        for question, text, answers in items:
            best = probe.read(question, [Passage("held-in", text, 0, len(text))], top=1, whole=True).best
            ems.append(exact_match(best.text if best else None, answers))
            f1s.append(token_f1(best.text if best else None, answers))
        out[penalty] = (100 * float(np.mean(ems)), 100 * float(np.mean(f1s)))
    return out


def choose(table: dict[float, tuple[float, float]]) -> float:
    """The penalty with the highest EM + F1; of equals, the smallest."""
    return min(table, key=lambda p: (-(table[p][0] + table[p][1]), p))


def set_penalty(delta: Path, penalty: float, out: Path) -> None:
    """Write ``delta``'s reader with ``penalty`` to ``out`` (atomically; the tensors as stored)."""
    write_delta(read_stored(delta), replace(read_config(delta), length_penalty=penalty), out)


def held_in_items(
    questions: Sequence[EvalQuestion], text_of: Callable[[str], str | None]
) -> list[tuple[str, str, list[str]]]:
    """``(question, article text, answers)`` of the answerable held-in ``questions`` whose
    article ``text_of(doc_id)`` finds."""
    out = []
    for q in questions:
        if q.answers and q.doc_ids and held_out(q.doc_ids[0]) and (text := text_of(q.doc_ids[0])) is not None:
            out.append((q.question, text, q.answers))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ttqa.training.span_length", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--index", type=Path, required=True, help="index of the 606 domain articles")
    ap.add_argument("--questions", type=Path, default=Path("evals/party_org_train.jsonl"))
    ap.add_argument("--reader", type=Path, default=None, help="reader file (default: the bundled one)")
    ap.add_argument("--out", type=Path, default=None, help="default: rewrite --reader in place")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    refuse_evaluation_sets(args.questions)
    from ttqa.qa import QA
    from ttqa.reading.factory import make_reader

    delta = args.reader or bundled_delta()
    store = QA.load(args.index).store
    items = held_in_items(load_jsonl(args.questions), lambda d: store.get(d).text if d in store else None)
    if not items:
        raise SystemExit(f"no held-in question of {args.questions} has its article in {args.index}")
    table = scores(make_reader(delta=delta), items)
    penalty = choose(table)
    set_penalty(delta, penalty, args.out or delta)
    for p, (em, f1) in table.items():
        print(f"length penalty {p:.3f}: EM {em:.1f}  F1 {f1:.1f}{'  (chosen)' if p == penalty else ''}")
    print(json.dumps({"questions": len(items), "length_penalty": penalty, "out": str(args.out or delta)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
