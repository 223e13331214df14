"""Shared fixtures: the real model (converted once per session) and a seed index."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
EVALS = ROOT / "evals"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the converted e5 model lives: $TTQA_CACHE_DIR (CI keeps it), else a temp dir."""
    configured = os.environ.get("TTQA_CACHE_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("ttqa-cache")
    old = os.environ.get("TTQA_CACHE_DIR")
    os.environ["TTQA_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TTQA_CACHE_DIR", None)


@pytest.fixture(scope="session")
def seed_qa(model_cache: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A QA over the bundled corpus with the real e5-small model."""
    from ttqa import QA

    return QA.build([CORPUS], tmp_path_factory.mktemp("seed-index"))


@pytest.fixture(scope="module")
def chat_app(seed_qa, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The browser chat over the seed index on a free 127.0.0.1 port (one server per test module).

    Yields a namespace with ``url``, ``service`` (the app's ``ChatService``) and ``data_dir``
    (where ``feedback.jsonl`` goes).
    """
    import socket
    from types import SimpleNamespace

    from ttqa.app.chat import ChatService, launch

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data_dir = tmp_path_factory.mktemp("chat-data")
    service = ChatService(seed_qa, data_dir=data_dir)
    demo, url = launch(service, host="127.0.0.1", port=port, block=False)
    try:
        yield SimpleNamespace(url=url, service=service, data_dir=data_dir)
    finally:
        demo.close()
