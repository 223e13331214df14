#!/usr/bin/env python
"""Bounded load and soak of both servers on loopback: ``ttqa api`` (HTTP API) and ``ttqa serve`` (Gradio).

    # 16 and 64 closed-loop clients, 60 s each, against both servers
    .venv/bin/python benchmarks/load_soak.py --index indexes/default
    # shorter, one target, JSON report
    .venv/bin/python benchmarks/load_soak.py --target api --duration 20 --out /tmp/load.json
    # soak: 600 s of mixed traffic (good, unanswerable, unaccented and bad questions; /ask and
    # /search), memory at start and end and its slope
    .venv/bin/python benchmarks/load_soak.py --soak 600 --soak-concurrency 16
    # two `ttqa api --backend milvus` replicas on one Milvus server (TTQA_MILVUS_URI, ...) behind a
    # round-robin balancer; one replica is SIGKILLed half-way and the other keeps answering
    .venv/bin/python benchmarks/load_soak.py --replicas 2 --duration 60 --concurrency 8

Each target is started as a subprocess on a free 127.0.0.1 port and primed (every question asked
once, untimed). For each concurrency level, that many asyncio/httpx clients send requests in a
closed loop for ``--duration`` seconds; requests still in flight at the deadline may finish within
``--grace`` seconds (then they are cancelled and counted as ``unfinished``). Reported per level:
completed requests, errors by kind, throughput (completed / wall seconds), p50/p95/p99/max latency,
and the server's RSS (start, end, max) sampled every ``--sample-every`` seconds (psutil when
installed, else ``/proc/PID/status``; children included).

The API is called with ``POST /ask`` (and ``POST /search`` in the soak); the Gradio chat through
its HTTP queue API (``POST /gradio_api/call/ask`` then the ``GET .../{event_id}`` event stream),
which is what ``gradio_client`` does. The chat answers one question at a time (its queue's
concurrency limit is 1), so its latency grows with the number of clients while the API runs
requests in parallel. ``$TTQA_API_KEY``, when set, is passed to the API server and sent by the
clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import QuestionMix, free_port
from bench_common import load_questions, machine_info, percentile, write_json

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("api", "gradio")

# Soak traffic besides the question mix: inputs that must be refused (a 422 or an error event is
# the right answer, counted as "refused", not as an error), hostile ones that must be answered
# (an abstention), and /search calls (API only).
REFUSED_QUESTIONS = ("", "   ", "x" * 1001, "\x00\x01")
HOSTILE_QUESTIONS = ("<script>alert(1)</script>", "😀🤔", "'; DROP TABLE x;--", "\x1b[31m\u202eai?")


# ---------------------------------------------------------------------------- memory
def _proc_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _proc_children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            kids.append(int(entry))
    return kids


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` and its descendants (``None`` when the process is gone)."""
    try:
        import psutil
    except ImportError:
        total = _proc_rss(pid)
        if total is None:
            return None
        stack = _proc_children(pid)
        while stack:
            child = stack.pop()
            total += _proc_rss(child) or 0
            stack.extend(_proc_children(child))
        return total
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(int(p.memory_info().rss) for p in procs if p.is_running())
    except psutil.Error:
        return None


class MemorySampler:
    """Samples the server's RSS every ``every`` seconds in a thread: ``(seconds, bytes)``."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid = pid
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> int | None:
        value = rss_bytes(self.pid)
        if value is not None:
            self.samples.append((time.monotonic() - self._t0, value))
        return value

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def window(self, start: float, end: float) -> list[tuple[float, int]]:
        return [(t, v) for t, v in self.samples if start <= t <= end]

    def now(self) -> float:
        return time.monotonic() - self._t0


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of RSS over time, in MiB per minute."""
    if len(samples) < 3:
        return None
    ts = [t for t, _ in samples]
    mb = [v / 2**20 for _, v in samples]
    mt, mv = statistics.fmean(ts), statistics.fmean(mb)
    den = sum((t - mt) ** 2 for t in ts)
    if den == 0:
        return None
    return 60 * sum((t - mt) * (v - mv) for t, v in zip(ts, mb, strict=True)) / den


def memory_report(samples: list[tuple[float, int]]) -> dict[str, Any]:
    if not samples:
        return {"samples": 0}
    values = [v for _, v in samples]
    half = samples[len(samples) // 2 :]
    return {
        "samples": len(samples),
        "start_mb": round(values[0] / 2**20, 1),
        "end_mb": round(values[-1] / 2**20, 1),
        "max_mb": round(max(values) / 2**20, 1),
        "slope_mb_per_min": _round(slope_mb_per_min(samples)),
        "second_half_slope_mb_per_min": _round(slope_mb_per_min(half)),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------- clients
@dataclass
class Outcome:
    ok: bool
    kind: str  # "ok", "refused" (a bad question correctly refused) or the error's name/status


Request = Callable[[httpx.AsyncClient, str, bool], Awaitable[Outcome]]
"""``(client, question, search)`` -> outcome. ``search``: /search instead of /ask (API only)."""


def api_request(k: int) -> Request:
    async def call(client: httpx.AsyncClient, question: str, search: bool) -> Outcome:
        path = "/search" if search else "/ask"
        resp = await client.post(path, json={"question": question, "k": k})
        if resp.status_code == 200:
            return Outcome(True, "ok")
        if resp.status_code == 422 and question in REFUSED_QUESTIONS:
            return Outcome(True, "refused")
        return Outcome(False, f"http_{resp.status_code}")

    return call


def gradio_request(k: int) -> Request:
    async def call(client: httpx.AsyncClient, question: str, search: bool) -> Outcome:
        resp = await client.post("/gradio_api/call/ask", json={"data": [question, "hybrid", k]})
        if resp.status_code != 200:
            return Outcome(False, f"http_{resp.status_code}")
        event_id = resp.json()["event_id"]
        event = ""
        async with client.stream("GET", f"/gradio_api/call/ask/{event_id}") as stream:
            if stream.status_code != 200:
                return Outcome(False, f"http_{stream.status_code}")
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "complete":
                        return Outcome(True, "ok")
                    if question in REFUSED_QUESTIONS:
                        return Outcome(True, "refused")
                    return Outcome(False, "gradio_error")
        return Outcome(False, "stream_ended")

    return call


@dataclass
class LevelResult:
    latencies: list[float] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    unfinished: int = 0


async def run_level(
    base: str,
    request: Request,
    next_question: Callable[[], tuple[str, bool]],
    clients: int,
    duration: float,
    *,
    grace: float = 120.0,
    headers: dict[str, str] | None = None,
    once: int = 0,
) -> tuple[LevelResult, float]:
    """``clients`` closed-loop clients for ``duration`` s (or ``once`` requests in all); wall s."""
    result = LevelResult()
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    timeout = httpx.Timeout(grace + duration + 60, connect=30)
    budget = iter(range(once)) if once else None
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits, headers=headers) as client:
        t0 = time.perf_counter()
        deadline = t0 + duration

        async def worker() -> None:
            while True:
                if budget is not None:
                    if next(budget, None) is None:
                        return
                elif time.perf_counter() >= deadline:
                    return
                question, search = next_question()
                start = time.perf_counter()
                try:
                    outcome = await request(client, question, search)
                except httpx.HTTPError as exc:
                    outcome = Outcome(False, type(exc).__name__)
                except (ValueError, KeyError) as exc:  # a malformed response body
                    outcome = Outcome(False, f"bad_response_{type(exc).__name__}")
                if outcome.ok:
                    result.latencies.append(time.perf_counter() - start)
                result.kinds[outcome.kind] = result.kinds.get(outcome.kind, 0) + 1

        tasks = [asyncio.create_task(worker()) for _ in range(clients)]
        _done, pending = await asyncio.wait(tasks, timeout=None if once else duration + grace)
        for task in pending:
            task.cancel()
        result.unfinished = len(pending)
        await asyncio.gather(*pending, return_exceptions=True)
        wall = time.perf_counter() - t0
    return result, wall


def summarise(
    target: str, clients: int, result: LevelResult, wall: float, memory: list[tuple[float, int]]
) -> dict[str, Any]:
    ms = [x * 1000 for x in result.latencies]
    errors = {k: v for k, v in result.kinds.items() if k not in ("ok", "refused")}
    if result.unfinished:
        errors["unfinished"] = result.unfinished
    return {
        "target": target,
        "concurrency": clients,
        "requests": len(ms),
        "refused_bad_questions": result.kinds.get("refused", 0),
        "errors": errors,
        "error_count": sum(errors.values()),
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(ms) / wall, 3) if wall > 0 else 0.0,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "memory": memory_report(memory),
    }


def describe(level: dict[str, Any]) -> str:
    mem = level["memory"]
    rss = (
        f"RSS {mem['start_mb']:.0f}->{mem['end_mb']:.0f} MiB (max {mem['max_mb']:.0f})"
        if mem.get("samples")
        else "RSS n/a"
    )
    return (
        f"{level['target']:>6} {level['concurrency']:>3} clients: {level['requests']:>5} ok in "
        f"{level['wall_s']:.1f} s = {level['throughput_rps']:.2f} req/s; p50 {level['p50_ms']:.0f} ms, "
        f"p95 {level['p95_ms']:.0f} ms, p99 {level['p99_ms']:.0f} ms; errors {level['errors'] or 0}; {rss}"
    )


# ---------------------------------------------------------------------------- servers
@dataclass
class Server:
    target: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(
    target: str,
    index: Path,
    log_dir: Path,
    torch_threads: int = 0,
    env_extra: dict[str, str] | None = None,
    name: str = "",
) -> Server:
    port = free_port()
    log = log_dir / f"ttqa-{name or target}.log"
    cmd = [sys.executable, "-m", "ttqa.interfaces.cli.main"]
    headers: dict[str, str] = {}
    if target == "api":
        cmd += ["api", "--index", str(index), "--port", str(port), "--log-level", "warning"]
        if torch_threads:
            cmd += ["--torch-threads", str(torch_threads)]
        if key := os.environ.get("TTQA_API_KEY", "").strip():
            headers["X-API-Key"] = key
    else:
        data_dir = log_dir / "chat-data"
        cmd += ["serve", "--index", str(index), "--port", str(port), "--data-dir", str(data_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    if torch_threads:
        env["TTQA_TORCH_THREADS"] = str(torch_threads)
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    return Server(target, f"http://127.0.0.1:{port}", proc, log, headers)


def wait_ready(server: Server, timeout: float = 600) -> float:
    path = "/ready" if server.target == "api" else "/gradio_api/info"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.target} exited with {server.proc.returncode}; see {server.log}")
        try:
            if httpx.get(server.base + path, headers=server.headers, timeout=5).status_code == 200:
                return time.monotonic() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{server.target} not ready after {timeout:.0f} s; see {server.log}")


# ---------------------------------------------------------------------------- runs
@dataclass
class Options:
    index: Path
    questions: list[str]
    targets: tuple[str, ...] = TARGETS
    concurrency: tuple[int, ...] = (16, 64)
    duration: float = 60.0
    grace: float = 120.0
    soak: float = 0.0
    soak_concurrency: int = 16
    k: int = 8
    sample_every: float = 1.0
    torch_threads: int = 0
    prime: bool = True
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ttqa-load-")))


def soak_mix(questions: list[str], search: bool) -> Callable[[], tuple[str, bool]]:
    """Mixed soak traffic: 1 in 10 a refused or hostile question, 1 in 5 of the rest a /search (API)."""
    mix = QuestionMix(questions, repeat=False)
    odd = REFUSED_QUESTIONS + HOSTILE_QUESTIONS
    n = 0

    def next_question() -> tuple[str, bool]:
        nonlocal n
        n += 1
        if n % 10 == 0:
            return odd[(n // 10) % len(odd)], False
        return mix.next(), search and n % 5 == 0

    return next_question


def run_target(target: str, opts: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    server = start_server(target, opts.index, opts.log_dir, opts.torch_threads)
    sampler = MemorySampler(server.proc.pid, opts.sample_every)
    try:
        ready_s = wait_ready(server)
        sampler.start()
        log(f"{target}: ready in {ready_s:.1f} s at {server.base} (log {server.log})")
        request = api_request(opts.k) if target == "api" else gradio_request(opts.k)
        prime_s = 0.0
        if opts.prime:
            tp = time.monotonic()
            plain = QuestionMix(opts.questions, repeat=True)
            prime, _ = asyncio.run(
                run_level(
                    server.base,
                    request,
                    lambda: (plain.next(), False),
                    4,
                    0.0,
                    headers=server.headers,
                    once=len(opts.questions),
                )
            )
            prime_s = time.monotonic() - tp
            bad = {k: v for k, v in prime.kinds.items() if k != "ok"}
            n = len(opts.questions)
            log(f"{target}: primed with {n} questions in {prime_s:.1f} s; errors {bad or 0}")
        levels = []
        mix = QuestionMix(opts.questions, repeat=False)
        runs = [(c, opts.duration, lambda: (mix.next(), False)) for c in opts.concurrency]
        if opts.soak:
            runs = [(opts.soak_concurrency, opts.soak, soak_mix(opts.questions, target == "api"))]
        for clients, duration, next_question in runs:
            t_start = sampler.now()
            sampler.sample()
            result, wall = asyncio.run(
                run_level(
                    server.base,
                    request,
                    next_question,
                    clients,
                    duration,
                    grace=opts.grace,
                    headers=server.headers,
                )
            )
            sampler.sample()
            level = summarise(target, clients, result, wall, sampler.window(t_start, sampler.now()))
            if opts.soak:
                level["soak_s"] = opts.soak
            levels.append(level)
            log(describe(level))
    finally:
        sampler.stop()
        server.stop()
    return {
        "target": target,
        "ready_s": round(ready_s, 2),
        "prime_s": round(prime_s, 2),
        "levels": levels,
        "memory_over_run": memory_report(sampler.samples),
        "rss_samples": [(round(t, 1), round(v / 2**20, 1)) for t, v in sampler.samples],
    }


async def _balanced(
    bases: list[str],
    request: Request,
    next_question: Callable[[], tuple[str, bool]],
    clients: int,
    duration: float,
    *,
    kill_at: float,
    kill: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> tuple[LevelResult, float, int]:
    """Closed-loop clients behind a round-robin balancer over ``bases``; ``kill()`` runs at
    ``kill_at`` s. A request whose replica is unreachable (killed) is retried once on the next
    replica, as a load balancer with retries does: the third value counts those retries."""
    result = LevelResult()
    retried = 0
    timeout = httpx.Timeout(duration + 120, connect=10)
    pools = [httpx.AsyncClient(base_url=b, timeout=timeout, headers=headers) for b in bases]
    turn = 0
    t0 = time.perf_counter()
    deadline = t0 + duration

    async def killer() -> None:
        await asyncio.sleep(kill_at)
        kill()

    async def worker() -> None:
        nonlocal turn, retried
        while time.perf_counter() < deadline:
            question, search = next_question()
            start = time.perf_counter()
            turn += 1
            first = turn % len(pools)
            outcome = Outcome(False, "no_replica")
            for attempt in range(len(pools)):
                try:
                    outcome = await request(pools[(first + attempt) % len(pools)], question, search)
                    break
                except httpx.TransportError as exc:  # connection refused or reset: the next replica
                    outcome = Outcome(False, type(exc).__name__)
                    retried += 1
            if outcome.ok:
                result.latencies.append(time.perf_counter() - start)
            result.kinds[outcome.kind] = result.kinds.get(outcome.kind, 0) + 1

    kill_task = asyncio.create_task(killer())
    await asyncio.gather(*(worker() for _ in range(clients)))
    kill_task.cancel()
    for pool in pools:
        await pool.aclose()
    return result, time.perf_counter() - t0, retried


def run_replicas(opts: Options, replicas: int = 2, log: Callable[[str], None] = print) -> dict[str, Any]:
    """``replicas`` API servers on one Milvus index (``TTQA_MILVUS_*``), the same questions asked of
    each (identical answers expected), then load through a balancer with one replica killed half-way."""
    env = {"TTQA_BACKEND": "milvus"}
    servers = [
        start_server("api", opts.index, opts.log_dir, opts.torch_threads, env, name=f"api-{i}")
        for i in range(replicas)
    ]
    try:
        ready = [wait_ready(s) for s in servers]
        log(f"{replicas} replicas ready in {', '.join(f'{r:.1f}' for r in ready)} s")
        answers: list[list[Any]] = []
        for server in servers:
            with httpx.Client(base_url=server.base, headers=server.headers, timeout=120) as client:
                answers.append(
                    [client.post("/ask", json={"question": q, "k": opts.k}).json() for q in opts.questions]
                )
        identical = sum(a == b for a, b in zip(answers[0], answers[-1], strict=True))
        n = len(opts.questions)
        log(f"identical answers from replica 0 and replica {replicas - 1}: {identical} of {n}")
        mix = QuestionMix(opts.questions, repeat=False)
        clients = opts.concurrency[0]
        result, wall, retried = asyncio.run(
            _balanced(
                [s.base for s in servers],
                api_request(opts.k),
                lambda: (mix.next(), False),
                clients,
                opts.duration,
                kill_at=opts.duration / 2,
                kill=servers[0].proc.kill,
                headers=servers[0].headers,
            )
        )
        level = summarise("api x" + str(replicas), clients, result, wall, [])
        level["retried_after_kill"] = retried
        level["killed"] = f"replica 0 (SIGKILL at {opts.duration / 2:.0f} s)"
        log(describe(level) + f"; {retried} request(s) retried on the other replica after the kill")
        return {
            "mode": "replicas",
            "replicas": replicas,
            "identical_answers": identical,
            "questions": len(opts.questions),
            "level": level,
        }
    finally:
        for server in servers:
            server.stop()


def run(opts: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    if not (opts.index / "CURRENT").is_file():
        raise SystemExit(f"no index in {opts.index}: build it with `ttqa index --corpus corpus --index ...`")
    t0 = time.monotonic()
    targets = [run_target(t, opts, log) for t in opts.targets]
    return {
        "mode": "soak" if opts.soak else "load",
        "index": str(opts.index),
        "n_questions": len(opts.questions),
        "k": opts.k,
        "duration_s": opts.soak or opts.duration,
        "concurrency": [opts.soak_concurrency] if opts.soak else list(opts.concurrency),
        "grace_s": opts.grace,
        "total_s": round(time.monotonic() - t0, 1),
        "machine": machine_info(),
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / "indexes/default")
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/seed.jsonl")
    ap.add_argument("--max-questions", type=int, default=0, help="Use only the first N questions (0: all).")
    ap.add_argument("--target", choices=TARGETS, nargs="+", default=list(TARGETS))
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--duration", type=float, default=60.0, help="Seconds per concurrency level.")
    ap.add_argument("--grace", type=float, default=120.0, help="Seconds in-flight requests may finish.")
    ap.add_argument("--soak", type=float, default=0.0, metavar="SECONDS", help="Soak instead of levels.")
    ap.add_argument("--soak-concurrency", type=int, default=16)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--sample-every", type=float, default=1.0, help="Seconds between RSS samples.")
    ap.add_argument("--torch-threads", type=int, default=0, help="Torch threads of the servers (0: default).")
    ap.add_argument("--no-prime", action="store_true", help="Skip the untimed pass over the questions.")
    ap.add_argument("--out", type=Path, help="Write the report as JSON here.")
    ap.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="Run N `ttqa api --backend milvus` replicas (TTQA_MILVUS_URI...) behind a balancer, "
        "killing one half-way (the first --concurrency level).",
    )
    args = ap.parse_args(argv)
    opts = Options(
        index=args.index,
        questions=load_questions([args.questions])[: args.max_questions or None],
        targets=tuple(args.target),
        concurrency=tuple(args.concurrency),
        duration=args.duration,
        grace=args.grace,
        soak=args.soak,
        soak_concurrency=args.soak_concurrency,
        k=args.k,
        sample_every=args.sample_every,
        torch_threads=args.torch_threads,
        prime=not args.no_prime,
    )
    if args.replicas:
        report = run_replicas(opts, args.replicas)
        if args.out:
            write_json(args.out, report)
        return
    report = run(opts)
    if opts.soak:
        for t in report["targets"]:
            mem = t["memory_over_run"]
            print(
                f"{t['target']} soak memory: start {mem.get('start_mb')} MiB, end {mem.get('end_mb')} MiB, "
                f"max {mem.get('max_mb')} MiB, slope {mem.get('slope_mb_per_min')} MiB/min "
                f"(second half {mem.get('second_half_slope_mb_per_min')} MiB/min)"
            )
    if args.out:
        write_json(args.out, report)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
