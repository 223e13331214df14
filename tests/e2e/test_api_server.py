"""``ttqa api`` as a real server: a subprocess on a free loopback port, called over HTTP with httpx."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ttqa
from ttqa import QA

QUESTIONS = [
    "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?",
    "Nghệ An đã giảm được bao nhiêu biên chế?",
    "ai chu tri hoi thao",
    "Thủ đô của nước Pháp là gì?",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(index: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ttqa.interfaces.cli.main",
            "api",
            "--index",
            str(index),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Seconds until /ready answered 200 (asserting /health answers while the model loads)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "server exited"
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return time.monotonic() - t0
            assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server not ready in time")


@pytest.fixture(scope="module")
def server(seed_qa: QA) -> Iterator[str]:
    port = free_port()
    proc = start_server(seed_qa.index_dir, port, "--log-level", "warning")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _same_answer(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, up to float rounding (two processes may batch sentence encodings differently)."""
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if key == "citations":
            assert len(got[key]) == len(value)
            for a, b in zip(got[key], value, strict=True):
                assert {k: v for k, v in a.items() if k != "score"} == {
                    k: v for k, v in b.items() if k != "score"
                }
                assert math.isclose(a["score"], b["score"], rel_tol=1e-4, abs_tol=1e-5)
        elif isinstance(value, float):
            assert math.isclose(got[key], value, rel_tol=1e-4, abs_tol=1e-5)
        else:
            assert got[key] == value, key


def test_endpoints_over_http(server: str, seed_qa: QA) -> None:
    with httpx.Client(base_url=server, timeout=60) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json()["status"] == "ready"
        info = client.get("/info").json()
        assert info["ttqa_version"] == ttqa.__version__ and info["version"] == seed_qa.manifest.version
        for q in QUESTIONS:
            resp = client.post("/ask", json={"question": q})
            assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
            body = resp.json()
            _same_answer(body, seed_qa.ask(q).to_dict())
            for c in body["citations"]:
                span = {"start": c["start"], "end": c["end"]}
                passage = client.get(f"/documents/{c['doc_id']}", params=span)
                assert passage.json()["text"] == c["quote"]
        hits = client.post("/search", json={"question": QUESTIONS[0], "k": 5, "mode": "bm25"}).json()["hits"]
        assert hits == [h.to_dict() for h in seed_qa.search(QUESTIONS[0], k=5, mode="bm25")]
        err = client.post("/ask", json={"question": "  "})
        assert err.status_code == 422 and err.json()["error"]["code"] == "empty_question"
        assert client.get("/documents/nope").status_code == 404
        assert client.get("/openapi.json").json()["info"]["version"] == ttqa.__version__


def test_concurrent_requests(server: str) -> None:
    """16 clients at once: every answer equals the sequential one; /health answers while they run."""
    with httpx.Client(base_url=server, timeout=60) as client:
        expected = {q: client.post("/ask", json={"question": q}).json() for q in QUESTIONS}

    async def run() -> tuple[list[tuple[str, dict[str, Any]]], int]:
        done = 0
        async with httpx.AsyncClient(base_url=server, timeout=120) as client:

            async def one(q: str) -> tuple[str, dict[str, Any]]:
                nonlocal done
                resp = await client.post("/ask", json={"question": q})
                assert resp.status_code == 200, resp.text
                done += 1
                return q, resp.json()

            tasks = [asyncio.create_task(one(q)) for q in QUESTIONS * 4]
            await asyncio.sleep(0.05)
            assert (await client.get("/health")).status_code == 200
            done_at_health = done
            return list(await asyncio.gather(*tasks)), done_at_health

    results, done_at_health = asyncio.run(run())
    assert len(results) == 16
    for q, body in results:
        assert body == expected[q]
    # Ordering, not timing: a server that serialised requests would answer /health after the asks.
    assert done_at_health < len(results), "/health waited for every /ask: requests are serialised"


def test_missing_index_fails_cleanly(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "nothing", free_port())
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert b"no index in" in out and b"Traceback" not in out
