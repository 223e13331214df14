"""Shared fixtures: the real model (converted once per session) and a seed index."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from milvus_server import MilvusServer
    from ttqa import QA, Answer
    from ttqa.index.local.backend import LocalBackend
    from ttqa.index.milvus.backend import MilvusBackend

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
EVALS = ROOT / "evals"

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
"""The five Vietnamese tone marks as combining characters."""


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Windows writes it: base letter (â ê ô ơ ư ă đ precomposed) + combining tone mark."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        nfd = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(m for m in nfd if m not in TONES))
        out += (base + "".join(m for m in nfd if m in TONES)).encode("cp1258")
    return bytes(out)


def local_backend(qa: QA) -> LocalBackend:
    """``qa.store`` of an index kept in local files, typed as such (its store, FAISS and BM25 parts)."""
    from ttqa.index.local.backend import LocalBackend

    assert isinstance(qa.store, LocalBackend), qa.store
    return qa.store


def milvus_backend(qa: QA) -> MilvusBackend:
    """``qa.store`` of an index kept in Milvus, typed as such (its ``settings``)."""
    from ttqa.index.milvus.backend import MilvusBackend

    assert isinstance(qa.store, MilvusBackend), qa.store
    return qa.store


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
def seed_qa(model_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> QA:
    """A QA over the bundled corpus with the real e5-small model."""
    from ttqa import QA

    return QA.build([CORPUS], tmp_path_factory.mktemp("seed-index"))


@pytest.fixture(scope="session")
def seed_answers(seed_qa: QA) -> dict[str, Answer]:
    """``seed_qa.ask`` of every question of ``evals/seed.jsonl`` (hybrid, default k), asked once
    for the tests that read them all."""
    from ttqa.evaluation.datasets import load_jsonl

    return {q.question: seed_qa.ask(q.question) for q in load_jsonl(EVALS / "seed.jsonl")}


@pytest.fixture(scope="module")
def chat_app(seed_qa: QA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The browser chat over the seed index on a free 127.0.0.1 port (one server per test module).

    Yields a namespace with ``url``, ``service`` (the app's ``ChatService``) and ``data_dir``
    (where ``feedback.jsonl`` goes).
    """
    import socket

    from ttqa.interfaces.chat.ui import ChatService, launch

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


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """A Milvus server for the backend tests: ``$TTQA_TEST_MILVUS_URI`` when set, else a
    milvus-lite gRPC server started here on a free loopback port (the wire protocol of a cluster)."""
    from milvus_server import MilvusServer

    uri = os.environ.get("TTQA_TEST_MILVUS_URI", "").strip()
    if uri:
        yield MilvusServer(uri=uri)
        return
    server = MilvusServer.start(tmp_path_factory.mktemp("milvus-data"))
    try:
        yield server
    finally:
        server.stop()
