#!/usr/bin/env python
"""Choose the chunk size by measurement: build one index per size, compare retrieval.

    .venv/bin/python benchmarks/chunk_size.py --corpus ../shared/data/news_vi/party_org_606.jsonl \
        --sets evals/domain.jsonl --sizes 400 800 1200 --out benchmarks/results/chunk_size.json

Reports article- and answer-level Hit@1/5 and MRR@10 (hybrid) for each size, the number
of chunks, and the build time. Indexes go to indexes/bench-chunk-<size>/ (embeddings cached).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench_common import write_json

from ttqa.evaluation.datasets import load_any
from ttqa.evaluation.runner import OpenEvaluation
from ttqa.ingest.chunking import ChunkingParams
from ttqa.qa import QA
from ttqa.retrieval.retriever import Mode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", nargs="+", type=Path, required=True)
    ap.add_argument("--sets", nargs="+", type=Path, required=True)
    ap.add_argument("--sizes", nargs="+", type=int, default=[400, 800, 1200])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = []
    for size in args.sizes:
        params = ChunkingParams(size, max(0, size * 15 // 100))
        t0 = time.perf_counter()
        qa = QA.build(args.corpus, Path(f"indexes/bench-chunk-{size}"), chunking=params)
        build_s = time.perf_counter() - t0
        row: dict[str, object] = {
            "chunk_size": size,
            "overlap": params.chunk_overlap,
            "chunks": qa.manifest.n_chunks,
            "build_s": round(build_s, 1),
        }
        ev = OpenEvaluation(qa, k=10)
        for path in args.sets:
            questions = [q for q in load_any(path) if q.answerable]
            res = ev.run(questions, Mode.HYBRID, answers=False)
            summary = ev.summarise(questions, res)
            row[path.name] = {
                "article": {k: round(v, 1) for k, v in summary["retrieval_article"].items()},
                "answer": {k: round(v, 1) for k, v in summary["retrieval_answer"].items()},
            }
        results.append(row)
        print(json.dumps(row, ensure_ascii=False))
    if args.out:
        write_json(args.out, results)


if __name__ == "__main__":
    main()
