"""The FastAPI application over one loaded :class:`~ttqa.qa.QA`.

Endpoints are plain ``def`` functions, so FastAPI runs them in its thread pool: requests are
served concurrently (model encoding, FAISS and BM25 release the GIL) over the one QA object
and the one model, loaded once.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

import ttqa
from ttqa.errors import InvalidQuestionError
from ttqa.interfaces.http.errors import ApiError, install_error_handlers
from ttqa.interfaces.http.models import (
    AnswerModel,
    AskRequest,
    DocumentModel,
    ErrorResponse,
    FiltersModel,
    HealthResponse,
    HitModel,
    InfoResponse,
    PassageModel,
    ReadyResponse,
    SearchRequest,
    SearchResponse,
)
from ttqa.interfaces.http.security import DEFAULT_MAX_BODY_BYTES, ApiKeyAuth, BodySizeLimit
from ttqa.qa import QA
from ttqa.validation import MAX_QUESTION_CHARS, check_question

log = logging.getLogger("ttqa.interfaces.http")

DESCRIPTION = """\
Extractive question answering with citations over Vietnamese news about Party organisation work.

* `POST /ask`: the answer (a span copied from an article) with numbered citations, or an abstention;
  the body is exactly the library's `Answer.to_dict()`.
* `POST /search`: the best passages.
* `GET /documents/{doc_id}`: a stored article; with `?start=&end=` the passage `text[start:end]`.
  Every offset in answers, citations and hits points into the article's `text`.
* `GET /health` (the process is up), `GET /ready` (index and model loaded; 503 until then), `GET /info`.

Filters `{date_from?, date_to?, sources?}` restrict the search before ranking. Dates are inclusive
`YYYY-MM-DD`; articles with an unknown or partial date (no year, e.g. `--01-03`) are excluded by a
date filter. Sources are outlet tags compared case-insensitively.

Errors always have the body `{"error": {"code", "message_vi", "message_en", "field"?, "errors"?}}`:
422 for bad input, 404 for an unknown document, 413 for a request body over the size limit
(64 KiB by default), 401 for a missing or wrong API key (only when the server has one:
`X-API-Key: <key>` or `Authorization: Bearer <key>`, on every endpoint except `/health`),
500 (generic message only) for a server fault.
"""

_ERR = {"model": ErrorResponse}
INPUT_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {**_ERR, "description": "The request body is over the size limit (64 KiB by default)."},
    422: {**_ERR, "description": "Invalid input (empty/over-long question, k, mode, filters...)."},
    500: {**_ERR, "description": "Internal error (generic message; details in the server log)."},
}
DOCUMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {**_ERR, "description": "No stored article has this doc_id."},
    422: INPUT_ERRORS[422],
    500: INPUT_ERRORS[500],
}
PLAIN_ERRORS: dict[int | str, dict[str, Any]] = {500: INPUT_ERRORS[500]}


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Settings of the HTTP API."""

    max_question_chars: int = MAX_QUESTION_CHARS
    """Longer questions get a 422 ``question_too_long``. Only lowering it is useful: the library
    refuses questions over 1,000 characters anyway (422 ``invalid_question``)."""
    warmup: bool = True
    """Load the model at startup by answering ``warmup_question``; ``/ready`` is 503 until done."""
    warmup_question: str = "Ai chủ trì hội thảo góp ý đề án tổ chức bộ máy?"
    title: str = "ttqa"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Request bodies over this many bytes get a 413 ``body_too_large`` before they are parsed
    (from ``Content-Length``, or while reading a chunked body)."""
    api_key: str | None = field(default=None, repr=False)
    """When set, every endpoint except ``/health`` (``/docs`` and ``/openapi.json`` included)
    needs ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; else 401 ``unauthorized``.
    ``ttqa api`` takes it from ``$TTQA_API_KEY``."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API (CORS). Empty: no CORS headers at all, so
    browsers refuse cross-origin calls."""


class Readiness:
    """Whether the warm-up (model loaded, one question answered) has finished."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self.error is None

    @property
    def status(self) -> str:
        if not self._done.is_set():
            return "starting"
        return "failed" if self.error else "ready"

    def wait(self, timeout: float | None = None) -> bool:
        self._done.wait(timeout)
        return self.ready

    def mark_ready(self) -> None:
        self._done.set()

    def warm_up(self, qa: QA, question: str) -> None:
        try:
            qa.warm_up()
            qa.ask(question)
        except Exception as exc:  # reported by /ready, never raised into the server
            log.exception("warm-up failed")
            self.error = f"warm-up failed: {type(exc).__name__}: {exc}"
        finally:
            self._done.set()


def _check_question(question: str, settings: ApiSettings) -> str:
    try:
        cleaned = check_question(question, max_chars=sys.maxsize)
    except InvalidQuestionError:
        raise ApiError(
            422, "empty_question", "Câu hỏi trống.", "The question is empty.", field="body.question"
        ) from None
    limit = settings.max_question_chars
    if len(cleaned) > limit:
        raise ApiError(
            422,
            "question_too_long",
            f"Câu hỏi dài {len(cleaned)} ký tự, vượt quá giới hạn {limit} ký tự.",
            f"The question is {len(cleaned)} characters long; the limit is {limit}.",
            field="body.question",
        )
    return cleaned


def _filters(model: FiltersModel | None) -> dict[str, Any] | None:
    return model.as_library() if model is not None else None


AUTH_EXEMPT = ("/health",)


def _install_http_guards(app: FastAPI, cfg: ApiSettings) -> None:
    """Body limit (innermost), then the API key, then CORS (outermost: preflights need no key)."""
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
    if cfg.api_key:
        app.add_middleware(ApiKeyAuth, api_key=cfg.api_key, exempt=AUTH_EXEMPT)
        _document_api_key(app)
    if cfg.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
            max_age=600,
        )


def _document_api_key(app: FastAPI) -> None:
    """Declare the key in ``/openapi.json``: two schemes, and a 401 on every guarded operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(
            {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerKey": {"type": "http", "scheme": "bearer"},
            }
        )
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                if path in AUTH_EXEMPT:
                    operation["security"] = []
                    continue
                operation["security"] = [{"ApiKeyHeader": []}, {"BearerKey": []}]
                operation.setdefault("responses", {})["401"] = {
                    "description": "Missing or wrong API key.",
                    "content": {"application/json": {"schema": ref}},
                }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(qa: QA, settings: ApiSettings | None = None) -> FastAPI:
    """The HTTP API over ``qa`` (loaded once, shared by every request)."""
    cfg = settings or ApiSettings()
    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if cfg.warmup:
            threading.Thread(
                target=readiness.warm_up, args=(qa, cfg.warmup_question), name="ttqa-warmup", daemon=True
            ).start()
        else:
            readiness.mark_ready()
        yield

    app = FastAPI(
        title=cfg.title,
        version=ttqa.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.qa = qa
    app.state.settings = cfg
    app.state.readiness = readiness
    install_error_handlers(app)
    _install_http_guards(app, cfg)

    @app.post("/search", response_model=SearchResponse, responses=INPUT_ERRORS, tags=["qa"])
    def search(request: SearchRequest) -> SearchResponse:
        """The ``k`` passages that best match the question."""
        question = _check_question(request.question, cfg)
        hits = qa.search(question, k=request.k, mode=request.mode, filters=_filters(request.filters))
        return SearchResponse(
            question=question,
            mode=request.mode,
            k=request.k,
            filters=request.filters,
            hits=[HitModel.model_validate(h.to_dict()) for h in hits],
        )

    @app.post("/ask", response_model=AnswerModel, responses=INPUT_ERRORS, tags=["qa"])
    def ask(request: AskRequest) -> dict[str, Any]:
        """The extractive answer with numbered citations (``Answer.to_dict()``), or an abstention."""
        question = _check_question(request.question, cfg)
        answer = qa.ask(question, k=request.k, mode=request.mode, filters=_filters(request.filters))
        return answer.to_dict()

    @app.get(
        "/documents/{doc_id:path}",
        response_model=DocumentModel | PassageModel,
        responses=DOCUMENT_ERRORS,
        tags=["documents"],
    )
    def document(
        doc_id: Annotated[str, Path(description="The article's doc_id.")],
        start: Annotated[int | None, Query(ge=0, description="Passage start offset.")] = None,
        end: Annotated[int | None, Query(ge=0, description="Passage end offset (exclusive).")] = None,
    ) -> DocumentModel | PassageModel:
        """The stored article, or with ``start``/``end`` the passage ``text[start:end]``."""
        doc = qa.document(doc_id)
        if start is None and end is None:
            return DocumentModel(
                doc_id=doc.doc_id,
                title=doc.title,
                date=doc.date,
                source=doc.source,
                author=doc.author,
                url=doc.url,
                text=doc.text,
            )
        n = len(doc.text)
        lo = 0 if start is None else start
        hi = n if end is None else end
        if not 0 <= lo < hi <= n:
            raise ApiError(
                422,
                "invalid_range",
                f"Đoạn [{lo}, {hi}) nằm ngoài bài viết: cần 0 ≤ start < end ≤ {n}.",
                f"Passage [{lo}, {hi}) is out of range: need 0 <= start < end <= {n}.",
                field="query.start" if lo >= n or lo >= hi else "query.end",
            )
        return PassageModel(doc_id=doc.doc_id, title=doc.title, start=lo, end=hi, text=doc.text[lo:hi])

    @app.get("/health", response_model=HealthResponse, responses=PLAIN_ERRORS, tags=["service"])
    def health() -> HealthResponse:
        """The process is up and serving requests."""
        return HealthResponse()

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        responses={503: {"model": ReadyResponse, "description": "Still loading, or the warm-up failed."}},
        tags=["service"],
    )
    def ready() -> Any:
        """200 once the index and the model are loaded (warm-up question answered), else 503."""
        body = ReadyResponse.model_validate({"status": readiness.status, "detail": readiness.error})
        if readiness.ready:
            return body
        return JSONResponse(body.model_dump(), status_code=503)

    @app.get("/info", response_model=InfoResponse, responses=PLAIN_ERRORS, tags=["service"])
    def info() -> dict[str, Any]:
        """The index (``qa.info()``) and the ttqa version."""
        return {**qa.info(), "ttqa_version": ttqa.__version__, "ready": readiness.ready}

    return app
