"""The reader contract: passages in, ranked answer spans and a no-answer score out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage to read: ``document[start:end]`` of the document ``doc_id``."""

    doc_id: str
    document: str  # the whole stored document text
    start: int
    end: int
    score: float = 1.0  # retrieval evidence in [0, 1]
    author: str | None = None  # the article's author, as its metadata gives it

    @property
    def text(self) -> str:
        """The passage itself: ``document[start:end]``."""
        return self.document[self.start : self.end]


@dataclass(frozen=True, slots=True)
class SpanCandidate:
    """An answer span: ``text == passages[passage].document[start:end]``, inside the sentence
    ``[sentence_start, sentence_end)`` of the same text."""

    doc_id: str
    start: int
    end: int
    text: str
    score: float
    passage: int
    sentence_start: int
    sentence_end: int
    passage_score: float = 1.0


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reader found: spans best first, and its score for "the passages do not answer"
    (on the same scale as the spans' scores)."""

    candidates: list[SpanCandidate] = field(default_factory=list)
    no_answer: float = 0.0
    windows: int = 0
    source: str = "span"
    """Which reader answered: ``span`` (the neural reader) or ``attribution`` (a byline, photo
    credit or publication line of the best article)."""

    @property
    def best(self) -> SpanCandidate | None:
        return self.candidates[0] if self.candidates else None


@runtime_checkable
class Reader(Protocol):
    """Reads passages for a question. Offsets are exact: ``passage.document[c.start:c.end] == c.text``."""

    def read(
        self, question: str, passages: Sequence[Passage], *, top: int = 5, whole: bool = False
    ) -> Reading:
        """The ``top`` best spans. The reader reads the best passages first and stops at its
        budget; ``whole`` reads every passage to its end (reading comprehension of whole
        articles)."""
        ...


def warm_up(reader: Reader) -> None:
    """Read one short passage, so that ``reader`` loads its model (exported on first use)
    before a real question waits for it."""
    text = "Hội nghị khai mạc sáng nay."
    reader.read("Hội nghị khai mạc khi nào?", [Passage("warm-up", text, 0, len(text))])
