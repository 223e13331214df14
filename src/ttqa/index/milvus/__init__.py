"""The Milvus search backend (``pip install 'ttqa[scale]'``): see :mod:`ttqa.index.milvus.backend`."""

from __future__ import annotations

from ttqa.index.milvus.settings import MilvusSettings

__all__ = ["MilvusSettings"]
