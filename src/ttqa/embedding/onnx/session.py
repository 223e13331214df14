"""ONNX Runtime sessions on the CPU, as the embedder and the reader both run them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime


def threads() -> int:
    """Intra-op threads: the ``threads`` setting (``TTQA_THREADS``), or all cores."""
    from ttqa.settings import load_settings

    return load_settings().cpu_threads


def cpu_session(model: Path | str, *, intra_threads: int | None = None) -> onnxruntime.InferenceSession:
    """A CPU session of ``model`` on ``intra_threads`` threads (default :func:`threads`).

    Its worker threads sleep between runs, so that the short runs of a question do not take the
    CPU from the work beside them (BM25 above all)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_threads or threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
