#!/usr/bin/env python
"""What the reader's window budget costs and buys: ``qa.ask`` end to end with each budget, one run.

    .venv/bin/python benchmarks/window_budget.py --index DIR [--questions evals/domain.jsonl] \\
        [--budgets 2 3 4] [--rounds 2] [--out FILE.json]

One index and one embedder; one reader per budget (``make_reader(max_windows=B)``, the shipped
weights on ONNX int8, each loaded and exported before any timing), asked as ``qa.ask`` asks.
Every question is asked with every budget in turn, the budgets in a rotating order, each ask
cold: the query-vector memo and the sentence cache are emptied before it. Printed per budget:
``qa.ask`` latency (p50 / p95 / mean, and p95 over the default budget's) and the answers'
quality on the questions' gold answers (EM / F1 over the answerable questions, an abstention
scoring 0; how many are answered and how many of those right; how many unanswerable ones are
abstained on). Timings depend on the machine and on what else runs on it: compare budgets of one run only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench_common import ROOT, latency_summary, machine_info, machine_line, setup_env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, default=ROOT / "indexes/default")
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/domain.jsonl")
    ap.add_argument("--budgets", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--rounds", type=int, default=2, help="times each question is asked with each budget")
    ap.add_argument("--k", type=int, default=8, help="passages read (qa.ask's default)")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here too")
    args = ap.parse_args()
    if any(b < 1 for b in args.budgets) or args.rounds < 1:
        ap.error("budgets and rounds must be at least 1")
    setup_env()
    from ttqa.answering.answerer import Answerer
    from ttqa.evaluation.datasets import load_jsonl
    from ttqa.evaluation.metrics import exact_match, token_f1
    from ttqa.qa import QA
    from ttqa.reading.attribution import RoutingReader
    from ttqa.reading.factory import MAX_WINDOWS, make_reader
    from ttqa.reading.sentences import sentence_spans
    from ttqa.validation import check_question

    qa = QA.load(args.index)
    questions = load_jsonl(args.questions)
    answerers = {
        b: Answerer(qa.store, qa.retriever, RoutingReader(make_reader(max_windows=b))) for b in args.budgets
    }
    for answerer in answerers.values():  # load (and export) outside the timings
        answerer.warm_up()
    times: dict[int, list[float]] = {b: [] for b in args.budgets}
    answers: dict[int, dict[int, tuple[str | None, bool]]] = {b: {} for b in args.budgets}
    clear_memo = getattr(qa.embedder, "clear_cache", None)  # the e5 embedders memoise questions
    turn = 0
    for _ in range(args.rounds):
        for i, q in enumerate(questions):
            order = args.budgets[turn % len(args.budgets) :] + args.budgets[: turn % len(args.budgets)]
            turn += 1
            for b in order:
                if clear_memo is not None:
                    clear_memo()
                sentence_spans.cache_clear()
                t = time.perf_counter()
                answer = answerers[b].ask(check_question(q.question), k=args.k)
                times[b].append(time.perf_counter() - t)
                answers[b][i] = (answer.text, answer.abstained)

    base = MAX_WINDOWS if MAX_WINDOWS in args.budgets else max(args.budgets)
    base_p95 = latency_summary(times[base])["p95_ms"]
    rows = []
    for b in args.budgets:
        lat = latency_summary(times[b])
        asked = [(q, answers[b][i]) for i, q in enumerate(questions)]
        answerable = [(q, a) for q, a in asked if q.answers]
        unanswerable = [(q, a) for q, a in asked if not q.answers]
        given = [(q, text) for q, (text, abstained) in answerable if not abstained]
        rows.append(
            {
                "budget": b,
                **lat,
                "p95_over_default": round(lat["p95_ms"] / base_p95, 3),
                "em": round(100 * statistics.fmean(exact_match(t, q.answers) for q, (t, _) in answerable), 1)
                if answerable
                else None,
                "f1": round(100 * statistics.fmean(token_f1(t, q.answers) for q, (t, _) in answerable), 1)
                if answerable
                else None,
                "answered": round(100 * len(given) / len(answerable), 1) if answerable else None,
                "right_of_answered": round(
                    100 * statistics.fmean(token_f1(t, q.answers) >= 0.5 for q, t in given), 1
                )
                if given
                else None,
                "unanswerable_abstained": f"{sum(a for _, (_, a) in unanswerable)}/{len(unanswerable)}",
            }
        )
    machine = machine_info()
    print(f"\n{args.questions.name}: {len(questions)} questions, index {args.index}, {args.rounds} rounds")
    print(machine_line(machine))
    print(
        "\n| windows | qa.ask p50 ms | p95 ms | mean ms | p95 / default's | EM | F1 | answered % "
        "| right of answered % | unanswerable abstained |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mark = " (default)" if r["budget"] == MAX_WINDOWS else ""
        print(
            f"| {r['budget']}{mark} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['mean_ms']:.0f} "
            f"| {r['p95_over_default']:.2f} | {r['em']} | {r['f1']} | {r['answered']} "
            f"| {r['right_of_answered']} | {r['unanswerable_abstained']} |"
        )
    if args.out:
        payload = {
            "questions": str(args.questions),
            "index": str(args.index),
            "rounds": args.rounds,
            "machine": machine,
            "rows": rows,
        }
        args.out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
