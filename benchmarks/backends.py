#!/usr/bin/env python
"""The Milvus backend against the local one: same index, same questions, one run.

    .venv/bin/python benchmarks/backends.py --index DIR [--questions evals/domain.jsonl]
        [--milvus-uri URI] [--no-answers] [--out benchmarks/results/bench-backends]

The local index in ``--index`` is copied into Milvus through the backend contract (``write()``,
with the local vectors, so both hold the same chunks); without ``--milvus-uri`` a milvus-lite
server is started for the run. Then every question is searched (top 5, hybrid) and answered
(``qa.ask``) on both. Printed: Hit@5 (a gold article among the 5 passages), answer EM/F1, and
search and ask latency p50/p95 with their ratio to local.

milvus-lite is a correctness double, not a performance proxy: it is a single Python process
with brute-force and FAISS indexes, so its latencies say nothing of a Milvus cluster's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import ROOT, percentile, setup_env


def _pct(values: list[float], q: float) -> float:
    """Milliseconds at the ``q`` quantile of seconds ``values`` (bench_common's nearest rank)."""
    return percentile(values, 100 * q) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/domain.jsonl")
    ap.add_argument("--milvus-uri", default=None)
    ap.add_argument("--collection", default="ttqa_bench")
    ap.add_argument("--no-answers", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md")
    args = ap.parse_args()
    setup_env()
    sys.path.insert(0, str(ROOT / "tests"))
    from ttqa import QA
    from ttqa.evaluation.metrics import exact_match, token_f1
    from ttqa.index.local.backend import LocalBackend
    from ttqa.index.milvus.backend import MilvusBackend
    from ttqa.index.milvus.settings import MilvusSettings

    server = None
    uri = args.milvus_uri
    if uri is None:
        from milvus_server import MilvusServer

        server = MilvusServer.start(Path(tempfile.mkdtemp(prefix="ttqa-bench-milvus-")))
        uri = server.uri
    try:
        local = QA.load(args.index)
        assert isinstance(local.store, LocalBackend)
        settings = MilvusSettings(uri=uri, collection=args.collection)
        backend = MilvusBackend.connect(settings)
        t0 = time.perf_counter()
        backend.create(local.manifest.model_copy(update={"backend": "milvus", "documents": {}}), drop=True)
        chunks = local.store.indexed_chunks()
        for lo in range(0, len(chunks), 2000):
            backend.write(chunks[lo : lo + 2000])
        copy_s = time.perf_counter() - t0
        print(f"copied {len(chunks)} chunks into {settings.describe()} in {copy_s:.1f} s", flush=True)
        milvus = QA.load(backend="milvus", milvus=settings, embedder=local.embedder)
        questions = [json.loads(x) for x in args.questions.open(encoding="utf-8") if x.strip()]
        rows: dict[str, dict[str, Any]] = {}
        for name, qa in (("local", local), ("milvus", milvus)):
            qa.search(questions[0]["question"], k=5)  # warm-up
            search_t, ask_t, hits, em, f1, answerable = [], [], 0, 0.0, 0.0, 0
            for q in questions:
                t = time.perf_counter()
                found = qa.search(q["question"], k=5)
                search_t.append(time.perf_counter() - t)
                hits += any(h.doc_id in q.get("doc_ids", []) for h in found)
                if args.no_answers or not q.get("answers"):
                    continue
                t = time.perf_counter()
                answer = qa.ask(q["question"])
                ask_t.append(time.perf_counter() - t)
                answerable += 1
                em += exact_match(answer.text, q["answers"])
                f1 += token_f1(answer.text, q["answers"])
            rows[name] = {
                "questions": len(questions),
                "hit_at_5": round(100 * hits / len(questions), 1),
                "answer_em": round(100 * em / answerable, 1) if answerable else None,
                "answer_f1": round(100 * f1 / answerable, 1) if answerable else None,
                "search_p50_ms": round(_pct(search_t, 0.5), 1),
                "search_p95_ms": round(_pct(search_t, 0.95), 1),
                "ask_p50_ms": round(_pct(ask_t, 0.5), 1) if ask_t else None,
                "ask_p95_ms": round(_pct(ask_t, 0.95), 1) if ask_t else None,
            }
            print(name, json.dumps(rows[name]), flush=True)
        ratio = rows["milvus"]["search_p50_ms"] / max(rows["local"]["search_p50_ms"], 1e-9)
        result = {
            "index": str(args.index),
            "chunks": len(chunks),
            "documents": len(local.store),
            "questions": str(args.questions),
            "milvus": "milvus-lite (a correctness double, not a performance proxy)" if server else uri,
            "copy_seconds": round(copy_s, 1),
            "rows": rows,
            "search_p50_ratio_milvus_to_local": round(ratio, 2),
        }
        lines = [
            f"# Backends: local against Milvus ({result['milvus']})",
            "",
            f"`benchmarks/backends.py --index {args.index} --questions {args.questions}`: "
            f"{len(local.store)} articles, {len(chunks)} chunks, {len(questions)} questions.",
            "",
            "| backend | Hit@5 | answer EM | answer F1 | search p50 / p95 ms | ask p50 / p95 ms |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in rows.items():
            lines.append(
                f"| {name} | {r['hit_at_5']} | {r['answer_em']} | {r['answer_f1']} | "
                f"{r['search_p50_ms']} / {r['search_p95_ms']} | {r['ask_p50_ms']} / {r['ask_p95_ms']} |"
            )
        lines += ["", f"Search p50, Milvus / local: {ratio:.2f}×. milvus-lite latencies are not a cluster's."]
        print("\n".join(lines))
        if args.out:
            args.out.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
            args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
