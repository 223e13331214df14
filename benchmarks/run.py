#!/usr/bin/env python
"""Speed and scale benchmarks of ttqa: indexing, query latency, cold start, scale curve, ANN recall.

    .venv/bin/python benchmarks/run.py --quick                      # a few minutes
    .venv/bin/python benchmarks/run.py --out benchmarks/results \\
        --index-35k <dir of a 35,440-article index> --embedder e5-small-int8

Writes ``<out>/bench-<tag>.json`` (everything measured), ``<out>/bench-<tag>.md`` (the tables)
and ``<out>/scale-<tag>.png`` (the scale curve); ``<tag>`` is ``quick`` or ``full`` (``--tag``).

Sections (``--sections``, all by default):

* ``indexing``: passages/s embedding the same chunks of the 606-article corpus with raw
  ``SentenceTransformer.encode`` (``"passage: "`` prompt, default settings: the baseline) and with
  each ttqa backend, then a full index build (chunking, embedding, FAISS, BM25, manifest) with
  ``--embedder``; each measurement in its own process, with its peak memory (``ru_maxrss``). The
  35k-article build takes hours on a laptop-class CPU: it is only run with ``--build-35k`` (never
  with ``--quick``); otherwise it is reported from ``--index-35k``'s manifest and ``--log-35k``.
* ``latency``: ``qa.search`` (k=10) and ``qa.ask`` (hybrid) at 5 articles, 606 articles, 35,440
  articles (``--index-35k``, skipped with a note when missing or incomplete) and a synthetic
  index of ``--synthetic-n`` chunks; one caller, then ``--threads`` concurrent callers (threads).
  Cold: each phase starts with an empty query-vector memo and an empty sentence cache, and
  every call gets a question string not asked before (seed + domain eval questions).
* ``coldstart``: a new process, from its start to the first answer of ``qa.ask`` on a built index.
* ``scale``: index size on disk, memory, build time and retrieval time against the number of
  chunks, on synthetic indexes grown from the 606-article one (see ``bench_synthetic.py``);
  plotted to the PNG. Built indexes are kept in ``--work`` and reused by later runs.
* ``recall``: recall@10 (and @100) of the HNSW index against exact search, on random vectors,
  on the real e5 vectors with the real questions, and at every scale size that uses HNSW.

Numbers depend on the machine and on what else runs on it: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import (
    ROOT,
    QuestionStream,
    Row,
    index_status,
    latency_summary,
    load_questions,
    machine_info,
    machine_line,
    markdown_table,
    parse_build_log,
    print_table,
    run_worker,
    setup_env,
)

from ttqa.answering.answerer import Answerer
from ttqa.embedding.base import Embedder
from ttqa.embedding.factory import make_embedder
from ttqa.index.backend import passage_text
from ttqa.index.local.backend import LocalBackend
from ttqa.index.local.dense import (
    DEFAULT_EXACT_MAX,
    FaissDenseIndex,
    HnswParams,
    default_exact_max,
    recall_at_k,
)
from ttqa.ingest.chunking import Chunker
from ttqa.ingest.loader import load_documents
from ttqa.qa import QA
from ttqa.reading.sentences import sentence_spans
from ttqa.retrieval.retriever import Retriever

SHARED = ROOT.parent / "shared/data/news_vi"
CORPUS_606 = SHARED / "party_org_606.jsonl"
CORPUS_35K = SHARED / "news_35k.jsonl.gz"
SEED_INDEXES = (ROOT / "indexes/default", Path("/tmp/int8/default"))
NEWS_INDEXES = (ROOT / "indexes/news", Path("/tmp/int8/news"))
"""Where the seed and 606-article indexes are looked for: the first built with ``--embedder``."""
BACKENDS = ["st-raw", "e5-small", "e5-small-onnx", "e5-small-int8"]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: dict[str, Any] = {
            "tag": args.tag,
            "quick": args.quick,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "settings": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "sections"
            },
            "dense_defaults": {
                "exact_max": default_exact_max(),
                "hnsw": {"M": HnswParams().m, "efConstruction": HnswParams().ef_construction},
            },
            "notes": [],
        }
        self.tables: list[tuple[str, str]] = []
        self.embedders: dict[str, Embedder] = {}
        self.questions = QuestionStream(load_questions())
        self.log = args.work / f"workers-{args.tag}.log"
        self.built: set[Path] = set()
        """Synthetic index folders built by this run."""

    # ------------------------------------------------------------------ helpers
    def note(self, text: str) -> None:
        if text not in self.out["notes"]:
            print(f"note: {text}")
            self.out["notes"].append(text)

    def table(self, title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> None:
        print_table(title, columns, rows)
        self.tables.append((title, markdown_table(columns, rows)))

    def embedder(self, name: str) -> Embedder:
        if name not in self.embedders:
            self.embedders[name] = make_embedder(name)
        return self.embedders[name]

    def index_paths(self) -> tuple[Path | None, Path | None]:
        def pick(candidates: Sequence[Path]) -> Path | None:
            for path in candidates:
                ok, _, info = index_status(path)
                if ok and info.get("embedder") == self.args.embedder:
                    return path
            return None

        return self.args.index_seed or pick(SEED_INDEXES), self.args.index_606 or pick(NEWS_INDEXES)

    def index_35k(self) -> tuple[Path | None, Row]:
        ok, reason, info = index_status(self.args.index_35k, min_docs=self.args.min_docs_35k)
        if not ok:
            self.note(f"35,440-article index skipped: {reason}")
            return None, info
        return self.args.index_35k, info

    def save(self) -> None:
        out: Path = self.args.out
        out.mkdir(parents=True, exist_ok=True)
        self.out["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        path = out / f"bench-{self.args.tag}.json"
        path.write_text(json.dumps(self.out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        lines = [
            f"# ttqa benchmarks ({self.args.tag})",
            "",
            f"Run {self.out['started']} – {self.out['finished']} on {machine_line(self.out['machine'])} "
            "(load average at start "
            f"{self.out['machine']['loadavg_at_start']}, at end {self.out['machine']['loadavg_at_end']}). "
            "The CPUs were shared with other work: treat differences under ~20% as noise.",
            "",
            "Command: `.venv/bin/python benchmarks/run.py " + " ".join(self.args.argv) + "`",
            "",
        ]
        for title, md in self.tables:
            lines += [f"## {title}", "", md, ""]
        if self.out["notes"]:
            lines += ["## Notes", "", *(f"- {n}" for n in self.out["notes"]), ""]
        (out / f"bench-{self.args.tag}.md").write_text("\n".join(lines), encoding="utf-8")
        print(f"wrote {path} and {out / f'bench-{self.args.tag}.md'}")

    # ------------------------------------------------------------------ indexing
    def indexing(self) -> None:
        args = self.args
        docs = list(load_documents([args.corpus_606]))
        chunker = Chunker()
        texts = [passage_text(d, c.text) for d in docs for c in chunker.split(d)]
        n = min(args.embed_chunks or len(texts), len(texts))
        stride = len(texts) / n
        subset = [texts[int(i * stride)] for i in range(n)]  # spread over the corpus (all lengths)
        args.work.mkdir(parents=True, exist_ok=True)
        texts_file = args.work / f"chunks-{n}.json"
        texts_file.write_text(json.dumps(subset, ensure_ascii=False), encoding="utf-8")
        rows: list[Row] = []
        for backend in args.backends:
            print(f"embedding {n} chunks with {backend} ...", flush=True)
            try:
                rows.append(
                    run_worker(["embed", "--backend", backend, "--texts", str(texts_file)], log=self.log)
                )
            except RuntimeError as exc:
                self.note(f"backend {backend} failed: {exc}")
        base = next((r["chunks_per_s"] for r in rows if r["backend"] == "st-raw"), None)
        for r in rows:
            r["speedup"] = round(r["chunks_per_s"] / base, 2) if base else None
            r["what"] = (
                "SentenceTransformer.encode (baseline)" if r["backend"] == "st-raw" else "ttqa embedder"
            )
        self.out["embedding"] = {"chunks": n, "of": len(texts), "rows": rows}
        self.table(
            f"Embedding throughput: {n} chunks of the 606-article corpus (batch 32)",
            [
                ("backend", "backend"),
                ("what", "what"),
                ("chunks_per_s", "chunks/s"),
                ("speedup", "× baseline"),
                ("seconds", "time s"),
                ("load_s", "model load s"),
                ("maxrss_mb", "peak RSS MB"),
            ],
            rows,
        )

        build_rows: list[Row] = []
        out_dir = args.work / f"build-606-{args.embedder}"
        shutil.rmtree(out_dir, ignore_errors=True)  # fresh: no embedding cache
        label = "606 articles" if not args.build_docs else f"first {args.build_docs} of 606 articles"
        print(f"building an index of {label} with {args.embedder} ...", flush=True)
        row = run_worker(
            [
                "build",
                *("--corpus", str(args.corpus_606), "--docs", str(args.build_docs)),
                *("--embedder", args.embedder, "--out", str(out_dir)),
            ],
            log=self.log,
        )
        row["corpus"] = label
        build_rows.append(row)
        shutil.rmtree(out_dir, ignore_errors=True)

        if args.build_35k and not args.quick:
            if args.index_35k is None or args.index_35k.exists():
                self.note("--build-35k needs --index-35k naming a folder that does not exist yet; not built")
            else:
                print("building the 35,440-article index (hours) ...", flush=True)
                row = run_worker(
                    [
                        "build",
                        *("--corpus", str(args.corpus_35k), "--docs", "0"),
                        *("--embedder", args.embedder, "--out", str(args.index_35k)),
                    ],
                    timeout=24 * 3600,
                    log=self.log,
                )
                row["corpus"] = "35,440 articles (built in this run)"
                build_rows.append(row)
        else:
            ok, reason, info = index_status(args.index_35k, min_docs=args.min_docs_35k)
            log_info = parse_build_log(args.log_35k) if args.log_35k and args.log_35k.is_file() else {}
            self.out["build_35k"] = {"index": info, "index_status": reason, "log": log_info}
            if ok or log_info:
                progress = (
                    f"; log: {log_info['done']:,}/{log_info['total']:,} chunks embedded"
                    if log_info.get("total") and not log_info.get("finished")
                    else ""
                )
                build_rows.append(
                    {
                        "corpus": f"35,440 articles (from manifest/log, not run here{progress})",
                        "embedder": info.get("embedder"),
                        "documents": info.get("documents") if ok else None,
                        "chunks": info.get("chunks") if ok else log_info.get("total"),
                        "embed_s": log_info.get("elapsed_s"),
                        "embed_chunks_per_s": log_info.get("rate_per_s"),
                    }
                )
            if not ok:
                self.note(
                    f"35k build not run (takes hours; use --build-35k) and its index is not usable: {reason}"
                    + (
                        f"; its log shows {log_info.get('done')}/{log_info.get('total')} chunks embedded "
                        f"at {log_info.get('rate_per_s')} chunks/s"
                        if log_info.get("total")
                        else ""
                    )
                )
        self.out["index_build"] = build_rows
        self.table(
            "Index build (chunk + embed + FAISS + BM25 + manifest, empty embedding cache)",
            [
                ("corpus", "corpus"),
                ("embedder", "embedder"),
                ("documents", "articles"),
                ("chunks", "chunks"),
                ("build_s", "total s"),
                ("chunks_per_s", "chunks/s (total)"),
                ("embed_s", "embedding s"),
                ("embed_chunks_per_s", "chunks/s (embedding)"),
                ("model_load_s", "model load s"),
                ("maxrss_mb", "peak RSS MB"),
            ],
            build_rows,
        )

    # ------------------------------------------------------------------ latency
    def latency(self) -> None:
        args = self.args
        seed, news = self.index_paths()
        targets: list[tuple[str, Callable[[], QA] | None, str]] = []
        for label, path in (("5 articles (seed)", seed), ("606 articles", news)):
            ok, reason, _ = index_status(path)
            if ok and path is not None:
                targets.append((label, self._loader(path), str(path)))
            elif path is None:
                self.note(f"{label} skipped: no index built with {args.embedder} found (see --help)")
            else:
                self.note(f"{label} skipped: {reason}")
        path35, _ = self.index_35k()
        if path35 is not None:
            targets.append(("35,440 articles", self._loader(path35), str(path35)))
        grow_from = args.synthetic_base or news
        if args.synthetic_n and grow_from is not None and index_status(grow_from)[0]:
            n = args.synthetic_n
            label = f"{n:,} chunks (synthetic, {args.synthetic_kind})"
            targets.append((label, self._synthetic_loader(grow_from, n), "synthetic"))
        rows: list[Row] = []
        for label, load, where in targets:
            assert load is not None
            print(f"latency at {label} ...", flush=True)
            qa = load()
            dense = getattr(qa.store, "dense", None)
            info = {
                "size": label,
                "index": where,
                "chunks": qa.manifest.n_chunks,
                "embedder": qa.manifest.embedder,
                "dense": getattr(dense, "kind", "?"),
                "ef_search": getattr(dense, "ef_search", None),
            }
            qa.ask(self.questions.take(1)[0])  # loads the models; not timed
            for op in ("search", "ask"):
                for threads in (1, args.threads):
                    fresh, answerer = _fresh(qa)
                    clear = getattr(fresh.embedder, "clear_cache", None)
                    if clear is not None:
                        clear()  # forget memoised query vectors
                    qs = self.questions.take(args.latency_n)
                    call: Callable[[str], object] = fresh.search if op == "search" else answerer.ask
                    stats = _measure(call, qs, threads)
                    rows.append({**info, "op": f"qa.{op}", "threads": threads, **stats})
                    print(
                        f"  qa.{op} x{threads}: p50 {stats['p50_ms']:.0f} ms, p95 {stats['p95_ms']:.0f} ms, "
                        f"{stats['qps']:.2f} q/s",
                        flush=True,
                    )
            del qa
            gc.collect()
        self.out["latency"] = rows
        self.table(
            "Query latency (hybrid, cold: distinct questions, empty caches at the start of each row)",
            [
                ("size", "index"),
                ("chunks", "chunks"),
                ("dense", "dense"),
                ("op", "call"),
                ("threads", "callers"),
                ("n", "n"),
                ("p50_ms", "p50 ms"),
                ("p95_ms", "p95 ms"),
                ("p99_ms", "p99 ms"),
                ("qps", "queries/s"),
            ],
            rows,
        )

    def _loader(self, path: Path) -> Callable[[], QA]:
        def load() -> QA:
            version = (path / (path / "CURRENT").read_text().strip()) / "manifest.json"
            name = json.loads(version.read_text(encoding="utf-8"))["embedder"]
            return QA.load(path, embedder=self.embedder(name))

        return load

    def _synthetic_loader(self, news: Path, n: int) -> Callable[[], QA]:
        def load() -> QA:
            from bench_synthetic import kind_note, load_base, synthetic_dir, synthetic_qa

            base = load_base(news)
            folder = synthetic_dir(self.args.work, base, n, self.args.exact_max)
            self._ensure_synthetic(news, n, folder)
            self.note(
                f"{n:,}-chunk index is synthetic, grown from the {base.n_real:,} real chunks of {news}: "
                + kind_note()
            )
            return synthetic_qa(base, n, folder, self.embedder(base.manifest.embedder))

        return load

    def _ensure_synthetic(self, news: Path, n: int, folder: Path) -> Row:
        from bench_synthetic import cached_build, load_base

        fresh = self.args.rebuild_synthetic and folder not in self.built
        cached = None if fresh else cached_build(folder, load_base(news))
        if cached is not None:
            return {**cached, "cached": folder not in self.built}
        print(f"  building the synthetic {n:,}-chunk index ...", flush=True)
        row = run_worker(
            [
                "scale-build",
                *("--base", str(news), "--n", str(n)),
                *("--work", str(self.args.work), "--exact-max", str(self.args.exact_max)),
            ],
            timeout=3 * 3600,
            log=self.log,
        )
        self.built.add(folder)
        return {**row, "cached": False}

    # ------------------------------------------------------------------ cold start
    def coldstart(self) -> None:
        seed, news = self.index_paths()
        path35, _ = self.index_35k()
        question = "Hội nghị được tổ chức vào ngày nào?"
        rows: list[Row] = []
        for label, path in (("5 articles (seed)", seed), ("606 articles", news), ("35,440 articles", path35)):
            if path is None or not index_status(path)[0]:
                continue
            runs = []
            for _ in range(self.args.coldstart_repeats):
                print(f"cold start at {label} ...", flush=True)
                runs.append(
                    run_worker(["coldstart", "--index", str(path), "--question", question], log=self.log)
                )
            best = sorted(runs, key=lambda r: float(r["first_result_s"]))[len(runs) // 2]  # median
            rows.append({"size": label, "runs": len(runs), **best})
        self.out["coldstart"] = rows
        self.table(
            "Cold start: new process to first answer (median of runs; OS file cache warm)",
            [
                ("size", "index"),
                ("embedder", "embedder"),
                ("runs", "runs"),
                ("first_result_s", "to first answer s"),
                ("after_import_s", "import ttqa s"),
                ("after_load_s", "QA.load done s"),
                ("after_first_answer_s", "ask done s"),
                ("maxrss_mb", "peak RSS MB"),
            ],
            rows,
        )

    # ------------------------------------------------------------------ scale
    def scale(self) -> None:
        from bench_synthetic import load_base, synthetic_dir

        _, news = self.index_paths()
        if news is None or not index_status(news)[0]:
            self.note("scale curve skipped: no 606-article index to grow the synthetic ones from")
            return
        base = load_base(news)
        qfile, vfile = self._question_vectors(base.manifest.embedder)
        rows: list[Row] = []
        for n in self.args.scale_sizes:
            folder = synthetic_dir(self.args.work, base, n, self.args.exact_max)
            print(f"scale point {n:,} chunks ...", flush=True)
            built = self._ensure_synthetic(news, n, folder)
            query = run_worker(
                [
                    "scale-query",
                    "--folder",
                    str(folder),
                    "--n",
                    str(n),
                    "--qvecs",
                    str(vfile),
                    "--questions",
                    str(qfile),
                ],
                log=self.log,
            )
            row: Row = {
                "n": n,
                "kind": built["kind"],
                "ef_search": built["ef_search"],
                "cached": built["cached"],
                "dense_build_s": built["dense_build_s"],
                "bm25_build_s": built["bm25_build_s"],
                "build_s": round(built["dense_build_s"] + built["bm25_build_s"], 2),
                "dense_mb": built["dense_mb"],
                "bm25_mb": built["bm25_mb"],
                "disk_mb": round(built["dense_mb"] + built["bm25_mb"], 2),
                "build_rss_mb": built.get("maxrss_mb"),
                "load_s": query["load_s"],
                "ram_mb": round(query["rss_after_queries_mb"] - query["rss_before_load_mb"], 1),
                "query_rss_mb": query["maxrss_mb"],
                "dense_p50_ms": query["dense_k100"]["p50_ms"],
                "dense_p95_ms": query["dense_k100"]["p95_ms"],
                "bm25_p50_ms": query["bm25_k100"]["p50_ms"],
                "bm25_p95_ms": query["bm25_k100"]["p95_ms"],
                "recall": query.get("recall"),
                "calibration": built.get("calibration"),
            }
            rows.append(row)
        self.out["scale"] = {"synthetic": "see bench_synthetic.py", "rows": rows}
        if any(r["cached"] for r in rows):
            self.note(
                "scale rows marked cached=yes reuse indexes (and build times) from an earlier run in --work"
            )
        for r in rows:
            r["cached"] = "yes" if r["cached"] else "no"
        self.table(
            "Scale curve (synthetic; retrieval only: k=100 dense and BM25, question vectors precomputed)",
            [
                ("n", "chunks"),
                ("kind", "dense"),
                ("ef_search", "efSearch"),
                ("dense_build_s", "dense build s"),
                ("bm25_build_s", "BM25 build s"),
                ("disk_mb", "disk MB"),
                ("ram_mb", "RAM MB (loaded+queried)"),
                ("build_rss_mb", "build peak RSS MB"),
                ("load_s", "load s"),
                ("dense_p50_ms", "dense p50 ms"),
                ("dense_p95_ms", "dense p95 ms"),
                ("bm25_p50_ms", "BM25 p50 ms"),
                ("bm25_p95_ms", "BM25 p95 ms"),
                ("cached", "cached"),
            ],
            rows,
        )
        self._plot(rows)

    def _question_vectors(self, embedder_name: str) -> tuple[Path, Path]:
        qfile = self.args.work / "questions.json"
        vfile = self.args.work / f"questions-{embedder_name}.npy"
        questions = load_questions()
        if not vfile.is_file() or not qfile.is_file() or json.loads(qfile.read_text()) != questions:
            print(f"embedding {len(questions)} questions with {embedder_name} ...", flush=True)
            self.args.work.mkdir(parents=True, exist_ok=True)
            qfile.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
            np.save(vfile, self.embedder(embedder_name).embed_queries(questions))
        return qfile, vfile

    def _plot(self, rows: list[Row]) -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            self.note("matplotlib not installed: no scale plot")
            return
        n = [r["n"] for r in rows]
        fig, axes = plt.subplots(2, 2, figsize=(11, 8))
        panels: list[tuple[Any, str, list[tuple[str, str]]]] = [
            (axes[0][0], "build time (s)", [("dense_build_s", "dense"), ("bm25_build_s", "BM25")]),
            (
                axes[0][1],
                "size (MB)",
                [("dense_mb", "dense on disk"), ("bm25_mb", "BM25 on disk"), ("ram_mb", "RAM loaded")],
            ),
            (axes[1][0], "query p50 (ms), k=100", [("dense_p50_ms", "dense"), ("bm25_p50_ms", "BM25")]),
            (axes[1][1], "query p95 (ms), k=100", [("dense_p95_ms", "dense"), ("bm25_p95_ms", "BM25")]),
        ]
        for ax, title, series in panels:
            for key, label in series:
                ax.plot(n, [max(float(r[key]), 1e-3) for r in rows], marker="o", label=label)
            for r in rows:
                if r["kind"] == "hnsw":
                    ax.axvline(r["n"], color="grey", lw=0.5, ls=":")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("chunks")
            ax.set_title(title)
            ax.grid(True, which="both", lw=0.3)
            ax.legend()
        fig.suptitle(
            f"ttqa scale curve ({self.args.tag}; synthetic beyond the 606-article corpus; "
            f"HNSW above {self.args.exact_max:,} chunks, dotted)"
        )
        fig.tight_layout()
        path = self.args.out / f"scale-{self.args.tag}.png"
        self.args.out.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        self.out["scale"]["plot"] = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        print(f"wrote {path}")

    # ------------------------------------------------------------------ recall
    def recall(self) -> None:
        from bench_synthetic import load_base

        rows: list[Row] = []
        rng = np.random.default_rng(0)
        n = self.args.recall_random_n
        data = rng.standard_normal((n, 384), dtype=np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        queries = rng.standard_normal((200, 384), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        rows.append(self._recall_row(f"{n:,} random unit vectors (dim 384)", data, queries, "200 random"))
        del data
        _, news = self.index_paths()
        if news is not None and index_status(news)[0]:
            base = load_base(news)
            _, vfile = self._question_vectors(base.manifest.embedder)
            rows.append(
                self._recall_row(
                    f"606-article corpus, {base.n_real:,} real e5 vectors",
                    base.vectors,
                    np.load(vfile),
                    "287 eval questions",
                )
            )
        path35, _ = self.index_35k()
        if path35 is not None and not self.args.quick:
            base35 = load_base(path35)
            _, vfile = self._question_vectors(base35.manifest.embedder)
            published = FaissDenseIndex.load(path35 / base35.version)
            rows.append(
                self._recall_row(
                    f"35k-article corpus, {base35.n_real:,} real e5 vectors"
                    + (" (the published index)" if published.kind == "hnsw" else ""),
                    base35.vectors,
                    np.load(vfile),
                    "287 eval questions",
                    index=published if published.kind == "hnsw" else None,
                )
            )
        for r in self.out.get("scale", {}).get("rows", []):
            if r["kind"] == "hnsw" and r.get("recall"):
                rows.append(
                    {
                        "data": f"scale curve: {r['n']:,} chunks (synthetic)",
                        "queries": "287 eval questions / 287 random",
                        "ef_search": r["ef_search"],
                        "build_s": r["dense_build_s"],
                        "recall10": r["recall"]["questions@10"],
                        "recall100": r["recall"]["questions@100"],
                        "recall10_random": r["recall"]["random@10"],
                        "hnsw_p50_ms": r["dense_p50_ms"],
                    }
                )
        self.out["recall"] = rows
        self.table(
            "HNSW recall against exact search (M=32, efConstruction=80, efSearch calibrated at build)",
            [
                ("data", "vectors"),
                ("queries", "queries"),
                ("ef_search", "efSearch"),
                ("build_s", "HNSW build s"),
                ("recall10", "recall@10"),
                ("recall100", "recall@100"),
                ("recall10_random", "recall@10 random queries"),
                ("recall10_filtered", "recall@10 filtered (10% of rows)"),
                ("hnsw_p50_ms", "HNSW p50 ms (k=100)"),
                ("exact_p50_ms", "exact p50 ms (k=100)"),
            ],
            rows,
        )

    def _recall_row(
        self,
        label: str,
        data: np.ndarray[Any, Any],
        queries: np.ndarray[Any, Any],
        qlabel: str,
        index: FaissDenseIndex | None = None,
    ) -> Row:
        """Recall of an HNSW index against exact search: ``index`` (a published one) or one
        built here over ``data``."""
        build_s: float | None = None
        if index is None:
            print(f"recall: HNSW over {label} ...", flush=True)
            t = time.perf_counter()
            # A low threshold forces HNSW; filters leaving fewer rows than it are answered exactly.
            index = FaissDenseIndex.build(data, exact_max=max(1, min(1_000, len(data) // 20)))
            build_s = round(time.perf_counter() - t, 2)
        else:
            print(f"recall: the published HNSW index of {label} ...", flush=True)
        row: Row = {
            "data": label,
            "queries": qlabel,
            "ef_search": index.ef_search,
            "build_s": build_s,
        }
        for k in (10, 100):
            _, approx = index.search(queries, k)
            _, exact = index.search_exact(queries, k)
            row[f"recall{k}"] = round(recall_at_k(approx, exact), 4)
        rng = np.random.default_rng(1)
        rand = rng.standard_normal(queries.shape, dtype=np.float32)
        rand /= np.linalg.norm(rand, axis=1, keepdims=True)
        row["recall10_random"] = round(
            recall_at_k(index.search(rand, 10)[1], index.search_exact(rand, 10)[1]), 4
        )
        allowed = rng.random(len(data)) < 0.1
        if allowed.sum() > index.exact_max:  # else the filtered search is exact by design
            _, approx = index.search(queries, 10, allowed=allowed)
            _, exact = index.search_exact(queries, 10, allowed=allowed)
            row["recall10_filtered"] = round(recall_at_k(approx, exact), 4)
        for name, method in (("hnsw", index.search), ("exact", index.search_exact)):
            times = []
            for q in queries[:100]:
                t = time.perf_counter()
                method(q[None, :], 100)
                times.append(time.perf_counter() - t)
            row[f"{name}_p50_ms"] = latency_summary(times)["p50_ms"]
        row["calibration"] = index.calibration
        return row


def _fresh(qa: QA) -> tuple[QA, Answerer]:
    """The same index and loaded models with empty caches: a new backend, retriever and answerer
    (over the reader already loaded), and an empty sentence cache."""
    r, b = qa.retriever, qa.store
    assert isinstance(b, LocalBackend)
    backend = LocalBackend(b.store, b.dense, b.bm25, b.fusion)
    retriever = Retriever(backend, r.embedder, r.fusion)
    sentence_spans.cache_clear()
    answerer = Answerer(backend, retriever, qa.answerer.reader, qa.answerer.calibration)
    return QA(qa.index_dir, qa.manifest, backend, retriever), answerer


def _measure(call: Callable[[str], object], questions: Sequence[str], threads: int) -> Row:
    def timed(q: str) -> float:
        t = time.perf_counter()
        call(q)
        return time.perf_counter() - t

    t0 = time.perf_counter()
    if threads == 1:
        latencies = [timed(q) for q in questions]
    else:
        with ThreadPoolExecutor(threads) as pool:
            latencies = list(pool.map(timed, questions))
    wall = time.perf_counter() - t0
    return {**latency_summary(latencies), "wall_s": round(wall, 2), "qps": round(len(questions) / wall, 2)}


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="Small subsets: finishes in a few minutes.")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    ap.add_argument("--tag", help="Name of the result files (default: quick or full).")
    ap.add_argument(
        "--sections",
        nargs="+",
        default=["indexing", "coldstart", "scale", "recall", "latency"],
        choices=["indexing", "coldstart", "scale", "recall", "latency"],
    )
    ap.add_argument("--embedder", default="e5-small-int8", help="Embedder of the builds and default indexes.")
    ap.add_argument(
        "--index-seed",
        type=Path,
        help="Index of the 5 seed articles (default: indexes/default or "
        "/tmp/int8/default, whichever was built with --embedder).",
    )
    ap.add_argument(
        "--index-606",
        type=Path,
        help="Index of the 606 articles (default: indexes/news or "
        "/tmp/int8/news, whichever was built with --embedder).",
    )
    ap.add_argument("--index-35k", type=Path, help="A built index of the 35,440 articles (used if complete).")
    ap.add_argument("--min-docs-35k", type=int, default=30_000, help="Fewer documents: incomplete, skipped.")
    ap.add_argument("--log-35k", type=Path, help="Log of the 35k build, to report its progress and rate.")
    ap.add_argument("--build-35k", action="store_true", help="Build the 35k index into --index-35k (hours).")
    ap.add_argument("--corpus-606", type=Path, default=CORPUS_606)
    ap.add_argument("--corpus-35k", type=Path, default=CORPUS_35K)
    ap.add_argument("--backends", nargs="+", default=BACKENDS)
    ap.add_argument(
        "--embed-chunks", type=int, help="Chunks per embedding backend (quick 64, else 512; 0: all)."
    )
    ap.add_argument("--build-docs", type=int, help="Articles in the timed build (quick 8, else 0 = all 606).")
    ap.add_argument("--latency-n", type=int, help="Questions per latency row (quick 8, else 30).")
    ap.add_argument("--threads", type=int, default=4, help="Concurrent callers.")
    ap.add_argument(
        "--synthetic-n", type=int, help="Chunks of the synthetic latency index (quick 100k, else 1M)."
    )
    ap.add_argument(
        "--synthetic-kind",
        choices=["random", "jitter"],
        default="random",
        help="Dense rows beyond the real ones: random unit vectors, or real ones plus noise.",
    )
    ap.add_argument(
        "--synthetic-base",
        type=Path,
        help="Index the synthetic latency index grows from (default: the 606-article index).",
    )
    ap.add_argument(
        "--scale-sizes", type=int, nargs="+", help="Scale-curve sizes (quick 1k..100k, else 1k..1M)."
    )
    ap.add_argument(
        "--recall-random-n", type=int, help="Random vectors for the recall check (quick 20k, else 100k)."
    )
    ap.add_argument(
        "--exact-max", type=int, default=default_exact_max(), help="Exact search up to this many chunks."
    )
    ap.add_argument("--coldstart-repeats", type=int, help="Cold starts per index (quick 1, else 3).")
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/ttqa-bench"), help="Scratch space (synthetic indexes)."
    )
    ap.add_argument(
        "--rebuild-synthetic", action="store_true", help="Do not reuse synthetic indexes in --work."
    )
    args = ap.parse_args(argv)
    setup_env()
    q = args.quick
    args.argv = argv
    args.tag = args.tag or ("quick" if q else "full")
    args.embed_chunks = args.embed_chunks if args.embed_chunks is not None else (64 if q else 512)
    args.build_docs = args.build_docs if args.build_docs is not None else (8 if q else 0)
    args.latency_n = args.latency_n or (8 if q else 30)
    args.synthetic_n = args.synthetic_n if args.synthetic_n is not None else (100_000 if q else 1_000_000)
    args.scale_sizes = args.scale_sizes or (
        [1_000, 5_000, 20_000, 100_000] if q else [1_000, 5_000, 20_000, 100_000, 1_000_000]
    )
    args.recall_random_n = args.recall_random_n or (20_000 if q else 100_000)
    args.coldstart_repeats = args.coldstart_repeats or (1 if q else 3)
    if args.exact_max != DEFAULT_EXACT_MAX:
        os.environ["TTQA_DENSE_EXACT_MAX"] = str(args.exact_max)  # the workers' builds too
    os.environ["TTQA_BENCH_SYNTHETIC"] = args.synthetic_kind  # the workers' builds too
    args.work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    t0 = time.perf_counter()
    order = ["indexing", "coldstart", "scale", "recall", "latency"]
    try:
        for section in order:
            if section in args.sections:
                ts = time.perf_counter()
                getattr(bench, section)()
                bench.out.setdefault("section_seconds", {})[section] = round(time.perf_counter() - ts, 1)
                bench.save()  # partial results survive a later failure
    finally:
        bench.out["total_seconds"] = round(time.perf_counter() - t0, 1)
        bench.save()
    secs = bench.out.get("section_seconds", {})
    print("section times: " + ", ".join(f"{k} {v:.0f} s" for k, v in secs.items()))
    print(f"total {sum(secs.values()):.0f} s")


if __name__ == "__main__":
    main()
