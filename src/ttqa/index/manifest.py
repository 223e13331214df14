"""The index manifest: what an index was built with, and checksums of its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ttqa.errors import TTQAIndexError
from ttqa.index.layout import atomic_write_text, sha256_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class IndexMismatchError(TTQAIndexError, RuntimeError):
    """The index was built with another model, dimension, chunking or format."""


class IndexCorruptError(TTQAIndexError, RuntimeError):
    """An index file is missing, truncated or altered."""


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    version: str
    created: str
    embedder: str
    embedder_fingerprint: str
    dim: int
    chunking: dict[str, Any]
    passage_template: str
    documents: dict[str, str] = Field(description="doc_id -> content hash")
    n_chunks: int
    backend: str = "local"
    """The search backend that holds the index ("local" files or "milvus")."""
    files: dict[str, str] = Field(default_factory=dict, description="relative path -> sha256")

    def save(self, directory: Path) -> None:
        atomic_write_text(directory / MANIFEST, self.model_dump_json(indent=1))

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing; rebuild the index with `ttqa index`") from None
        except ValueError as exc:  # JSON or validation error
            raise IndexCorruptError(
                f"{path} is unreadable ({exc}); rebuild the index with `ttqa index`"
            ) from None

    def verify_files(self, directory: Path) -> None:
        """Check every file against its recorded sha256."""
        for rel, digest in self.files.items():
            path = directory / rel
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing; rebuild with `ttqa index --rebuild`")
            if sha256_file(path) != digest:
                raise IndexCorruptError(
                    f"index file {path} does not match its checksum (truncated or altered); "
                    "rebuild with `ttqa index --rebuild`"
                )

    def check_compatible(self, *, fingerprint: str, dim: int, chunking: dict[str, Any] | None = None) -> None:
        how = "rebuild it with `ttqa index --rebuild --corpus ... --index DIR`"
        if self.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format {self.format_version} is not supported (expected {FORMAT_VERSION}); {how}"
            )
        if self.embedder_fingerprint != fingerprint:
            raise IndexMismatchError(
                f"index was built with model {self.embedder_fingerprint!r}, not {fingerprint!r}; {how}"
            )
        if self.dim != dim:
            raise IndexMismatchError(f"index has dimension {self.dim}, the model gives {dim}; {how}")
        if chunking is not None and chunking != self.chunking:
            raise IndexMismatchError(f"index was chunked with {self.chunking}, not {chunking}; {how}")
