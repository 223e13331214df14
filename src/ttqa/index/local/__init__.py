"""The ``local`` search backend: FAISS vectors (:mod:`.dense`), bm25s terms (:mod:`.lexical`) and the
articles with the chunk table (:mod:`.store`), in one index directory."""

from ttqa.index.local.backend import LocalBackend

__all__ = ["LocalBackend"]
