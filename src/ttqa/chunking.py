"""Split documents into overlapping passages with exact character offsets.

The splitting itself is langchain-text-splitters' ``RecursiveCharacterTextSplitter``
with separators that respect Vietnamese paragraphs and sentences; ttqa then
locates every chunk in the stored text so that ``doc.text[start:end] == chunk.text``
holds for every chunk (checked, not assumed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ttqa.types import Chunk, Document

# Paragraphs, lines, sentence ends (Vietnamese uses the Latin punctuation),
# clause breaks, words, characters.
SEPARATORS: list[str] = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " – ", " ", ""]


@dataclass(frozen=True, slots=True)
class ChunkingParams:
    """How documents are cut; part of the index manifest."""

    chunk_size: int = 800
    chunk_overlap: int = 120

    def as_dict(self) -> dict[str, int | list[str]]:
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap, "separators": SEPARATORS}


class ChunkOffsetError(AssertionError):
    """A chunk could not be located in its document (a bug, never expected)."""


class Chunker:
    """Cuts a :class:`Document` into :class:`Chunk` objects with verified offsets."""

    def __init__(self, params: ChunkingParams | None = None) -> None:
        self.params = params or ChunkingParams()
        if not 0 <= self.params.chunk_overlap < self.params.chunk_size:
            raise ValueError("chunk_overlap must be >= 0 and smaller than chunk_size")
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.params.chunk_size,
            chunk_overlap=self.params.chunk_overlap,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        text = doc.text
        pieces = self._splitter.split_text(text)
        chunks: list[Chunk] = []
        prev_start, prev_end = -1, 0
        for piece in pieces:
            if not piece:
                continue
            # A chunk starts after the previous one and at most ``chunk_overlap``
            # characters before its end.
            lo = max(prev_start + 1, prev_end - self.params.chunk_overlap)
            start = text.find(piece, lo)
            if start < 0:
                start = text.find(piece, prev_start + 1)
            if start < 0:
                raise ChunkOffsetError(f"chunk not found in document {doc.doc_id!r}")
            end = start + len(piece)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(doc.doc_id, start, end, piece),
                    doc_id=doc.doc_id,
                    start=start,
                    end=end,
                    text=piece,
                )
            )
            prev_start, prev_end = start, end
        return chunks


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Stable across rebuilds: depends only on the document id, offsets and text."""
    digest = hashlib.blake2b(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode(), digest_size=8)
    return f"{doc_id}#{start}-{end}-{digest.hexdigest()[:8]}"


def content_hash(text: str) -> str:
    """Hash of the text an embedding is computed from (the embedding cache key)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
