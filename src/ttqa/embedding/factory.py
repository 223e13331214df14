"""Build an embedder from the name recorded in an index manifest or a setting."""

from __future__ import annotations

from ttqa.embedding.base import Embedder
from ttqa.embedding.hashing import HashingEmbedder
from ttqa.embedding.sentence_transformer import E5_SMALL, SentenceTransformerEmbedder

DEFAULT_EMBEDDER = E5_SMALL


class UnknownEmbedderError(ValueError):
    """The embedder name is not one ttqa knows."""


def make_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """``e5-small`` (default), ``st:/path/to/sentence-transformers/folder``, or ``hashing-N`` (tests)."""
    if name == E5_SMALL:
        return SentenceTransformerEmbedder()
    if name.startswith("st:"):
        return SentenceTransformerEmbedder(name[3:], name=name)
    if name.startswith("hashing-") and name[8:].isdigit():
        return HashingEmbedder(int(name[8:]))
    raise UnknownEmbedderError(
        f"unknown embedder {name!r}: use 'e5-small', 'st:/path/to/model' or 'hashing-64'"
    )
