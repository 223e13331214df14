#!/usr/bin/env python
"""Train the span ranker's weights on a SQuAD-format set and write span_ranker.json.

    .venv/bin/python scripts/train_span_ranker.py --train ../shared/data/viquad_dev \
        --eval ../shared/data/xquad_vi --out src/ttqa/answering/span_ranker.json

Reading-comprehension setting: the question's gold paragraph is read by the same
Reader the product uses (sentence scoring with the real e5 model, then span
features); each candidate is labelled with its token F1 against the gold answers.
With --folds N it also reports N-fold cross-validated EM/F1 on the training set.
"""

from __future__ import annotations

import argparse
import pickle
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ttqa.answering.ranker import SpanRanker
from ttqa.answering.reader import Passage, Reader
from ttqa.answering.spans import SpanFeatures
from ttqa.embedding.factory import DEFAULT_EMBEDDER, make_embedder
from ttqa.evaluation.datasets import EvalQuestion, load_any
from ttqa.evaluation.metrics import exact_match, token_f1
from ttqa.qa import QA

Group = tuple[SpanFeatures, np.ndarray, list[str]]


def groups_for(
    reader: Reader,
    questions: list[EvalQuestion],
    rng: np.random.Generator | None = None,
    keep_negatives: int = 0,
) -> list[Group]:
    """Every candidate of each question, labelled with its F1; with ``rng``, only those that
    overlap the answer plus ``keep_negatives`` others (whole-article contexts give thousands of
    candidates a question: keeping them all for 5,000 questions does not fit in 24 GiB)."""
    out = []
    for q in questions:
        assert q.context is not None
        feats, texts = reader.candidate_features(
            q.question, [Passage(q.doc_ids[0], q.context, 0, len(q.context))]
        )
        f1 = np.array([token_f1(t, q.answers) for t in texts], dtype=np.float32)
        if rng is not None:
            idx = sample_rows(f1, rng, keep_negatives)
            feats, f1, texts = (
                SpanFeatures(feats.dense[idx], feats.lex[idx]),
                f1[idx],
                [texts[i] for i in idx],
            )
        out.append((feats, f1, texts))
    return out


def sample_rows(f1: np.ndarray, rng: np.random.Generator, keep_negatives: int) -> np.ndarray:
    """Rows of every candidate that overlaps the answer, plus a random sample of the others."""
    pos = np.flatnonzero(f1 > 0)
    neg = np.flatnonzero(f1 == 0)
    if len(neg) > keep_negatives:
        neg = rng.choice(neg, keep_negatives, replace=False)
    return np.sort(np.concatenate([pos, neg]))


def load_set(spec: str, limit: int) -> list[EvalQuestion]:
    """A SQuAD set (gold paragraphs), or ``set.jsonl@index`` (gold article from the index);
    ``SPEC*N`` repeats each question N times (weighs a small in-domain set against larger ones)."""
    spec, star, times = spec.rpartition("*") if "*" in spec else (spec, "", "")
    repeat = int(times) if star else 1
    path, _, index = spec.partition("@")
    questions = load_any(path)
    if index:
        qa = QA.load(index)
        questions = [
            replace(q, context=qa.document(q.doc_ids[0]).text) for q in questions if q.answers and q.doc_ids
        ]
    if limit and len(questions) > limit:
        questions = random.Random(0).sample(questions, limit)
    return [q for q in questions for _ in range(repeat)]


def targets(group: Group, power: float) -> tuple[SpanFeatures, np.ndarray]:
    """A sampled group's features and its targets, F1 ** ``power``."""
    feats, f1, _ = group
    return feats, f1**power


def evaluate(ranker: SpanRanker, groups: list[Group], questions: list[EvalQuestion]) -> tuple[float, float]:
    em = f1 = 0.0
    for (feats, _, texts), q in zip(groups, questions, strict=True):
        if not texts:
            continue
        best = texts[int(np.argmax(ranker.scores(feats)))]
        em += exact_match(best, q.answers)
        f1 += token_f1(best, q.answers)
    n = len(questions)
    return 100 * em / n, 100 * f1 / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--train", nargs="+", required=True, help="SET or SET@INDEX (ttqa JSONL + index of its articles)"
    )
    ap.add_argument("--eval", nargs="*", default=[], help="SET or SET@INDEX, held out")
    ap.add_argument("--limit-per-set", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--folds", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--embedder", default=DEFAULT_EMBEDDER)
    ap.add_argument("--negatives", type=int, default=150, help="negative candidates kept per question")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument(
        "--target-power",
        type=float,
        default=3.0,
        help="train towards F1**power (sharper on exact spans; 3 beat 1 on every held-out set)",
    )
    ap.add_argument("--cache", type=Path, help="pickle of sentence vectors, reused across runs")
    args = ap.parse_args()

    reader = Reader(make_embedder(args.embedder), cache_size=1_000_000)
    if args.cache and args.cache.exists():
        with args.cache.open("rb") as fh:
            reader._cache.update(pickle.load(fh))
    train: list[EvalQuestion] = []
    for spec in args.train:
        train += load_set(spec, args.limit_per_set)
    if args.limit:
        random.Random(0).shuffle(train)
        train = train[: args.limit]
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    train_groups = groups_for(reader, train, rng, args.negatives)
    print(f"features for {len(train)} training questions in {time.perf_counter() - t0:.0f} s")
    if args.cache:
        with args.cache.open("wb") as fh:
            pickle.dump(dict(reader._cache), fh)
    oracle = np.mean([g[1].max() if len(g[1]) else 0 for g in train_groups]) * 100
    print(f"oracle F1 (best candidate) on train: {oracle:.1f}")

    if args.folds:
        idx = list(range(len(train)))
        random.Random(1).shuffle(idx)
        ems, f1s = [], []
        for k in range(args.folds):
            test_idx = set(idx[k :: args.folds])
            fit = [targets(train_groups[i], args.target_power) for i in idx if i not in test_idx]
            ranker = SpanRanker.fit(fit, epochs=args.epochs)
            tg = [train_groups[i] for i in sorted(test_idx)]
            tq = [train[i] for i in sorted(test_idx)]
            em, f1 = evaluate(ranker, tg, tq)
            ems.append(em)
            f1s.append(f1)
        print(f"{args.folds}-fold CV on {args.train}: EM {np.mean(ems):.1f}  F1 {np.mean(f1s):.1f}")

    ranker = SpanRanker.fit([targets(g, args.target_power) for g in train_groups], epochs=args.epochs)
    ranker.meta.update({"train_sets": args.train, "questions": len(train), "target_power": args.target_power})
    em, f1 = evaluate(ranker, train_groups, train)
    print(f"train {args.train} (sampled candidates): EM {em:.1f}  F1 {f1:.1f}")
    for path in args.eval:
        qs = load_set(path, 0)
        groups = groups_for(reader, qs)
        em, f1 = evaluate(ranker, groups, qs)
        prior_em, prior_f1 = evaluate(SpanRanker(), groups, qs)
        shipped_em, shipped_f1 = evaluate(SpanRanker.bundled(), groups, qs)
        print(
            f"held-out {path}: EM {em:.1f}  F1 {f1:.1f}"
            f"   (shipped weights: EM {shipped_em:.1f}  F1 {shipped_f1:.1f};"
            f" hand-set priors: EM {prior_em:.1f}  F1 {prior_f1:.1f})"
        )
    if args.out:
        ranker.save(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
