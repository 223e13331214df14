"""Fit the answer confidence and the abstention threshold on held-in questions.

``python -m ttqa.training.calibrate --index DIR`` (DIR: an index of the 606 domain articles)
reads the domain questions that training kept out (:func:`ttqa.training.data.held_out`) four
times: as asked, where a right answer (F1 >= 0.5) is the positive class; with their own article
withheld from retrieval; with the sentences that hold their answer taken out of their article
(:func:`fact_withheld`); and with one of their names or numbers swapped for one their article
lacks (:func:`~ttqa.training.swapped.swapped_question`). Every answer of the last three is wrong:
they are the near misses users meet, the same kind of article without the fact, the right
article without it, and a question about another place or person than the articles tell of. A
logistic model over :func:`ttqa.answering.confidence.evidence` is fitted to them, its L2
strength chosen by 5-fold cross-validation over the questions (:func:`choose_l2`).
Its output is the probability that the answer is right, so answering pays when
``p - cost * (1 - p) > 0``: the threshold is ``cost / (1 + cost)``, where ``--cost`` is what a
wrong answer costs, a right one gaining 1 and an abstention 0 (default 0.5: every answer shows
the passage it comes from, so a wrong one is seen at a glance, while a withheld right one costs
the whole search).
The unanswerable rows are weighed so that unanswerable questions make ``--unanswerable-share``
of all, a third of each kind (a product assumption: a quarter of what users ask is not in the
articles). The evaluation sets (seed, domain, XQuAD-vi) are never read.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from ttqa.answering.confidence import FEATURES, Calibration, evidence
from ttqa.evaluation.datasets import EvalQuestion, load_jsonl
from ttqa.evaluation.metrics import auroc, token_f1
from ttqa.qa import QA
from ttqa.reading.base import Passage
from ttqa.training.data import held_out
from ttqa.training.examples import refuse_evaluation_sets
from ttqa.training.swapped import swap_pool, swapped_question
from ttqa.training.withheld import WithheldDocument, withheld_document

logger = logging.getLogger(__name__)


Kind = Literal["asked", "article", "fact", "swap"]
KINDS: tuple[Kind, ...] = ("asked", "article", "fact", "swap")
"""How a question is read: as asked; with its article withheld from retrieval; with the
sentences holding its answer withheld from its article; with one of its names or numbers
swapped for one its article lacks (:func:`~ttqa.training.swapped.swapped_question`)."""
MIN_PASSAGE = 40
"""Characters a passage must keep, its answer's sentences taken out, to be read."""


def fact_withheld(
    passages: Sequence[Passage], doc_ids: Sequence[str], answers: Sequence[str]
) -> list[Passage] | None:
    """``passages`` with the answer's sentences taken out of the articles ``doc_ids``
    (:func:`~ttqa.training.withheld.withheld_document`; a passage left with less than
    :data:`MIN_PASSAGE` characters is dropped); ``None`` when no passage of theirs is among
    ``passages``, or when one of them does not hold the answer (nothing to take out)."""
    cut: dict[str, WithheldDocument | None] = {}
    out: list[Passage] = []
    for p in passages:
        if p.doc_id not in doc_ids:
            out.append(p)
            continue
        if p.doc_id not in cut:
            cut[p.doc_id] = withheld_document(p.document, answers)
        doc = cut[p.doc_id]
        if doc is None:
            return None
        start, end = doc.offset(p.start), doc.offset(p.end)
        if end - start >= MIN_PASSAGE:
            out.append(replace(p, document=doc.text, start=start, end=end))
    return out if cut else None


def rows(
    qa: QA, questions: Sequence[EvalQuestion], *, k: int = 8, seed: int = 0
) -> tuple[list[dict[str, float]], list[int], list[Kind], list[int]]:
    """Features, labels (1: a right answer), how the question was read (:data:`KINDS`) and the
    index of the question in ``questions``, for each question read each way (a reading without
    a span gives no row)."""
    answerer = qa.answerer
    pool = swap_pool(q.question for q in questions)
    rng = random.Random(seed)
    feats: list[dict[str, float]] = []
    labels: list[int] = []
    kinds: list[Kind] = []
    question_of: list[int] = []
    for n, q in enumerate(questions):
        found = qa.retriever.retrieve(q.question, k=k * 3)
        article = ""
        for kind in KINDS:
            asked, question = found, found.reading
            if kind == "swap":
                other = swapped_question(q.question, article, pool, rng)
                if other is None:
                    continue
                asked = qa.retriever.retrieve(other, k=k)
                question = asked.reading
            hits = [h for h in asked.hits if not (kind == "article" and h.doc_id in q.doc_ids)][:k]
            passages = answerer.passages(hits)
            if kind == "asked":
                article = next((p.document for p in passages if p.doc_id in q.doc_ids), "")
            if kind == "fact":
                passages = fact_withheld(passages, q.doc_ids, q.answers) or []
            if not passages:
                continue
            reading = answerer.reader.read(question, passages, top=10)
            if reading.best is None or reading.source != "span":
                continue
            feats.append(evidence(reading, passages, question))
            labels.append(int(kind == "asked" and token_f1(reading.best.text, q.answers) >= 0.5))
            kinds.append(kind)
            question_of.append(n)
    return feats, labels, kinds, question_of


def fit(
    feats: Sequence[dict[str, float]],
    labels: Sequence[int],
    weights: Sequence[float] | None = None,
    *,
    l2: float = 1e-2,
    steps: int = 200,
) -> dict[str, float]:
    """Weighted logistic regression (Newton's method, L2-regularised) over standardised
    features; the weights returned apply to the raw features."""
    x = np.asarray([[f[name] for name in FEATURES] for f in feats], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    sw = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w)))
        grad = z.T @ (sw * (p - y)) + reg * w
        hess = (z * (sw * p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    out = {name: float(w[i + 1] / sd[i]) for i, name in enumerate(FEATURES)}
    out["bias"] = float(w[0] - sum(w[i + 1] * mu[i] / sd[i] for i in range(len(FEATURES))))
    return out


L2_GRID = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)


def choose_l2(
    feats: Sequence[dict[str, float]],
    labels: Sequence[int],
    weights: Sequence[float],
    groups: Sequence[int],
    *,
    grid: Sequence[float] = L2_GRID,
    folds: int = 5,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The L2 strength of ``grid`` with the least weighted log loss in ``folds``-fold
    cross-validation (rows of one ``groups`` value stay in one fold); with each one's loss."""
    y = np.asarray(labels, dtype=np.float64)
    sw = np.asarray(weights, dtype=np.float64)
    g = np.asarray(groups)
    ids = np.unique(g)
    order = np.random.default_rng(seed).permutation(len(ids)) % folds
    fold_of = dict(zip(ids.tolist(), order.tolist(), strict=True))
    fold = np.asarray([fold_of[v] for v in g.tolist()])
    loss: dict[float, float] = {}
    for l2 in grid:
        total = 0.0
        for k in range(folds):
            train, test = np.where(fold != k)[0], np.where(fold == k)[0]
            if not len(train) or not len(test):
                continue
            part = train.tolist()
            cal = Calibration(
                weights=fit(
                    [feats[i] for i in part], [labels[i] for i in part], [weights[i] for i in part], l2=l2
                )
            )
            p = np.clip([cal.confidence(feats[i]) for i in test], 1e-6, 1 - 1e-6)
            total += float(np.sum(sw[test] * -(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))))
        loss[l2] = total / float(sw.sum())
    return min(loss, key=lambda l2: loss[l2]), loss


def decision_threshold(cost: float) -> float:
    """The confidence above which answering pays, when a right answer gains 1, a wrong one
    costs ``cost``, an abstention nothing, and the confidence is a calibrated probability."""
    if cost <= 0:
        raise ValueError("the cost of a wrong answer must be positive")
    return cost / (1.0 + cost)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ttqa.training.calibrate", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--index", type=Path, required=True, help="index of the 606 domain articles")
    ap.add_argument("--questions", type=Path, default=Path("evals/party_org_train.jsonl"))
    ap.add_argument(
        "--cost",
        type=float,
        default=0.5,
        help="what a wrong answer costs, a right one gaining 1 (threshold cost/(1+cost))",
    )
    ap.add_argument(
        "--unanswerable-share",
        type=float,
        default=0.25,
        help="share of questions users ask that the articles do not answer (weighs the withheld rows)",
    )
    ap.add_argument("--out", type=Path, default=None, help="default: the bundled confidence.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    refuse_evaluation_sets(args.questions)
    questions = [q for q in load_jsonl(args.questions) if q.doc_ids and held_out(q.doc_ids[0])]
    qa = QA.load(args.index)
    feats, labels, kinds, groups = rows(qa, questions)
    share = args.unanswerable_share
    asked = kinds.count("asked")
    unanswerable = KINDS[1:]
    held = {
        kind: share / (1 - share) * asked / (len(unanswerable) * max(1, kinds.count(kind)))
        for kind in unanswerable
    }
    sample = [held.get(kind, 1.0) for kind in kinds]
    l2, cv_loss = choose_l2(feats, labels, sample, groups)
    weights = fit(feats, labels, sample, l2=l2)
    cal = Calibration(weights=weights)
    conf = [cal.confidence(f) for f in feats]
    threshold = decision_threshold(args.cost)
    pos = [c for c, y in zip(conf, labels, strict=True) if y]
    neg = [c for c, y in zip(conf, labels, strict=True) if not y]
    meta = {
        "questions": (
            f"{len(questions)} held-out questions of {args.questions.name}, "
            "as asked, with their article withheld, with their answer's sentences withheld, "
            "and with a name or number swapped"
        ),
        "n": len(labels),
        "rows": {kind: kinds.count(kind) for kind in KINDS},
        "right": int(sum(labels)),
        "auroc": round(auroc(pos, neg) or 0.5, 4),
        "cost_wrong_answer": args.cost,
        "unanswerable_share": share,
        "l2": l2,
        "cv_log_loss": {str(k): round(v, 4) for k, v in cv_loss.items()},
    }
    out = args.out or Path(__file__).resolve().parents[1] / "answering" / "confidence.json"
    text = Calibration(
        weights={k: round(v, 5) for k, v in weights.items()}, threshold=round(threshold, 4), meta=meta
    ).to_json()
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)
    print(json.dumps({"threshold": threshold, **meta}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
