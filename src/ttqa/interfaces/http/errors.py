"""Error bodies of the HTTP API: one shape for every 4xx/5xx, in Vietnamese and English.

Every error response is ``{"error": {"code", "message_vi", "message_en", "field"?, "errors"?}}``:

* ``422`` bad input: ``empty_question``, ``question_too_long``, ``invalid_question``,
  ``invalid_mode``, ``invalid_k``, ``invalid_date``, ``invalid_filters``, ``invalid_range``,
  ``invalid_json``, ``invalid_request`` (any other ``TTQAInputError``/``ValueError`` too);
* ``404`` ``unknown_document`` (and ``not_found`` for an unknown route), ``405``
  ``method_not_allowed``;
* ``413`` ``body_too_large`` and ``401`` ``unauthorized`` (see :mod:`ttqa.interfaces.http.security`);
* ``503`` ``not_ready`` (``/ready`` while the model loads);
* ``503`` ``backend_unavailable``: the search backend (Milvus) cannot be reached;
* ``500`` ``internal_error``: a generic message only; the traceback goes to the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ttqa.errors import InvalidModeError, InvalidQuestionError, TTQAError, TTQAInputError
from ttqa.index.backend import BackendError, UnknownDocumentError
from ttqa.index.filters import InvalidFilterError

log = logging.getLogger("ttqa.interfaces.http")


class ApiError(TTQAError):
    """An error with its HTTP status, stable code and messages in both languages."""

    def __init__(
        self, status: int, code: str, message_vi: str, message_en: str, *, field: str | None = None
    ) -> None:
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field


def error_body(
    code: str,
    message_vi: str,
    message_en: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message_vi": message_vi, "message_en": message_en}
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return {"error": body}


def error_response(
    status: int,
    code: str,
    message_vi: str,
    message_en: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message_vi, message_en, field=field, errors=errors),
        status_code=status,
        headers=headers,
    )


# ------------------------------------------------------------------ validation errors
_MESSAGES: dict[str, tuple[str, str]] = {
    "empty_question": ("Câu hỏi trống.", "The question is empty."),
    "invalid_question": ("Câu hỏi phải là một chuỗi văn bản.", "The question must be a text string."),
    "invalid_mode": (
        "Chế độ tìm kiếm không hợp lệ: dùng hybrid, dense hoặc bm25.",
        "Unknown mode: use hybrid, dense or bm25.",
    ),
    "invalid_k": ("k phải là số nguyên từ 1 đến {max_k}.", "k must be an integer from 1 to {max_k}."),
    "invalid_date": (
        "Ngày không hợp lệ: dùng dạng YYYY-MM-DD (ví dụ 2020-11-19).",
        "Invalid date: use YYYY-MM-DD (e.g. 2020-11-19).",
    ),
    "invalid_filters": (
        "Bộ lọc không hợp lệ: chỉ dùng date_from, date_to và sources (danh sách tên nguồn).",
        "Invalid filters: use only date_from, date_to and sources (a list of outlet tags).",
    ),
    "invalid_range": (
        "Vị trí start/end phải là số nguyên không âm.",
        "start/end must be non-negative integers.",
    ),
    "invalid_json": ("Nội dung yêu cầu không phải JSON hợp lệ.", "The request body is not valid JSON."),
    "invalid_request": ("Yêu cầu không hợp lệ.", "Invalid request."),
}


def _message(code: str, **params: object) -> tuple[str, str]:
    vi, en = _MESSAGES[code]
    return vi.format(**params), en.format(**params)


def _validation_code(err: dict[str, Any]) -> str:
    loc = [str(part) for part in err.get("loc", ())]
    kind = str(err.get("type", ""))
    if kind == "json_invalid":
        return "invalid_json"
    where = loc[1:] if loc and loc[0] in {"body", "query", "path"} else loc
    name = where[0] if where else ""
    if name == "question":
        return "empty_question" if kind in {"string_too_short", "missing"} else "invalid_question"
    if name == "mode":
        return "invalid_mode"
    if name == "k":
        return "invalid_k"
    if name in {"start", "end"}:
        return "invalid_range"
    if name == "filters":
        return "invalid_date" if any(p in {"date_from", "date_to"} for p in where[1:]) else "invalid_filters"
    return "invalid_request"


def _plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """loc, msg and type of each error: never the input (it may be huge) nor exception objects."""
    out = []
    for err in errors[:20]:
        if isinstance(err, dict):
            out.append(
                {
                    "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                    "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", "")),
                }
            )
    return out


# ------------------------------------------------------------------ handlers
async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message_vi, exc.message_en, field=exc.field)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first: dict[str, Any] = errors[0] if errors else {}
    code = _validation_code(first)
    from ttqa.interfaces.http.models import MAX_K

    vi, en = _message(code, max_k=MAX_K)
    detail = _plain_errors(errors)
    if detail and code in {"invalid_request", "invalid_filters"}:
        en = f"{en} {detail[0]['msg']}"
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    return error_response(422, code, vi, en, field=field, errors=detail)


async def _input_error(_request: Request, exc: Exception) -> JSONResponse:
    """Library input errors (``TTQAInputError`` and any other ``ValueError``) are 422s."""
    en = str(exc) or "Invalid input."
    if isinstance(exc, InvalidFilterError):
        field = f"body.filters.{exc.field}" if exc.field and exc.field != "filters" else "body.filters"
        return error_response(422, exc.code, exc.message_vi, exc.message_en, field=field)
    if isinstance(exc, InvalidModeError):
        return error_response(422, "invalid_mode", _message("invalid_mode")[0], en, field="body.mode")
    if isinstance(exc, InvalidQuestionError):
        return error_response(422, "invalid_question", f"Câu hỏi không hợp lệ: {en}", en)
    if isinstance(exc, TTQAInputError):
        return error_response(422, "invalid_request", f"Dữ liệu không hợp lệ: {en}", en)
    log.info("ValueError from a request mapped to 422: %s", en)
    return error_response(422, "invalid_request", f"Dữ liệu không hợp lệ: {en}", en)


def _shorten(value: object, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


async def _unknown_document(_request: Request, exc: Exception) -> JSONResponse:
    doc_id = _shorten(exc.args[0] if exc.args else "?")
    return error_response(
        404,
        "unknown_document",
        f"Không có bài viết nào có doc_id {doc_id!r}.",
        f"No stored article has doc_id {doc_id!r}.",
        field="path.doc_id",
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 400:  # FastAPI: a body that cannot be decoded (not UTF-8, not JSON)
        vi, en = _message("invalid_json")
        return error_response(422, "invalid_json", vi, en, field="body", headers=headers)
    if exc.status_code == 404:
        return error_response(
            404, "not_found", "Không tìm thấy đường dẫn này.", "No such path.", headers=headers
        )
    if exc.status_code == 405:
        return error_response(
            405,
            "method_not_allowed",
            "Phương thức HTTP không được hỗ trợ ở đường dẫn này.",
            "This HTTP method is not allowed here.",
            headers=headers,
        )
    en = str(exc.detail) if exc.detail else "HTTP error."
    return error_response(exc.status_code, "http_error", f"Lỗi HTTP {exc.status_code}.", en, headers=headers)


async def _backend_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("search backend error: %s", exc)
    return error_response(
        503,
        "backend_unavailable",
        "Không kết nối được với kho dữ liệu tìm kiếm; vui lòng thử lại sau.",
        f"The search backend is unavailable: {exc}",
    )


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error in a request", exc_info=exc)
    return error_response(
        500,
        "internal_error",
        "Lỗi máy chủ nội bộ; vui lòng thử lại sau.",
        "Internal server error; please try again later.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(UnknownDocumentError, _unknown_document)
    app.add_exception_handler(BackendError, _backend_error)
    app.add_exception_handler(ValueError, _input_error)  # TTQAInputError is a ValueError
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
