"""What a measurement ran on: the library versions and the CPU, recorded beside every figure.

The int8 reader's answers depend on both: ONNX Runtime picks different int8 kernels on CPUs
with and without VNNI dot-product instructions, and its releases change them.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

MEASURED_LIBRARIES = ("torch", "onnxruntime", "transformers", "tokenizers", "numpy", "faiss-cpu", "bm25s")
"""The libraries whose versions move ttqa's figures (``constraints.txt`` pins them)."""

INT8_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")
"""CPU flags (as ``/proc/cpuinfo`` names them) that decide which int8 kernels run."""

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})
"""Flags of an int8 dot-product instruction (x86 VNNI/AMX, Arm dot product / matrix multiply)."""


def library_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`MEASURED_LIBRARIES` and of Python (None: absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in MEASURED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_description(cpuinfo: str | None = None) -> dict[str, Any]:
    """The CPU's model name, its core count and which of :data:`INT8_FEATURES` it has.

    ``cpuinfo`` is the text of ``/proc/cpuinfo`` (read when not given; empty where there is none).
    ``int8_dot_product`` is True when any flag of :data:`VNNI_FLAGS` is present.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    model, flags = platform.processor() or platform.machine(), set[str]()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return {
        "model": model,
        "cores": os.cpu_count(),
        "int8_features": [f for f in INT8_FEATURES if f in flags],
        "int8_dot_product": bool(flags & VNNI_FLAGS),
    }


def cpu_line(cpu: Mapping[str, Any]) -> str:
    """ "AMD EPYC (2 cores; int8 dot product: no; avx2)" for a :func:`cpu_description` record."""
    features = ", ".join(cpu.get("int8_features") or []) or "none"
    dot = "yes" if cpu.get("int8_dot_product") else "no"
    return f"{cpu.get('model', '?')} ({cpu.get('cores', '?')} cores; int8 dot product: {dot}; {features})"


def environment() -> dict[str, Any]:
    """:func:`library_versions` and :func:`cpu_description`, as eval reports and benchmarks record them."""
    return {"libraries": library_versions(), "cpu": cpu_description()}
