#!/usr/bin/env python
"""Load test of the HTTP API: ``ttqa api`` on an index, many concurrent ``POST /ask`` on loopback.

    .venv/bin/python benchmarks/api_load.py --index indexes/default --duration 20 \
        --concurrency 1 4 16 --out benchmarks/results/api_load.json

Starts ``ttqa api`` as a subprocess on a free 127.0.0.1 port, waits for ``/ready``, then for each
concurrency level runs that many asyncio/httpx clients in a closed loop for ``--duration`` seconds,
each sending the next question of the mix (``evals/seed.jsonl`` by default). Prints throughput
(completed requests per second) and p50/p95/p99 latency per level, and writes them as JSON.

Before the timed levels, every question is asked once (untimed; ``--no-prime`` skips it), so all
levels see the same warm sentence cache. Every timed request carries a distinct question string
(each round of the mix ends its questions with a different number of ``?``), so the server's
query-embedding cache never hits; its sentence cache does, as it would for real traffic over the
same articles. ``--repeat`` sends the questions as is.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from bench_common import load_questions, machine_info, percentile, write_json

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuestionMix:
    """The next question of the mix; distinct strings unless ``repeat``."""

    def __init__(self, questions: list[str], repeat: bool) -> None:
        self.questions = questions
        self.repeat = repeat
        self.counter = itertools.count()

    def next(self) -> str:
        n = next(self.counter)
        q = self.questions[n % len(self.questions)]
        if self.repeat:
            return q
        rounds = n // len(self.questions)  # 2+ marks: never the primed (original) string
        return q.rstrip("?") + "?" * (2 + rounds % 64)


async def run_level(
    base: str, mix: QuestionMix, clients: int, duration: float, k: int, *, once: int = 0
) -> dict[str, Any]:
    """``clients`` closed-loop clients for ``duration`` seconds (or ``once`` requests in all)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        t0 = time.perf_counter()
        deadline = t0 + duration

        budget = itertools.count()

        async def worker() -> None:
            while (next(budget) < once) if once else (time.perf_counter() < deadline):
                question = mix.next()
                start = time.perf_counter()
                try:
                    resp = await client.post("/ask", json={"question": question, "k": k})
                    ok = resp.status_code == 200
                    key = str(resp.status_code)
                except httpx.HTTPError as exc:
                    ok, key = False, type(exc).__name__
                elapsed = time.perf_counter() - start
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[key] = errors.get(key, 0) + 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    ms = [x * 1000 for x in latencies]
    return {
        "concurrency": clients,
        "requests": len(latencies),
        "errors": errors,
        "wall_s": round(wall, 3),
        "throughput_rps": round(len(latencies) / wall, 3) if wall > 0 else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
    }


def start_server(index: Path, port: int, log: Path, torch_threads: int) -> subprocess.Popen[bytes]:
    fh = log.open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            *("-m", "ttqa.interfaces.cli.main", "api"),
            *("--index", str(index), "--port", str(port), "--log-level", "warning"),
            *("--torch-threads", str(torch_threads)),
        ],
        stdout=fh,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"ttqa api exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return time.monotonic() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"ttqa api not ready after {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / "indexes/default")
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/seed.jsonl")
    ap.add_argument("--duration", type=float, default=20.0, help="Seconds per concurrency level.")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--repeat", action="store_true", help="Send the questions as is (query cache hits).")
    ap.add_argument("--torch-threads", type=int, default=0, help="ttqa api --torch-threads (0: its default).")
    ap.add_argument("--no-prime", action="store_true", help="Skip the untimed pass over the questions.")
    ap.add_argument("--out", type=Path, help="Write the results as JSON here.")
    ap.add_argument("--server-log", type=Path, default=Path("/tmp/ttqa-api-load.log"))
    args = ap.parse_args()

    if not (args.index / "CURRENT").is_file():
        raise SystemExit(f"no index in {args.index}: build it with `ttqa index --corpus corpus --index ...`")
    questions = load_questions([args.questions])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = start_server(args.index, port, args.server_log, args.torch_threads)
    try:
        ready_s = wait_ready(base, proc, timeout=600)
        info = httpx.get(f"{base}/info", timeout=10).json()
        print(f"ttqa api ready in {ready_s:.1f} s ({info['documents']} documents, {info['chunks']} chunks)")
        mix = QuestionMix(questions, args.repeat)
        prime_s = 0.0
        if not args.no_prime:
            # One untimed pass over the mix, so every level sees the same (warm) sentence cache.
            tp = time.monotonic()
            asyncio.run(run_level(base, QuestionMix(questions, True), 4, 0.0, args.k, once=len(questions)))
            prime_s = time.monotonic() - tp
            print(f"primed with {len(questions)} questions in {prime_s:.1f} s")
        results = []
        for clients in args.concurrency:
            level = asyncio.run(run_level(base, mix, clients, args.duration, args.k))
            results.append(level)
            print(
                f"{clients:>3} clients: {level['requests']:>5} requests in {level['wall_s']:.1f} s = "
                f"{level['throughput_rps']:.2f} req/s; p50 {level['p50_ms']:.0f} ms, "
                f"p95 {level['p95_ms']:.0f} ms, p99 {level['p99_ms']:.0f} ms; errors {level['errors'] or 0}"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    report = {
        "endpoint": "POST /ask",
        "index": {k: info.get(k) for k in ("index_dir", "version", "documents", "chunks", "embedder")},
        "ttqa_version": info.get("ttqa_version"),
        "questions": str(args.questions),
        "n_questions": len(questions),
        "distinct_questions": not args.repeat,
        "k": args.k,
        "duration_s": args.duration,
        "ready_s": round(ready_s, 2),
        "primed": not args.no_prime,
        "prime_s": round(prime_s, 2),
        "total_s": round(time.monotonic() - t0, 2),
        "machine": machine_info(),
        "torch_threads": args.torch_threads or os.environ.get("TTQA_TORCH_THREADS", "all cores"),
        "results": results,
    }
    if args.out:
        write_json(args.out, report)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
