"""A tiny deterministic embedder for unit tests of plumbing (never for quality).

It hashes accent-folded syllables and syllable bigrams into a fixed number of
dimensions, so texts that share words get similar vectors. No model, no I/O.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import numpy as np

from ttqa.embedding.base import Vectors
from ttqa.text.normalize import tokenize_folded


class HashingEmbedder:
    """Bag of hashed syllables and bigrams, L2-normalised."""

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def fingerprint(self) -> str:
        return f"hashing-v1-{self._dim}"

    def _one(self, text: str) -> Vectors:
        vec = np.zeros(self._dim, dtype=np.float32)
        toks = tokenize_folded(text)
        feats = toks + [a + " " + b for a, b in itertools.pairwise(toks)]
        for feat in feats:
            h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
            vec[h % self._dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32) -> Vectors:
        return self.embed_queries(texts)
