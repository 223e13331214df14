"""HTTP hardening of the API: body size limit, doc_id path traversal, CORS, API key, error bodies.

In-process with FastAPI's ``TestClient``, and over real sockets with uvicorn (in a thread, and
``ttqa api`` as a subprocess) where the wire matters: chunked bodies, raw ``..`` paths.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ttqa import QA
from ttqa.interfaces.http import ApiSettings, create_app
from ttqa.interfaces.http.security import ApiKeyAuth

KEY = "k3y-ĐTO-\u00e9-s3cret"  # non-ASCII: compared as UTF-8 bytes
ASCII_KEY = "s3cret-key-0123456789"
ORIGIN = "https://app.example"
QUESTION = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?"
DOC_000 = "000_7c61923aec2bb611"


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"}
    err = cast(dict[str, Any], body["error"])
    assert err["code"] == code and err["message_vi"] and err["message_en"]
    return err


def _client(qa: QA, **settings: Any) -> TestClient:
    return TestClient(create_app(qa, ApiSettings(warmup=False, **settings)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(seed_qa: QA) -> Iterator[TestClient]:
    with _client(seed_qa) as c:
        yield c


# ---------------------------------------------------------------- body size limit
def test_default_limit_is_64_kib(client: TestClient) -> None:
    assert ApiSettings().max_body_bytes == 64 * 1024
    filler = " " * (64 * 1024 - len(json.dumps({"question": QUESTION}).encode()) - 10)
    fits = json.dumps({"question": QUESTION + filler}).encode()
    assert len(fits) <= 64 * 1024
    assert (
        client.post("/search", content=fits, headers={"content-type": "application/json"}).status_code == 200
    )
    over = json.dumps({"question": QUESTION + filler + " " * 20}).encode()
    assert len(over) > 64 * 1024
    resp = client.post("/search", content=over, headers={"content-type": "application/json"})
    err = _error(resp, 413, "body_too_large")
    assert set(err) == {"code", "message_vi", "message_en"} and "65536" in err["message_en"]


class _Spy:
    """An app that records whether it was called at all."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        raise AssertionError("the app must not see an over-limit request")


@pytest.mark.parametrize("chunked", [False, True])
def test_limit_is_checked_before_the_app(chunked: bool) -> None:
    """Content-Length over the limit: refused without reading; chunked: refused while reading."""
    from ttqa.interfaces.http.security import BodySizeLimit

    spy = _Spy()
    limited = BodySizeLimit(spy, max_bytes=1000)
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 400, "more_body": True}

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    headers = [] if chunked else [(b"content-length", b"5000")]
    scope = {"type": "http", "method": "POST", "path": "/ask", "headers": headers}
    import asyncio

    asyncio.run(limited(scope, receive, send))
    assert not spy.called
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"
    assert reads == (3 if chunked else 0)  # 1200 bytes > 1000 after the third chunk


def test_chunked_body_over_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    resp = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    _error(resp, 413, "body_too_large")


def test_chunked_body_under_limit_is_served(client: TestClient, seed_qa: QA) -> None:
    payload = json.dumps({"question": QUESTION, "k": 3}).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 7):
            yield payload[i : i + 7]

    resp = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == seed_qa.ask(QUESTION, k=3).to_dict()


def test_limit_is_configurable(seed_qa: QA) -> None:
    with _client(seed_qa, max_body_bytes=100) as c:
        _error(c.post("/search", json={"question": "x" * 100}), 413, "body_too_large")
        assert c.post("/search", json={"question": "Ai?", "k": 1}).status_code == 200


# ---------------------------------------------------------------- doc_id path traversal
TRAVERSALS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%5c..%5cwindows%5cwin.ini",
    "%252e%252e%252fetc%252fpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "../documents.jsonl",
    "..%00/etc/passwd",
    "%c0%ae%c0%ae/etc/passwd",
]


@pytest.fixture()
def no_file_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every file the code opens while the fixture is active (it should be none)."""
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(str(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    yield opened


@pytest.mark.parametrize("doc_id", TRAVERSALS)
def test_traversal_is_404_without_reading_files(
    client: TestClient, no_file_reads: list[str], doc_id: str
) -> None:
    for suffix in ("", "?start=0&end=10"):
        resp = client.get(f"/documents/{doc_id}{suffix}")
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] in {"unknown_document", "not_found"}
        assert "root:" not in resp.text
    assert no_file_reads == []


@pytest.fixture(scope="module")
def live(seed_qa: QA) -> Iterator[str]:
    """The API (default settings but no warm-up) served by uvicorn on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(seed_qa, ApiSettings(warmup=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _raw(address: str, request: bytes) -> tuple[int, bytes]:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    "target",
    [f"/documents/{t}" for t in TRAVERSALS[:5]]
    + ["/documents/../../../../etc/passwd", "/../../etc/passwd", f"/documents/{DOC_000}/../../../etc/passwd"],
)
def test_raw_traversal_over_the_wire(live: str, target: str) -> None:
    """Paths sent byte for byte (no client normalises the ``..``)."""
    status, body = _raw(live, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status == 404, body
    assert json.loads(body)["error"]["code"] in {"unknown_document", "not_found"}
    assert b"root:" not in body


def test_real_document_still_served(live: str, seed_qa: QA) -> None:
    resp = httpx.get(f"http://{live}/documents/{DOC_000}", timeout=60)
    assert resp.status_code == 200 and resp.json()["text"] == seed_qa.document(DOC_000).text


def test_chunked_and_declared_bodies_over_the_wire(live: str) -> None:
    base = f"http://{live}"

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 3000

    headers = {"content-type": "application/json"}
    resp = httpx.post(f"{base}/ask", content=chunks(), headers=headers, timeout=60)
    _error(resp, 413, "body_too_large")
    with httpx.Client(base_url=base, timeout=60) as c:
        resp = c.post("/search", content=b"x" * 300_000, headers=headers)
        _error(resp, 413, "body_too_large")
        assert resp.headers["connection"] == "close"
        # the client reconnects; the server is fine
        assert c.post("/search", json={"question": QUESTION, "k": 1}).status_code == 200
    status, body = _raw(
        live,
        b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999\r\n\r\n{",
    )
    assert status == 413 and json.loads(body)["error"]["code"] == "body_too_large"


# ---------------------------------------------------------------- CORS
def test_cors_off_by_default(client: TestClient) -> None:
    for resp in (
        client.get("/health", headers={"origin": "https://evil.example"}),
        client.post("/search", json={"question": "Ai?", "k": 1}, headers={"origin": "https://evil.example"}),
        client.options(
            "/ask",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        ),
    ):
        assert not any(h.lower().startswith("access-control-") for h in resp.headers), resp.headers


def test_cors_allowed_origins(seed_qa: QA) -> None:
    with _client(seed_qa, cors_origins=(ORIGIN,)) as c:
        ok = c.get("/health", headers={"origin": ORIGIN})
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-credentials" not in ok.headers
        evil = c.get("/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        preflight = c.options(
            "/ask",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, x-api-key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        refused = c.options(
            "/ask", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


# ---------------------------------------------------------------- API key
@pytest.fixture(scope="module")
def keyed(seed_qa: QA) -> Iterator[TestClient]:
    with _client(seed_qa, api_key=KEY, cors_origins=(ORIGIN,)) as c:
        yield c


GUARDED: list[tuple[str, str, Any]] = [
    ("POST", "/ask", {"question": QUESTION, "k": 2}),
    ("POST", "/search", {"question": QUESTION, "k": 2}),
    ("GET", f"/documents/{DOC_000}", None),
    ("GET", "/ready", None),
    ("GET", "/info", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("GET", "/nope", None),
    ("POST", "/ask", None),  # even a bad request is a 401 first
]
WRONG = [
    {},
    {"x-api-key": ""},
    {"x-api-key": "wrong"},
    {"x-api-key": KEY[:-1]},
    {"x-api-key": KEY + "x"},
    {"authorization": "Bearer wrong"},
    {"authorization": f"Basic {KEY}"},
    {"authorization": KEY},
    {"x-api-key": KEY.upper()},
]


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
@pytest.mark.parametrize("headers", WRONG, ids=[str(i) for i in range(len(WRONG))])
def test_missing_or_wrong_key_is_401(
    keyed: TestClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    encoded = {k: v.encode() for k, v in headers.items()}  # the key is not ASCII
    resp = keyed.request(method, path, json=body, headers=cast(Any, encoded))
    err = _error(resp, 401, "unauthorized")
    assert set(err) == {"code", "message_vi", "message_en"}
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert KEY not in resp.text and "s3cret" not in resp.text


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": KEY},
        {"authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer   {KEY}  "},
        {"x-api-key": "wrong", "authorization": f"Bearer {KEY}"},
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), GUARDED[:7])
def test_right_key_is_served(
    keyed: TestClient, seed_qa: QA, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    encoded = {k: v.encode() for k, v in headers.items()}
    resp = keyed.request(method, path, json=body, headers=cast(Any, encoded))
    assert resp.status_code == 200, resp.text
    if path == "/ask":
        assert resp.json() == seed_qa.ask(QUESTION, k=2).to_dict()


def test_health_needs_no_key(keyed: TestClient) -> None:
    assert keyed.get("/health").json() == {"status": "ok"}


def test_preflight_needs_no_key_and_errors_keep_cors(keyed: TestClient) -> None:
    preflight = keyed.options("/ask", headers={"origin": ORIGIN, "access-control-request-method": "POST"})
    assert preflight.status_code == 200
    denied = keyed.post("/ask", json={"question": "Ai?"}, headers={"origin": ORIGIN})
    _error(denied, 401, "unauthorized")
    assert denied.headers["access-control-allow-origin"] == ORIGIN  # the browser can read the 401


def test_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch, seed_qa: QA) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    with _client(seed_qa, api_key=ASCII_KEY) as c:
        assert c.get("/info", headers={"x-api-key": "nope"}).status_code == 401
        assert c.get("/info", headers={"x-api-key": ASCII_KEY}).status_code == 200
    assert calls == [(b"nope", ASCII_KEY.encode()), (ASCII_KEY.encode(), ASCII_KEY.encode())]


def test_key_never_shown() -> None:
    settings = ApiSettings(api_key=ASCII_KEY)
    assert ASCII_KEY not in repr(settings) and ASCII_KEY not in str(settings)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    assert ASCII_KEY not in repr(ApiKeyAuth(app, ASCII_KEY))
    with pytest.raises(ValueError, match="empty"):
        ApiKeyAuth(app, "")


def test_openapi_documents_the_key(keyed: TestClient) -> None:
    spec = keyed.get("/openapi.json", headers=cast(Any, {"x-api-key": KEY.encode()})).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerKey"] == {"type": "http", "scheme": "bearer"}
    for path, operations in spec["paths"].items():
        for op in operations.values():
            if path == "/health":
                assert op["security"] == [] and "401" not in op["responses"]
            else:
                assert {"ApiKeyHeader": []} in op["security"] and "401" in op["responses"]


def test_no_key_means_open_and_undocumented(client: TestClient) -> None:
    assert client.get("/info").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "securitySchemes" not in spec.get("components", {})
    assert all("401" not in op["responses"] for ops in spec["paths"].values() for op in ops.values())


# ---------------------------------------------------------------- error bodies
class _Exploding:
    """A QA whose every call fails with a message full of secrets."""

    embedder = None

    def _boom(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"db password=hunter2 at /home/user/.ssh/id_rsa key={ASCII_KEY}")

    ask = search = document = info = _boom


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/ask"), ("POST", "/search"), ("GET", f"/documents/{DOC_000}"), ("GET", "/info")],
)
def test_internal_error_is_generic(method: str, path: str) -> None:
    app = create_app(cast(QA, _Exploding()), ApiSettings(warmup=False, api_key=ASCII_KEY))
    with TestClient(app, raise_server_exceptions=False) as c:
        body = {"question": "Ai?"} if method == "POST" else None
        resp = c.request(method, path, json=body, headers={"x-api-key": ASCII_KEY})
    err = _error(resp, 500, "internal_error")
    assert set(err) == {"code", "message_vi", "message_en"}
    for secret in ("hunter2", ".ssh", ASCII_KEY, "Traceback", "RuntimeError", "File "):
        assert secret not in resp.text


def test_middleware_fault_is_generic(seed_qa: QA) -> None:
    """A fault outside the routes (here in a middleware) also gets the generic JSON 500."""
    app: FastAPI = create_app(seed_qa, ApiSettings(warmup=False))

    @app.middleware("http")
    async def explode(request: Any, call_next: Callable[..., Any]) -> Any:
        raise RuntimeError("secret=hunter2")

    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/info")
    _error(resp, 500, "internal_error")
    assert "hunter2" not in resp.text


def test_unknown_document_echo_is_bounded(client: TestClient) -> None:
    err = _error(client.get("/documents/" + "x" * 5000), 404, "unknown_document")
    assert len(err["message_en"]) < 300


# ---------------------------------------------------------------- ttqa api (the CLI)
def test_cli_defaults() -> None:
    """``ttqa api`` binds 127.0.0.1 and limits bodies to 64 KiB unless told otherwise."""
    import typer.main

    import ttqa.interfaces.cli.main

    command = typer.main.get_command(ttqa.interfaces.cli.main.app)
    api = cast(Any, command).commands["api"]
    defaults = {p.name: p.default for p in api.params}
    assert defaults["host"] == "127.0.0.1"
    assert defaults["max_body_bytes"] == 64 * 1024
    assert not defaults["cors_origin"]
    assert "api_key" not in defaults  # the key comes from the environment only, never argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_options_and_env_key(seed_qa: QA, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ttqa.interfaces.cli.main", "api", "--index", str(seed_qa.index_dir)),
            *("--port", str(port), "--log-level", "warning", "--max-body-bytes", "2048"),
            *("--cors-origin", ORIGIN, "--cors-origin", "http://localhost:3000"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TTQA_API_KEY": f"  {ASCII_KEY}\n", "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = _wait_health(base, proc, tmp_path / "api.log", origin=ORIGIN)
        assert health.json() == {"status": "ok"}
        assert health.headers["access-control-allow-origin"] == ORIGIN
        _error(httpx.get(f"{base}/info", timeout=10), 401, "unauthorized")
        auth = {"authorization": f"Bearer {ASCII_KEY}"}
        info = httpx.get(f"{base}/info", headers=auth, timeout=10)
        assert info.status_code == 200 and info.json()["documents"] == 5
        big = {"question": "x" * 3000}
        err = _error(httpx.post(f"{base}/ask", json=big, headers=auth, timeout=10), 413, "body_too_large")
        assert "2048" in err["message_en"]
        evil = httpx.get(f"{base}/health", headers={"origin": "https://evil.example"}, timeout=5)
        assert "access-control-allow-origin" not in evil.headers
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    assert ASCII_KEY not in (tmp_path / "api.log").read_text(errors="replace")


def test_cli_warns_on_public_bind(seed_qa: QA, tmp_path: Path) -> None:
    """Binding all interfaces prints a warning (and still serves); the port is closed at once."""
    port = _free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "ttqa.interfaces.cli.main", "api", "--index", str(seed_qa.index_dir)),
                *("--host", "0.0.0.0", "--port", str(port), "--log-level", "warning"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "TTQA_API_KEY"},
        )
        try:
            _wait_health(f"http://127.0.0.1:{port}", proc, log_path)
        finally:
            proc.terminate()
            proc.wait(60)
    text = log_path.read_text()
    assert "warning: binding 0.0.0.0: the API is reachable from other machines" in text
    assert "set TTQA_API_KEY" in text


def _wait_health(base: str, proc: subprocess.Popen[bytes], log: Path, **headers: str) -> httpx.Response:
    deadline = time.monotonic() + 300
    while True:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "ttqa api did not start"
        try:
            return httpx.get(f"{base}/health", headers=headers, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
