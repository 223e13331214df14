"""Embedding backends behind the :class:`Embedder` protocol."""

from ttqa.embedding.base import Embedder, Vectors
from ttqa.embedding.factory import DEFAULT_EMBEDDER, UnknownEmbedderError, make_embedder

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "UnknownEmbedderError", "Vectors", "make_embedder"]
