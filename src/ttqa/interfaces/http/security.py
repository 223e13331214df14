"""HTTP hardening of the API as plain ASGI middleware: request body size limit and API key.

* :class:`BodySizeLimit` refuses a body over ``max_bytes`` with 413 before anything parses it:
  at once from ``Content-Length``, and while reading for chunked bodies (no ``Content-Length``).
  The app then gets the whole body, already read, in one message.
* :class:`ApiKeyAuth` requires the key (``X-API-Key: <key>`` or ``Authorization: Bearer <key>``,
  compared with :func:`hmac.compare_digest`) on every path except the exempt ones (``/health``);
  a missing or wrong key is a 401. The key is never logged nor echoed.

Both answer with the API's error body ``{"error": {"code", "message_vi", "message_en"}}``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ttqa.interfaces.http.errors import error_response

DEFAULT_MAX_BODY_BYTES = 64 * 1024


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", ()) if key.lower() == name]


def _too_large(limit: int) -> JSONResponse:
    return error_response(
        413,
        "body_too_large",
        f"Nội dung yêu cầu vượt quá giới hạn {limit} byte.",
        f"The request body is over the limit of {limit} bytes.",
        headers={"connection": "close"},  # the rest of the body is never read
    )


class BodySizeLimit:
    """413 for a request body over ``max_bytes``, checked before the app reads or parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for value in _header(scope, b"content-length"):
            try:
                declared = int(value)
            except ValueError:
                continue  # the server itself refuses a malformed Content-Length
            if declared > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            if message["type"] != "http.request":
                continue
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:  # chunked (or lying about its length)
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        buffered: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal buffered
            if buffered is not None:
                message, buffered = buffered, None
                return message
            return await receive()  # after the body: wait for http.disconnect as usual

        await self.app(scope, replay, send)


class ApiKeyAuth:
    """401 unless the request carries the API key; ``exempt`` paths need none."""

    def __init__(self, app: ASGIApp, api_key: str, exempt: Iterable[str] = ("/health",)) -> None:
        if not api_key:
            raise ValueError("the API key is empty")
        self.app = app
        self._key = api_key.encode("utf-8")
        self.exempt = frozenset(exempt)

    def __repr__(self) -> str:  # never show the key
        return f"ApiKeyAuth(exempt={sorted(self.exempt)!r})"

    def _authorised(self, scope: Scope) -> bool:
        offered = list(_header(scope, b"x-api-key"))
        for value in _header(scope, b"authorization"):
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                offered.append(token.strip())
        # compare_digest with every offer (no early exit on the first match)
        matches = [hmac.compare_digest(value.strip(), self._key) for value in offered]
        return any(matches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        response = error_response(
            401,
            "unauthorized",
            "Thiếu hoặc sai khóa API: gửi khóa trong header X-API-Key hoặc Authorization: Bearer <khóa>.",
            "Missing or wrong API key: send it in the X-API-Key header or as Authorization: Bearer <key>.",
            headers={"www-authenticate": 'Bearer realm="ttqa"'},
        )
        await response(scope, receive, send)
