"""Request and response models of the HTTP API (they are what ``/openapi.json`` documents)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ttqa.index.filters import MAX_SOURCES
from ttqa.retrieval.retriever import Mode
from ttqa.validation import MAX_QUESTION_CHARS

MAX_K = 50
"""Largest ``k`` a request may ask for."""

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` strings (or dates): no timestamps, no datetimes."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")


def _whole_number(value: object) -> object:
    """JSON integers, including ``3.0`` (a JSON Schema integer); never booleans or strings."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected an integer")
        return int(value)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
StrictK = Annotated[
    int,
    Field(ge=1, le=MAX_K, strict=True, description=f"Number of passages (1..{MAX_K})."),
    BeforeValidator(_whole_number),
]


class FiltersModel(BaseModel):
    """Restrict the search to some articles, before ranking (so ``k`` hits still come back).

    Dates are inclusive calendar days. An article whose date is unknown or partial (no year,
    e.g. ``--01-03``) is excluded as soon as ``date_from`` or ``date_to`` is given. Sources are
    outlet tags (``ĐTO``, ``TGAG``...) compared case-insensitively; an article without a source
    is excluded when ``sources`` is given; an empty list means any outlet.
    """

    model_config = ConfigDict(extra="forbid")

    date_from: IsoDate | None = Field(None, description="Earliest article date, YYYY-MM-DD (inclusive).")
    date_to: IsoDate | None = Field(None, description="Latest article date, YYYY-MM-DD (inclusive).")
    sources: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=200)]],
            Field(max_length=MAX_SOURCES),
        ]
        | None
    ) = Field(None, description="Outlet tags to keep (any of them).")

    def as_library(self) -> dict[str, Any]:
        return {"date_from": self.date_from, "date_to": self.date_to, "sources": self.sources}


class _QueryBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        description=(
            "The question, in Vietnamese (diacritics optional). Must contain text; at most "
            f"{MAX_QUESTION_CHARS} characters unless the server is configured otherwise."
        ),
        examples=["Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy huyện Vĩnh Tường?"],
    )
    mode: Mode = Field(Mode.HYBRID, description="Retrieval mode: hybrid (default), dense or bm25.")
    filters: FiltersModel | None = None


class SearchRequest(_QueryBase):
    k: StrictK = 10


class AskRequest(_QueryBase):
    k: StrictK = 8


class HitModel(BaseModel):
    """A retrieved passage: ``document(doc_id).text[start:end] == text``."""

    model_config = ConfigDict(extra="allow")

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


class SearchResponse(BaseModel):
    question: str = Field(description="The question as searched (trimmed).")
    mode: Mode
    k: int
    filters: FiltersModel | None = None
    hits: list[HitModel]


class CitationModel(BaseModel):
    """A numbered source passage: ``document(doc_id).text[start:end] == quote``."""

    model_config = ConfigDict(extra="allow")

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
    heading: str = Field(
        "", description="What to show as the article's title: its title, or else its lead sentence."
    )


class AnswerModel(BaseModel):
    """Exactly ``ttqa.Answer.to_dict()``: an extractive answer with citations, or an abstention."""

    model_config = ConfigDict(extra="allow")

    question: str
    text: str | None
    sentence: str | None
    abstained: bool
    confidence: float
    citations: list[CitationModel]
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None
    qtype: str | None = None


class DocumentModel(BaseModel):
    """A stored article; every offset of the API points into its ``text``."""

    doc_id: str
    title: str | None
    date: str | None = Field(description='ISO date ("2020-11-19", "2020-07-25T13:05:15", "--01-03") or null.')
    source: str | None
    author: str | None
    url: str | None
    text: str


class PassageModel(BaseModel):
    """``text == document(doc_id).text[start:end]``."""

    doc_id: str
    title: str | None
    start: int
    end: int
    text: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready", "starting", "failed"]
    detail: str | None = None


class InfoResponse(BaseModel):
    """``qa.info()`` plus the ttqa version (further keys of ``qa.info()`` pass through)."""

    model_config = ConfigDict(extra="allow")

    ttqa_version: str
    ready: bool
    index_dir: str
    version: str
    documents: int
    chunks: int
    embedder: str
    dim: int


class ErrorDetail(BaseModel):
    """What went wrong, in Vietnamese and English; ``code`` is stable, messages are for people."""

    code: str = Field(
        description=(
            "empty_question, question_too_long, invalid_question, invalid_mode, invalid_k, "
            "invalid_date, invalid_filters, invalid_range, invalid_json, invalid_request, "
            "unknown_document, not_found, method_not_allowed, body_too_large, unauthorized, "
            "not_ready, internal_error"
        )
    )
    message_vi: str
    message_en: str
    field: str | None = Field(None, description="The offending field, e.g. body.k or query.start.")
    errors: list[dict[str, Any]] | None = Field(None, description="Every validation problem (English).")


class ErrorResponse(BaseModel):
    error: ErrorDetail
