"""Request bodies are bounded in size and in time before anything parses them.

Each route may declare its limit (`openapi_extra=body_limit(n)`, which also publishes it in the API
document as `x-max-body-bytes`); other routes get a small default, and no route more than the process
maximum (REQUEST_BODY_MAX_BYTES, the number the chart's ingress also enforces).

`RequestBodyLimits` reads the whole body before the app runs:
  - a `Content-Length` over the limit is answered 413 at once, without reading a byte of it;
  - a body without a length (chunked) is counted as it arrives and answered 413 as soon as it passes
    the limit, so the process never holds more than the limit (plus the one chunk that crossed it);
  - a body that does not arrive within REQUEST_BODY_TIMEOUT_SECONDS is answered 408.
Both answers close the connection, except a declared body at most DRAIN_ALLOWANCE_BYTES over the limit:
uvicorn reads and discards that much, so the client surely reads its 413 and keeps its connection (a
close with unread input resets the connection, and the client may lose the answer).

The app gets the body as one message, so no parser, FastAPI's or the MCP SDK's, ever sees an oversized
body. Requests without a body (GET, the SSE stream) pass through untouched: the receive channel they
use to notice a disconnect is never wrapped.

Why not FastAPI's own `max_body_size`: it is enforced only once the app reads the body, cannot bound
the time a body takes, and the MCP SDK turns its exception into a 500 for a chunked body.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_LIMIT_KEY = "x-max-body-bytes"
# Worst case of one character in a JSON string: an astral character sent as an escaped surrogate pair
# ("\ud83d\ude00"); string limits count characters (code points), so this bounds what a valid body can take.
MAX_JSON_BYTES_PER_CHAR = 12
TOO_LARGE_DETAIL = "Request body too large: this route accepts at most {limit} bytes"
TOO_SLOW_DETAIL = "Request body not received within {seconds:g} seconds"
DEFAULT_BODY_LIMIT_BYTES = 4096  # routes without a schema-sized body (logout, deletes): `{}` and then some
DRAIN_ALLOWANCE_BYTES = 1024 * 1024


def json_body_budget(*max_chars: int, structure: int = 1024) -> int:
    """Bytes a JSON body needs at most when its strings hold `max_chars` characters each (worst-case
    escaping), plus `structure` bytes for keys, punctuation, numbers and whitespace."""
    return sum(max_chars) * MAX_JSON_BYTES_PER_CHAR + structure


def body_limit(max_bytes: int) -> dict[str, Any]:
    """`openapi_extra` for a route: its body limit, published in the API document and enforced here."""
    return {BODY_LIMIT_KEY: max_bytes}


def declared_body_limit(route: Any) -> int | None:
    """A route's own body limit: from its `openapi_extra`, or a `max_body_bytes` on a plain ASGI endpoint."""
    extra = getattr(route, "openapi_extra", None) or {}
    if BODY_LIMIT_KEY in extra:
        return int(extra[BODY_LIMIT_KEY])
    limit = getattr(getattr(route, "endpoint", None), "max_body_bytes", None)
    return int(limit) if limit is not None else None


class BodyLimitTable:
    """(path pattern, methods, limit) per route that declares a limit; everything else gets the default."""

    def __init__(self, routes: Iterable[BaseRoute], *, default: int, maximum: int) -> None:
        self.default = min(default, maximum)
        self.maximum = maximum
        self._entries: list[tuple[re.Pattern[str], frozenset[str] | None, int]] = []
        for route in iter_route_contexts(list(routes)):  # included routers flattened, as the document sees them
            limit = declared_body_limit(route)
            pattern = getattr(route, "path_regex", None)
            if limit is not None and pattern is not None:
                methods = getattr(route, "methods", None)
                self._entries.append((pattern, frozenset(methods) if methods else None, min(limit, maximum)))

    def limit_for(self, method: str, path: str) -> int:
        for pattern, methods, limit in self._entries:
            if (methods is None or method in methods) and pattern.match(path):
                return limit
        return self.default

    def largest(self) -> int:
        return max([self.default, *(limit for _, _, limit in self._entries)])


class RequestBodyLimits:
    """ASGI middleware: see the module docstring. The table is built from the app's routes on first use
    (routes are added after middleware)."""

    def __init__(self, app: ASGIApp, *, default: int, maximum: int, timeout_seconds: float) -> None:
        self.app = app
        self.default = default
        self.maximum = maximum
        self.timeout_seconds = timeout_seconds
        self._table: BodyLimitTable | None = None

    def table(self, scope: Scope) -> BodyLimitTable:
        if self._table is None:
            self._table = BodyLimitTable(scope["app"].router.routes, default=self.default, maximum=self.maximum)
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            has_body, declared_length = _framing(scope["headers"])
        except ValueError:
            await _refuse(400, "Invalid Content-Length header", send)
            return
        if not has_body:
            await self.app(scope, receive, send)
            return
        limit = self.table(scope).limit_for(scope["method"], scope["path"])
        if declared_length is not None and declared_length > limit:
            close = declared_length - limit > DRAIN_ALLOWANCE_BYTES
            await _refuse(413, TOO_LARGE_DETAIL.format(limit=limit), send, close=close)
            return
        try:
            async with asyncio.timeout(self.timeout_seconds):
                body = await _read_body(receive, limit)
        except TimeoutError:
            await _refuse(408, TOO_SLOW_DETAIL.format(seconds=self.timeout_seconds), send)
            return
        except _BodyTooLarge:
            await _refuse(413, TOO_LARGE_DETAIL.format(limit=limit), send)
            return
        if body is None:  # the client went away mid-body: nobody to answer
            return
        await self.app(scope, _replay(body, receive), send)


class _BodyTooLarge(Exception):
    pass


def _framing(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    """(whether the request has a body, its declared length). HTTP/1.1: a body needs one of the two headers."""
    length: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length":
            if not value.isdigit():  # the HTTP parser refuses these; other servers might not
                raise ValueError(value)
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return chunked or bool(length), None if chunked else length


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the real channel (disconnect notices)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _refuse(status: int, detail: str, send: Send, *, close: bool = True) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body is not worth reading: end the connection instead of draining it
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "BODY_LIMIT_KEY",
    "DEFAULT_BODY_LIMIT_BYTES",
    "DRAIN_ALLOWANCE_BYTES",
    "BodyLimitTable",
    "RequestBodyLimits",
    "body_limit",
    "declared_body_limit",
    "json_body_budget",
]
