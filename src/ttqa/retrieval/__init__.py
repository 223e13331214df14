"""Retrieval: dense, BM25 and hybrid search over a search backend, metadata filters, and putting the
diacritics back on an unaccented question."""

from ttqa.index.backend import FusionParams, Mode
from ttqa.retrieval.retriever import Retrieval, Retriever

__all__ = ["FusionParams", "Mode", "Retrieval", "Retriever"]
