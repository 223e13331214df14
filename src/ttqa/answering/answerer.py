"""Retrieve, read, decide: the extractive answer with numbered citations, or an abstention."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from ttqa.answering.attribution import Asked, asked_attribution, find_attribution
from ttqa.answering.qtype import QType
from ttqa.answering.reader import (
    Passage,
    Reader,
    SpanPrediction,
    key_coverage,
    lexical_score,
    matching_tokens,
    question_view,
)
from ttqa.answering.sentences import sentence_at, sentences_in
from ttqa.answering.spans import QuestionView, tokens_of
from ttqa.filters import FiltersLike
from ttqa.index.store import DocumentStore
from ttqa.retrieval import Mode, Retriever
from ttqa.textnorm import nfc, tokenize
from ttqa.types import Answer, Citation, Document, Hit

CALIBRATION_FILE = "confidence.json"
ATTRIBUTION_CONFIDENCE = 0.9
"""Confidence of a byline / photo credit / publication-date answer read from the best retrieved
article's own line: right for all 8 such seed questions (the article is retrieved first for each);
the remaining risk is a wrong first article."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Logistic confidence over answer evidence, and the abstention threshold."""

    weights: dict[str, float] = field(
        default_factory=lambda: {"bias": -4.0, "lex": 4.0, "cos": 3.0, "span": 0.15, "margin": 1.0}
    )
    threshold: float = 0.5
    meta: dict[str, object] = field(default_factory=dict)

    def confidence(self, features: dict[str, float]) -> float:
        z = self.weights.get("bias", 0.0) + sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def bundled(cls) -> Calibration:
        try:
            text = resources.files("ttqa.answering").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        data = json.loads(text)
        return cls(weights=data["weights"], threshold=float(data["threshold"]), meta=data.get("meta", {}))

    def to_json(self) -> str:
        return json.dumps(
            {"weights": self.weights, "threshold": self.threshold, "meta": self.meta},
            ensure_ascii=False,
            indent=1,
        )


def answer_features(
    question: str, preds: Sequence[SpanPrediction], doc_text: str, *, about: str = ""
) -> dict[str, float]:
    """Evidence for the best span: sentence match, dense similarity, span score, margin, how much
    of the question the whole article covers (near misses name a year, a place or a person the
    article does not mention). ``about``: the article's title and date, where its year often is
    ("năm 2017" of a question about an article dated 2017 that never writes the year)."""
    best = preds[0]
    if len(preds) > 1:
        z = sum(math.exp(p.score - best.score) for p in preds[:10])
        margin = 1.0 / z
    else:
        margin = 1.0
    view = question_view(question)
    sentence = doc_text[best.sentence_start : best.sentence_end]
    doc_tokens = tokenize(doc_text) if view.accented else None  # tokenised once for all features
    present = set(doc_tokens) if doc_tokens is not None else matching_tokens(view, doc_text)
    return {
        "lex": best.lex,
        "cos": best.cos,
        "span": best.score,
        "margin": margin,
        "doc_cov": key_coverage(view, present),
        # 1.0 when a number or year of the question is absent from the article (and its date).
        "rare_missing": float(_numbers_missing(view.keys, doc_text + " " + about)),
        # 1.0 when a proper name of the question ("Hà Tĩnh") is absent from the article.
        "name_missing": float(_name_missing(question, doc_tokens) if doc_tokens else False),
        # 1.0 when a count is asked ("bao nhiêu đại biểu") and the answer is a year ("2025", as
        # in "giai đoạn 2020 - 2025" of an article that does not give the count).
        "count_is_year": float(view.qtype is QType.NUMBER and _is_year_answer(question, best.text)),
        # Share of the words around the question word found in the answer's sentence ("khai mạc"
        # of "khai mạc ngày nào": a near miss answers with the date of another event).
        "slot_cov": _slot_coverage(view, matching_tokens(view, sentence)),
    }


def article_about(doc: Document) -> str:
    """What :func:`answer_features` reads as ``about``: the article's title and date."""
    return f"{doc.title or ''} {doc.date or ''}"


def _slot_coverage(view: QuestionView, sentence_tokens: set[str]) -> float:
    """Share of the question's wh-slot words (:func:`ttqa.answering.qtype.wh_slot`) among
    ``sentence_tokens`` (1.0 when the question has none)."""
    slot = view.slot_before | view.slot_head | view.slot_after
    return sum(k in sentence_tokens for k in slot) / len(slot) if slot else 1.0


_DIGITS_RE = re.compile(r"\d+")


def _numbers_missing(keys: frozenset[str], text: str) -> bool:
    """A number of the question (each digit group of "7/7/2017" on its own, so that "ngày 7-7"
    and a date of 2017 in the article's metadata count) is nowhere in ``text``."""
    present = {g.lstrip("0") for g in _DIGITS_RE.findall(text)}
    asked = {g.lstrip("0") for k in keys if k[:1].isdigit() for g in _DIGITS_RE.findall(k)}
    return bool(asked - present)


_YEAR_RE = re.compile(r"^(?:năm )?(?:19|20)\d\d\b", re.IGNORECASE)
_ASKS_YEARS_RE = re.compile(r"(?:bao nhiêu|bao nhieu|mấy|may)\s+(?:năm|nam)\b", re.IGNORECASE)


def _is_year_answer(question: str, answer: str) -> bool:
    """``answer`` is a year ("2025", "năm 2019") and ``question`` does not ask "bao nhiêu năm"."""
    return bool(_YEAR_RE.match(nfc(answer))) and not _ASKS_YEARS_RE.search(nfc(question))


def _names(question: str) -> list[list[str]]:
    """Runs of two or more capitalised words of the question (not counting its first word)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for k, tok in enumerate(tokens_of(nfc(question))):
        if k > 0 and tok.is_word and tok.is_upper and not tok.is_digit:
            current.append(tok.key)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = []
    if len(current) >= 2:
        runs.append(current)
    return runs


def _name_missing(question: str, doc_tokens: list[str]) -> bool:
    text = " " + " ".join(doc_tokens) + " "
    return any(" " + " ".join(run) + " " not in text for run in _names(question))


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    toks = tokenize(text)
    return {tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))}


def _near_duplicate(a: set[tuple[str, ...]], b: set[tuple[str, ...]], threshold: float = 0.7) -> bool:
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


class Answerer:
    def __init__(
        self,
        store: DocumentStore,
        retriever: Retriever,
        reader: Reader | None = None,
        calibration: Calibration | None = None,
        *,
        max_citations: int = 5,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.reader = reader or Reader(retriever.embedder)
        self.calibration = calibration or Calibration.bundled()
        self.max_citations = max_citations

    def passages(self, hits: Sequence[Hit]) -> list[Passage]:
        top = max((h.score for h in hits), default=0.0) or 1.0
        return [
            Passage(h.doc_id, self.store.get(h.doc_id).text, h.start, h.end, score=max(0.0, h.score / top))
            for h in hits
        ]

    def ask(
        self, question: str, *, k: int = 8, mode: Mode | str = Mode.HYBRID, filters: FiltersLike = None
    ) -> Answer:
        # A question typed without diacritics is read with them restored from the passages
        # (the same restoration dense retrieval uses), so sentence matching, the question type
        # and the confidence see "ai chủ trì", not "ai chu tri".
        found = self.retriever.retrieve(question, k=k, mode=mode, filters=filters)
        hits, reading = found.hits, found.reading
        asked = asked_attribution(question)
        if asked is not None:
            return self._attribution_answer(question, reading, hits, asked)
        passages = self.passages(hits)
        preds = self.reader.read(reading, passages, top=20)
        qtype = question_view(reading).qtype.value
        if not preds:
            return Answer(question, None, None, True, 0.0, self._citations(reading, hits, None), qtype=qtype)
        best = preds[0]
        doc = self.store.get(best.doc_id)
        features = answer_features(reading, preds, doc.text, about=article_about(doc))
        confidence = self.calibration.confidence(features)
        abstained = confidence < self.calibration.threshold
        citations = self._citations(reading, hits, None if abstained else best)
        if abstained:
            return Answer(question, None, None, True, confidence, citations, qtype=qtype)
        return _answered(question, doc, best, confidence, citations, qtype)

    def _attribution_answer(self, question: str, reading: str, hits: Sequence[Hit], asked: Asked) -> Answer:
        """The byline, photo credit or publication date of the best retrieved article
        (:mod:`ttqa.answering.attribution`); an abstention when that article carries none (another
        article's byline would be a confident wrong answer)."""
        qtype = (QType.DATE if asked is Asked.PUBLISHED else QType.PERSON).value
        doc = self.store.get(hits[0].doc_id) if hits else None
        span = find_attribution(doc.text, doc.author, asked) if doc is not None else None
        if doc is None or span is None:
            return Answer(question, None, None, True, 0.0, self._citations(reading, hits, None), qtype=qtype)
        best = SpanPrediction(
            doc_id=doc.doc_id,
            start=span.start,
            end=span.end,
            text=doc.text[span.start : span.end],
            sentence_start=span.line_start,
            sentence_end=span.line_end,
            score=0.0,
            lex=0.0,
            cos=0.0,
            passage_score=1.0,
        )
        return _answered(
            question, doc, best, ATTRIBUTION_CONFIDENCE, self._citations(reading, hits, best), qtype
        )

    def _citations(self, question: str, hits: Sequence[Hit], best: SpanPrediction | None) -> list[Citation]:
        """Numbered from 1 (the answer's source first); near-duplicate passages are cited once."""
        view = question_view(question)
        quotes: list[tuple[str, int, int, float]] = []
        if best is not None:
            quotes.append((best.doc_id, best.sentence_start, best.sentence_end, best.passage_score))
        for hit in hits:
            doc = self.store.get(hit.doc_id)
            if best is not None and hit.doc_id == best.doc_id and hit.start <= best.start < hit.end:
                continue
            # Quote the passage's sentence that shares most words with the question.
            sents = sentences_in(doc.text, hit.start, hit.end) or [sentence_at(doc.text, hit.start)]
            s, e = max(sents, key=lambda se: lexical_score(view, doc.text[se[0] : se[1]]))
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
    best: SpanPrediction,
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
