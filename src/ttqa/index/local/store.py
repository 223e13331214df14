"""Stored articles and the chunk table (row ``i`` = FAISS id ``i`` = BM25 row ``i``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ttqa.index.backend import UnknownDocumentError, passage_text
from ttqa.index.layout import atomic_write_text
from ttqa.schema import Chunk, Document

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.json"


@dataclass(slots=True)
class ChunkTable:
    chunk_ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def append(self, chunk: Chunk, content_hash: str) -> None:
        self.chunk_ids.append(chunk.chunk_id)
        self.doc_ids.append(chunk.doc_id)
        self.starts.append(chunk.start)
        self.ends.append(chunk.end)
        self.hashes.append(content_hash)

    def to_json(self) -> str:
        return json.dumps(
            {
                "chunk_id": self.chunk_ids,
                "doc_id": self.doc_ids,
                "start": self.starts,
                "end": self.ends,
                "hash": self.hashes,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ChunkTable:
        data = json.loads(text)
        return cls(data["chunk_id"], data["doc_id"], data["start"], data["end"], data["hash"])


class DocumentStore:
    """All stored documents plus the chunk table, in memory."""

    def __init__(self, documents: Iterable[Document], chunks: ChunkTable) -> None:
        self._docs: dict[str, Document] = {d.doc_id: d for d in documents}
        self.chunks = chunks
        self._row_of: dict[str, int] | None = None
        self._rows_of_doc: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def __iter__(self) -> Iterator[Document]:
        return iter(self._docs.values())

    def get(self, doc_id: str) -> Document:
        try:
            return self._docs[doc_id]
        except KeyError:
            raise UnknownDocumentError(doc_id) from None

    def chunk(self, row: int) -> Chunk:
        doc = self._docs[self.chunks.doc_ids[row]]
        start, end = self.chunks.starts[row], self.chunks.ends[row]
        return Chunk(self.chunks.chunk_ids[row], doc.doc_id, start, end, doc.text[start:end])

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk id (``KeyError`` when none)."""
        if self._row_of is None:
            self._row_of = {c: i for i, c in enumerate(self.chunks.chunk_ids)}
        return self._row_of[chunk_id]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return [self.chunk(self.row_of(c)) for c in chunk_ids]

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        if self._rows_of_doc is None:
            rows: dict[str, list[int]] = {}
            for row, d in enumerate(self.chunks.doc_ids):
                rows.setdefault(d, []).append(row)
            self._rows_of_doc = rows
        return [self.chunk(r) for r in self._rows_of_doc.get(doc_id, [])]

    def passage_text(self, row: int) -> str:
        """Title + chunk text: what was embedded and BM25-indexed for this row."""
        chunk = self.chunk(row)
        return passage_text(self._docs[chunk.doc_id], chunk.text)

    def save(self, directory: Path) -> None:
        lines = (json.dumps(d.to_dict(), ensure_ascii=False) for d in self._docs.values())
        atomic_write_text(directory / DOCUMENTS, "\n".join(lines) + "\n")
        atomic_write_text(directory / CHUNKS, self.chunks.to_json())

    @classmethod
    def load(cls, directory: Path) -> DocumentStore:
        docs = []
        with (directory / DOCUMENTS).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    docs.append(Document(**json.loads(line)))
        chunks = ChunkTable.from_json((directory / CHUNKS).read_text(encoding="utf-8"))
        return cls(docs, chunks)
