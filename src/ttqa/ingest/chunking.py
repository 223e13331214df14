"""Split documents into overlapping passages with exact character offsets.

The splitting itself is langchain-text-splitters' ``RecursiveCharacterTextSplitter``
with separators that respect Vietnamese paragraphs and sentences; ttqa then
locates every chunk in the stored text so that ``doc.text[start:end] == chunk.text``
holds for every chunk (checked, not assumed).  Chunks come in document order (starts
and ends strictly increasing) and together cover every non-space character.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ttqa.errors import TTQAIndexError
from ttqa.schema import Chunk, Document

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


class ChunkOffsetError(TTQAIndexError):
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
            located = self._locate(text, piece, prev_start, prev_end)
            if located is None:
                # Wholly inside the previous chunk (the splitter can re-emit an overlap tail
                # when the overlap is large): nothing new to index.
                continue
            start, end = located, located + len(piece)
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

    def _locate(self, text: str, piece: str, prev_start: int, prev_end: int) -> int | None:
        """Where ``piece`` starts: after the previous chunk's start, at most ``chunk_overlap``
        characters before its end and no later than the first non-space character after it,
        ending past it (the same words can occur twice in that window: the occurrence that
        continues the text is the one).  ``None`` for a piece inside the previous chunk."""
        lo = max(prev_start + 1, prev_end - self.params.chunk_overlap)
        hi = prev_end
        while hi < len(text) and text[hi].isspace():
            hi += 1
        start = text.find(piece, lo)
        while 0 <= start <= hi and start + len(piece) <= prev_end:
            start = text.find(piece, start + 1)
        if 0 <= start <= hi:
            return start
        # Not where the splitter's contract puts it: the first occurrence after the previous start.
        start = text.find(piece, prev_start + 1)
        if start < 0:
            raise ChunkOffsetError(f"chunk not found in document {text[:40]!r}")
        return None if start + len(piece) <= prev_end else start


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Stable across rebuilds: depends only on the document id, offsets and text."""
    digest = hashlib.blake2b(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode(), digest_size=8)
    return f"{doc_id}#{start}-{end}-{digest.hexdigest()[:8]}"


def content_hash(text: str) -> str:
    """Hash of the text an embedding is computed from (the embedding cache key)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
