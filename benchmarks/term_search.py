#!/usr/bin/env python
"""What the confidence's name-and-number check costs on long articles: ``holds`` against the whole key.

    .venv/bin/python benchmarks/term_search.py [--sizes 2639 100000 1000000 16777216] [--rounds 3]

The confidence asks whether the span's article holds each name and number of the question
(``ttqa.text.terms.missing_share``). Each bundled seed article is repeated to each size (with a
line naming Hà Tĩnh at the end); for the terms of a few questions (a name there, a name at the
end only, a name nowhere, numbers, the same typed without accents), both ways are timed, best of
``--rounds``: ``holds`` (the term's letters searched for, only their words folded) and the key of
the whole text (``term_key``). They must agree; printed: milliseconds per article and term for
each, and their ratio. Timings depend on the machine and on what else runs on it: compare the two
ways of one run only.
"""

from __future__ import annotations

import argparse
import time

from bench_common import ROOT, machine_info, machine_line, print_table, setup_env

QUESTIONS = (
    "Tỉnh Nghệ An và Hà Tĩnh giảm được 6.666 hay 39 biên chế, theo Đồng Tháp?",
    "tinh Nghe An va Ha Tinh giam duoc 6.666 hay 39 bien che, theo Dong Thap?",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2_639, 100_000, 1_000_000, 16 * 2**20])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    setup_env()
    from ttqa.text.normalize import has_diacritics
    from ttqa.text.terms import holds, key_terms, term_key

    articles = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    rows = []
    for size in args.sizes:
        fast = slow = 0.0
        checks = 0
        for article in articles:
            text = ((article + "\n") * (size // (len(article) + 1) + 1))[:size]
            text += "\nĐồng chí Võ Văn Dũng, Bí thư Tỉnh ủy Hà Tĩnh, dự."
            for question in QUESTIONS:
                accents = has_diacritics(question)
                for term in key_terms(question):
                    best_fast = best_slow = float("inf")
                    for _ in range(args.rounds):
                        t0 = time.perf_counter()
                        found = holds(text, term, accents=accents)
                        t1 = time.perf_counter()
                        whole = f" {term} " in f" {term_key(text, accents=accents)} "
                        t2 = time.perf_counter()
                        best_fast, best_slow = min(best_fast, t1 - t0), min(best_slow, t2 - t1)
                    if found != whole:
                        raise SystemExit(f"holds and the whole key disagree on {term!r} at {size} chars")
                    fast, slow, checks = fast + best_fast, slow + best_slow, checks + 1
        rows.append(
            {
                "chars": size,
                "checks": checks,
                "holds_ms": 1e3 * fast / checks,
                "whole_ms": 1e3 * slow / checks,
                "ratio": slow / fast,
            }
        )
    print(machine_line(machine_info()))
    print_table(
        "name and number check per article and term (best of rounds)",
        [
            ("chars", "chars"),
            ("checks", "checks"),
            ("holds_ms", "holds ms"),
            ("whole_ms", "whole key ms"),
            ("ratio", "whole / holds"),
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
