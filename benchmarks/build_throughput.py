#!/usr/bin/env python
"""A whole index build against a raw ``SentenceTransformer.encode`` of the same chunks, one run.

    .venv/bin/python benchmarks/build_throughput.py [--corpus FILE] [--docs N]
        [--embedder e5-small-int8] [--out benchmarks/results/build-throughput-606]

Both run in their own process, one after the other, on the same chunks: every chunk of the
corpus (all 606 domain articles by default), as the builder embeds it (title + chunk, with the
``"passage: "`` prompt). The baseline is sentence-transformers as it comes (default encode
settings, batch 32); the build is ``build_index`` from the documents to a published index
(chunking, embedding with an empty embedding cache, FAISS, BM25, manifest). Both times start
with the model loaded. Printed and written (``<out>.json``, ``<out>.md``): the seconds of each,
chunks/s, and the ratio raw-encode seconds / build seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench_common import (
    ROOT,
    Row,
    machine_info,
    machine_line,
    markdown_table,
    print_table,
    run_worker,
    setup_env,
    write_json,
)

CORPUS_606 = ROOT.parent / "shared/data/news_vi/party_org_606.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=CORPUS_606)
    ap.add_argument("--docs", type=int, default=0, help="First N articles only (0: all).")
    ap.add_argument("--embedder", default="e5-small-int8")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/build-throughput-606")
    args = ap.parse_args()
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    setup_env()
    from ttqa.index.backend import passage_text
    from ttqa.ingest.chunking import Chunker
    from ttqa.ingest.loader import load_documents

    started = datetime.now(UTC).isoformat(timespec="seconds")
    machine = machine_info()
    docs = list(itertools.islice(load_documents([args.corpus]), args.docs or None))
    chunker = Chunker()
    texts = [passage_text(d, c.text) for d in docs for c in chunker.split(d)]
    print(f"{len(docs)} articles, {len(texts)} chunks", flush=True)
    with tempfile.TemporaryDirectory(prefix="ttqa-build-bench-") as tmp:
        texts_file = Path(tmp) / "chunks.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        print("raw SentenceTransformer.encode of every chunk ...", flush=True)
        raw = run_worker(["embed", "--backend", "st-raw", "--texts", str(texts_file)], timeout=4 * 3600)
        print(f"building the index with {args.embedder} ...", flush=True)
        out_dir = Path(tmp) / "index"
        build = run_worker(
            [
                *("build", "--corpus", str(args.corpus), "--docs", str(args.docs)),
                *("--embedder", args.embedder, "--out", str(out_dir)),
            ],
            timeout=4 * 3600,
        )
        shutil.rmtree(out_dir, ignore_errors=True)
    if build["chunks"] != len(texts):
        print(f"the build made {build['chunks']} chunks, the baseline encoded {len(texts)}", file=sys.stderr)
        return 1
    ratio = raw["seconds"] / build["build_s"]
    rows: list[Row] = [
        {
            "what": "SentenceTransformer.encode (baseline: embedding only)",
            "seconds": raw["seconds"],
            "chunks_per_s": raw["chunks_per_s"],
            "load_s": raw["load_s"],
            "maxrss_mb": raw["maxrss_mb"],
            "ratio": 1.0,
        },
        {
            "what": f"ttqa build_index, {args.embedder} (chunk, embed, FAISS, BM25, publish)",
            "seconds": build["build_s"],
            "chunks_per_s": build["chunks_per_s"],
            "load_s": build["model_load_s"],
            "maxrss_mb": build["maxrss_mb"],
            "ratio": round(ratio, 2),
        },
    ]
    columns = [
        ("what", "run"),
        ("seconds", "seconds"),
        ("chunks_per_s", "chunks/s"),
        ("ratio", "× baseline"),
        ("load_s", "model load s"),
        ("maxrss_mb", "peak RSS MB"),
    ]
    title = f"{len(docs):,} articles, {len(texts):,} chunks"
    print_table(title, columns, rows)
    result = {
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "corpus": str(args.corpus.name),
        "documents": len(docs),
        "chunks": len(texts),
        "embedder": args.embedder,
        "raw_encode": raw,
        "build": build,
        "ratio": round(ratio, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out.with_suffix(".json"), result)
    md = [
        f"# Index build against raw encode: {title}",
        "",
        f"Run {started} on {machine_line(machine)}.",
        "",
        "Command: `" + " ".join([".venv/bin/python benchmarks/build_throughput.py", *sys.argv[1:]]) + "`",
        "",
        markdown_table(columns, rows),
        "",
        f"The whole build took {build['build_s']:.0f} s; encoding the same chunks with "
        f"sentence-transformers alone took {raw['seconds']:.0f} s: **{ratio:.2f}×**.",
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(md), encoding="utf-8")
    print(f"ratio (raw encode s / build s): {ratio:.2f}; wrote {args.out}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
