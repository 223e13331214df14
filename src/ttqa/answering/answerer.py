"""Retrieve, read, decide: the extractive answer with numbered citations, or an abstention."""

from __future__ import annotations

from collections.abc import Sequence

from ttqa.answering.confidence import Calibration, evidence
from ttqa.answering.qtype import question_type
from ttqa.index.backend import Documents
from ttqa.index.filters import FiltersLike
from ttqa.reading.attribution import RoutingReader
from ttqa.reading.base import Passage, Reader, Reading, SpanCandidate, warm_up
from ttqa.reading.sentences import sentence_at, sentences_in
from ttqa.retrieval.retriever import Mode, Retriever
from ttqa.schema import Answer, Citation, Document, Hit
from ttqa.text.normalize import tokenize

ATTRIBUTION_CONFIDENCE = 0.9
"""Confidence of a byline / photo credit / publication-date answer read from the best retrieved
article's own line (right for all 8 such seed questions; the risk left is a wrong first article)."""


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    toks = tokenize(text)
    return {tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))}


def _near_duplicate(a: set[tuple[str, ...]], b: set[tuple[str, ...]], threshold: float = 0.7) -> bool:
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def _overlap(question: set[str], sentence: str) -> int:
    return len(question & set(tokenize(sentence)))


class Answerer:
    """Reads the retrieved passages with a :class:`~ttqa.reading.base.Reader` and answers, or
    abstains when the calibrated confidence is under the threshold."""

    def __init__(
        self,
        store: Documents,
        retriever: Retriever,
        reader: Reader | None = None,
        calibration: Calibration | None = None,
        *,
        max_citations: int = 5,
        threads: int = 0,
    ) -> None:
        """``reader``: default the bundled neural reader on ``threads`` per run (0: the setting)."""
        if reader is None:
            from ttqa.reading.factory import make_reader

            reader = RoutingReader(make_reader(threads=threads))
        self.store = store
        self.retriever = retriever
        self.reader = reader
        self.calibration = calibration or Calibration.bundled()
        self.max_citations = max_citations

    def warm_up(self) -> None:
        """Load the reader's model (exported on first use) and the syllable model that restores
        diacritics before the first question."""
        self.retriever.warm_up()
        warm_up(self.reader)

    def passages(self, hits: Sequence[Hit]) -> list[Passage]:
        top = max((h.score for h in hits), default=0.0) or 1.0
        out = []
        for h in hits:
            doc = self.store.get(h.doc_id)
            out.append(Passage(h.doc_id, doc.text, h.start, h.end, max(0.0, h.score / top), doc.author))
        return out

    def read(
        self, question: str, *, k: int = 8, mode: Mode | str = Mode.HYBRID, filters: FiltersLike = None
    ) -> tuple[str, list[Hit], list[Passage], Reading]:
        """Retrieval and reading of ``question``: the question as read (diacritics restored
        when it had none), the hits, their passages and what the reader found."""
        found = self.retriever.retrieve(question, k=k, mode=mode, filters=filters)
        passages = self.passages(found.hits)
        return found.reading, found.hits, passages, self.reader.read(found.reading, passages, top=10)

    def ask(
        self, question: str, *, k: int = 8, mode: Mode | str = Mode.HYBRID, filters: FiltersLike = None
    ) -> Answer:
        reading, hits, passages, result = self.read(question, k=k, mode=mode, filters=filters)
        qtype = question_type(reading).value
        best = result.best
        if best is None:
            return Answer(question, None, None, True, 0.0, self._citations(reading, hits, None), qtype=qtype)
        if result.source == "attribution":
            confidence = ATTRIBUTION_CONFIDENCE
        else:
            confidence = self.calibration.confidence(evidence(result, passages, reading))
        if confidence < self.calibration.threshold:
            return Answer(
                question, None, None, True, confidence, self._citations(reading, hits, None), qtype=qtype
            )
        doc = self.store.get(best.doc_id)
        return _answered(question, doc, best, confidence, self._citations(reading, hits, best), qtype)

    def _citations(self, question: str, hits: Sequence[Hit], best: SpanCandidate | None) -> list[Citation]:
        """Numbered from 1 (the answer's sentence first); near-duplicate passages are cited once.
        Each other passage is quoted by its sentence sharing most words with the question."""
        words = set(tokenize(question))
        quotes: list[tuple[str, int, int, float]] = []
        if best is not None:
            quotes.append((best.doc_id, best.sentence_start, best.sentence_end, best.passage_score))
        for hit in hits:
            doc = self.store.get(hit.doc_id)
            if best is not None and hit.doc_id == best.doc_id and hit.start <= best.start < hit.end:
                continue
            sents = sentences_in(doc.text, hit.start, hit.end) or [sentence_at(doc.text, hit.start)]
            s, e = max(sents, key=lambda se: _overlap(words, doc.text[se[0] : se[1]]))
            quotes.append((hit.doc_id, s, e, hit.score))
        out: list[Citation] = []
        seen: list[set[tuple[str, ...]]] = []
        for doc_id, s, e, score in quotes:
            doc = self.store.get(doc_id)
            sh = _shingles(doc.text[s:e])
            if any(_near_duplicate(sh, other) for other in seen):
                continue
            seen.append(sh)
            out.append(Citation.of(len(out) + 1, doc, s, e, float(score)))
            if len(out) >= self.max_citations:
                break
        return out


def _answered(
    question: str,
    doc: Document,
    best: SpanCandidate,
    confidence: float,
    citations: list[Citation],
    qtype: str,
) -> Answer:
    """The answer ``best`` (a span of ``doc``) with its sentence and offsets."""
    return Answer(
        question=question,
        text=best.text,
        sentence=doc.text[best.sentence_start : best.sentence_end],
        abstained=False,
        confidence=confidence,
        citations=citations,
        doc_id=best.doc_id,
        start=best.start,
        end=best.end,
        sentence_start=best.sentence_start,
        sentence_end=best.sentence_end,
        qtype=qtype,
    )
