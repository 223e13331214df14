"""Shared helpers of ``benchmarks/run.py``: questions, percentiles, workers, tables, index checks."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKERS = Path(__file__).resolve().with_name("bench_workers.py")
QUESTION_FILES = (ROOT / "evals/seed.jsonl", ROOT / "evals/domain.jsonl")
RESULT_PREFIX = "RESULT "

Row = dict[str, Any]


def setup_env() -> None:
    """Converted models live in ``.cache/ttqa`` of the checkout unless ``TTQA_CACHE_DIR`` says otherwise."""
    os.environ.setdefault("TTQA_CACHE_DIR", str(ROOT / ".cache/ttqa"))


def load_questions(paths: Sequence[Path] = QUESTION_FILES) -> list[str]:
    out: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    out.append(row["question"] if isinstance(row, dict) else str(row))
    if not out:
        raise SystemExit(f"no questions in {', '.join(map(str, paths))}")
    return out


class QuestionStream:
    """Every call returns a question string not returned before (cold: no query-cache hit).

    The first round gives the questions as they are; later rounds append ``" (n)"``-style
    variants that change the text the embedder sees but not the question.
    """

    def __init__(self, questions: Sequence[str]) -> None:
        self.questions = list(questions)
        self.n = 0

    def take(self, count: int) -> list[str]:
        out = []
        for _ in range(count):
            q = self.questions[self.n % len(self.questions)]
            rounds = self.n // len(self.questions)
            out.append(q if rounds == 0 else q.rstrip("?") + "?" * (1 + rounds))
            self.n += 1
        return out


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented UTF-8 JSON in ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> Row:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else float("nan"),
    }


def maxrss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def emit(result: Row) -> None:
    """What a worker hands back: one ``RESULT {json}`` line on stdout."""
    result.setdefault("maxrss_mb", maxrss_mb())
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)


def run_worker(args: Sequence[str], *, timeout: float = 3600, log: Path | None = None) -> Row:
    """Run ``bench_workers.py ARGS`` in its own process (own peak memory) and return its result.

    Adds ``wall_s`` (process start to exit) and ``first_result_s`` (process start to the
    ``RESULT`` line, e.g. the first answer). Raises ``RuntimeError`` with the worker's output
    tail when it fails.
    """
    cmd = [sys.executable, str(WORKERS), *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ}, cwd=ROOT
    )
    assert proc.stdout is not None
    lines: list[str] = []
    result: Row | None = None
    first = float("nan")
    deadline = t0 + timeout
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX) and result is None:
            first = time.perf_counter() - t0
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            lines.append(line)
        if time.perf_counter() > deadline:
            proc.kill()
            break
    rc = proc.wait()
    wall = time.perf_counter() - t0
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{''.join(lines)}\n")
    if rc != 0 or result is None:
        tail = "".join(lines[-20:])
        raise RuntimeError(f"worker {' '.join(args[:1])} failed (exit {rc}):\n{tail}")
    result["wall_s"] = round(wall, 2)
    result["first_result_s"] = round(first, 2)
    return result


def dir_size_mb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 2**20, 2)
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


def machine_info() -> Row:
    """The CPU (with its int8 instruction sets), memory, load and the library versions of this run."""
    from ttqa.evaluation.environment import environment

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    info: Row = {"platform": platform.platform(), "loadavg_at_start": [round(x, 2) for x in load]}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["mem_gb"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info | environment()


def machine_line(machine: Row) -> str:
    """The CPU of a :func:`machine_info` record, as eval reports name it."""
    from ttqa.evaluation.environment import cpu_line

    return cpu_line(machine.get("cpu") or {})


# ----------------------------------------------------------------------------- indexes


def live_version(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    version = index_dir / pointer.read_text(encoding="utf-8").strip()
    return version if (version / "manifest.json").is_file() else None


def index_status(index_dir: Path | None, *, min_docs: int = 0) -> tuple[bool, str, Row]:
    """Whether ``index_dir`` holds a complete, loadable index (and with how many documents)."""
    if index_dir is None:
        return False, "not given", {}
    if not index_dir.exists():
        return False, f"{index_dir} does not exist", {}
    version = live_version(index_dir)
    if version is None:
        return False, f"{index_dir} has no published version (build not finished?)", {}
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"{version}/manifest.json unreadable ({exc})", {}
    info: Row = {
        "index_dir": str(index_dir),
        "version": version.name,
        "documents": len(manifest.get("documents", {})),
        "chunks": manifest.get("n_chunks"),
        "embedder": manifest.get("embedder"),
        "created": manifest.get("created"),
    }
    missing = [rel for rel in manifest.get("files", {}) if not (version / rel).is_file()]
    if missing:
        return False, f"{version} lacks {len(missing)} file(s), e.g. {missing[0]}", info
    if info["documents"] < min_docs:
        return (
            False,
            f"{index_dir} has {info['documents']} documents, fewer than {min_docs} (incomplete)",
            info,
        )
    return True, "ok", info


_TQDM = re.compile(r"(\d+)/(\d+) \[([\d:]+)<([\d:?]+),\s*([\d.]+)\s*(\w+)/s\]")


def _clock_seconds(text: str) -> float:
    parts = [int(p) for p in text.split(":")]
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + p
    return float(seconds)


def parse_build_log(path: Path) -> Row:
    """Progress of a ``ttqa index`` build from its (tqdm) log: done/total, elapsed, rate."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = list(_TQDM.finditer(text))
    row: Row = {
        "log": str(path),
        "modified": time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime)),
    }
    summary = re.findall(r"index .* -> v\d+: .*", text)
    if summary:
        row["summary"] = summary[-1].strip()
    if found:
        last = found[-1]
        done, total = int(last.group(1)), int(last.group(2))
        elapsed = _clock_seconds(last.group(3))
        row.update(
            {
                "done": done,
                "total": total,
                "elapsed_s": elapsed,
                "rate_per_s": round(done / elapsed, 2) if elapsed else float(last.group(5)),
                "finished": done >= total,
            }
        )
    return row


# ----------------------------------------------------------------------------- output


def fmt(value: Any, key: str = "") -> str:
    if isinstance(value, float) and key.startswith("recall") and value == value:
        return f"{value:.4f}"
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> str:
    """``columns``: (key, header) pairs."""
    head = "| " + " | ".join(h for _, h in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(k), k) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def print_table(title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Row]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a ttqa dependency
        print(f"\n{title}\n{markdown_table(columns, rows)}")
        return
    table = Table(title=title, title_justify="left")
    for _, header in columns:
        table.add_column(header, justify="right" if header[:1].isalnum() else "left")
    for r in rows:
        table.add_row(*(fmt(r.get(k), k) for k, _ in columns))
    Console(width=200).print(table)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for lo in range(0, len(items), size):
        yield items[lo : lo + size]
