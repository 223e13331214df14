"""A short version of ``benchmarks/load_soak.py`` (marker ``load``; deselected unless ``-m load``).

Both servers (``ttqa api`` and ``ttqa serve``) on the seed index, a few seconds of closed-loop
clients each, then a short soak of mixed traffic: every request must succeed (bad questions
correctly refused), and the report must carry latencies and sampled server memory. Nothing here
asserts speed; the numbers are for people (run the script itself for real measurements).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ttqa import QA

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]


def _load_soak() -> ModuleType:
    path = ROOT / "benchmarks" / "load_soak.py"
    spec = importlib.util.spec_from_file_location("load_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_soak"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def load_soak() -> ModuleType:
    return _load_soak()


def _questions() -> list[str]:
    questions: list[str] = _load_soak().load_questions([ROOT / "evals" / "seed.jsonl"])
    return questions[:6]


def _check_level(level: dict[str, Any]) -> None:
    assert level["error_count"] == 0, level["errors"]
    assert level["requests"] > 0
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        assert math.isfinite(level[key]) and level[key] > 0
    assert level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
    assert level["throughput_rps"] > 0
    mem = level["memory"]
    assert mem["samples"] >= 2 and 0 < mem["start_mb"] <= mem["max_mb"]


def test_load_levels(load_soak: ModuleType, seed_qa: QA, tmp_path: Path) -> None:
    opts = load_soak.Options(
        index=seed_qa.index_dir,
        questions=_questions(),
        concurrency=(2, 8),
        duration=3.0,
        grace=120.0,
        sample_every=0.5,
        log_dir=tmp_path,
    )
    lines: list[str] = []
    report = load_soak.run(opts, log=lines.append)
    assert [t["target"] for t in report["targets"]] == ["api", "gradio"]
    for target in report["targets"]:
        assert [lv["concurrency"] for lv in target["levels"]] == [2, 8]
        for level in target["levels"]:
            _check_level(level)
        assert target["memory_over_run"]["samples"] >= 4
    assert sum("clients:" in line for line in lines) == 4


def test_soak(load_soak: ModuleType, seed_qa: QA, tmp_path: Path) -> None:
    opts = load_soak.Options(
        index=seed_qa.index_dir,
        questions=_questions(),
        targets=("api",),
        soak=8.0,
        soak_concurrency=4,
        sample_every=0.5,
        log_dir=tmp_path,
    )
    report = load_soak.run(opts, log=lambda line: None)
    (level,) = report["targets"][0]["levels"]
    _check_level(level)
    assert level["soak_s"] == 8.0
    if level["requests"] >= 10:  # every 10th request is a bad or hostile question
        assert level["refused_bad_questions"] >= 1
    mem = level["memory"]
    assert mem["slope_mb_per_min"] is not None and math.isfinite(mem["slope_mb_per_min"])


def test_memory_tools(load_soak: ModuleType) -> None:
    import os

    me = load_soak.rss_bytes(os.getpid())
    assert me is not None and me > 10 * 2**20
    assert load_soak.rss_bytes(2**22 + 12345) is None  # no such process
    samples = [(float(t), (1000 + 2 * t) * 2**20) for t in range(0, 120, 10)]
    assert load_soak.slope_mb_per_min(samples) == pytest.approx(120.0)
    assert load_soak.slope_mb_per_min(samples[:2]) is None


def test_two_api_replicas_on_one_milvus_server(
    load_soak: ModuleType,
    milvus_server: Any,
    model_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two `ttqa api --backend milvus` processes on one milvus-lite server: the same answers, and
    under load with one of them SIGKILLed half-way, no failed request (the other keeps answering)."""
    from ttqa.index.milvus.settings import MilvusSettings

    settings = MilvusSettings(uri=milvus_server.uri, collection="replicas")
    QA.build([ROOT / "corpus"], backend="milvus", milvus=settings)
    monkeypatch.setenv("TTQA_MILVUS_URI", settings.uri)
    monkeypatch.setenv("TTQA_MILVUS_COLLECTION", settings.collection)
    opts = load_soak.Options(
        index=tmp_path / "unused", questions=_questions(), concurrency=(4,), duration=12.0, log_dir=tmp_path
    )
    lines: list[str] = []
    report = load_soak.run_replicas(opts, 2, log=lines.append)
    assert report["identical_answers"] == report["questions"] == 6
    level = report["level"]
    assert level["error_count"] == 0, (level["errors"], lines)
    assert level["requests"] > 0 and level["throughput_rps"] > 0
