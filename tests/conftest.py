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
