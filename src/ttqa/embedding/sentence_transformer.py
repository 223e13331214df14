"""Embedder backed by a sentence-transformers model folder (e5-small by default)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ttqa.embedding.base import Vectors
from ttqa.embedding.e5 import E5Embedder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_SMALL = "e5-small"


class SentenceTransformerEmbedder(E5Embedder):
    """e5 on sentence-transformers (torch, fp32): the reference vectors."""

    def __init__(
        self, model_dir: str | Path | None = None, *, name: str = E5_SMALL, threads: int = 0
    ) -> None:
        super().__init__(model_dir, name=name, threads=threads)
        self._model: SentenceTransformer | None = None

    @property
    def dim(self) -> int:
        model: Any = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load(self.model_dir, self._threads)
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        out: Any = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)


def _load(model_dir: Path, threads: int) -> SentenceTransformer:
    """The model on ``threads`` torch threads (0: the ``threads`` setting)."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]

    from ttqa.settings import load_settings

    torch.set_num_threads(threads or load_settings().cpu_threads)
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
