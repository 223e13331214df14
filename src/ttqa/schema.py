"""Plain data types shared by every layer of ttqa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """One article as stored in the index.

    ``text`` is the cleaned, NFC-normalised article body; every offset in ttqa
    (chunks, hits, answers, citations) points into this string.
    """

    doc_id: str
    text: str
    title: str | None = None
    date: str | None = None
    """ISO-8601 date as found in the article ("2020-11-19", "2020-07-25T13:05:15",
    or a partial "--01-03" when the article gives no year). ``None`` when unknown."""
    source: str | None = None
    author: str | None = None
    url: str | None = None
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """What to show as the article's title: its title, or else its lead sentence."""
        from ttqa.reading.sentences import lead_sentence

        return self.title or lead_sentence(self.text) or self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with its score and the metadata of its article."""

    doc_id: str
    chunk_id: str
    title: str | None
    date: str | None
    source: str | None
    text: str
    start: int
    end: int
    score: float
    rank: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source passage: ``document(doc_id).text[start:end] == quote``."""

    n: int
    doc_id: str
    title: str | None
    date: str | None
    source: str | None
    path: str | None
    start: int
    end: int
    quote: str
    score: float
    heading: str = ""
    """What to show as the article's title (:attr:`Document.heading`: its title or lead sentence)."""

    @property
    def display_title(self) -> str:
        """The article's heading, else its title, else its id: what a person sees as its name."""
        return self.heading or self.title or self.doc_id

    def relevance_rank(self, citations: Sequence[Citation]) -> int:
        """1 for the most relevant of ``citations`` (by retrieval score), 2 for the next, …"""
        return 1 + sum(other.score > self.score for other in citations)

    @classmethod
    def of(cls, n: int, doc: Document, start: int, end: int, score: float) -> Citation:
        """Citation ``n`` of ``doc.text[start:end]``, with the article's metadata."""
        return cls(
            n,
            doc.doc_id,
            doc.title,
            doc.date,
            doc.source,
            doc.path,
            start,
            end,
            doc.text[start:end],
            score,
            doc.heading,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Answer:
    """An extractive answer: a span copied from an article, or an abstention.

    When not abstaining, ``text`` is ``document(doc_id).text[start:end]`` of the
    first citation's article, and ``sentence`` is the sentence around it
    (``sentence_start``/``sentence_end`` in the same text).
    """

    question: str
    text: str | None
    sentence: str | None
    abstained: bool
    confidence: float
    citations: list[Citation]
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None
    qtype: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
