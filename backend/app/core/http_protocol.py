"""uvicorn's httptools protocol with the two bounds it lacks: time to receive a request's headers, and
their size. The image selects it with `--http app.core.http_protocol:BoundedHttpToolsProtocol`.

uvicorn holds a connection whose request line and headers trickle in (one byte every few seconds)
forever, and buffers headers of any size. Neither can be done in ASGI middleware: the app only sees a
request once its headers are complete. So:
  - headers must be complete HTTP_HEADER_TIMEOUT_SECONDS after the connection opened (first request)
    or after the request's first byte (later requests on a keep-alive connection; the idle time between
    requests is uvicorn's --timeout-keep-alive); otherwise 408 and the connection is closed;
  - more than HTTP_MAX_HEADER_BYTES before the end of the headers: 431 and the connection is closed.
Bodies are bounded by the app (app/core/body_limits.py); responses, SSE included, are not affected.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.config import Settings

HEADERS_TOO_SLOW = "Request headers not received in time"
HEADERS_TOO_LARGE = "Request headers too large"
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


@cache
def header_bounds() -> tuple[float, int]:
    """(seconds, bytes) from the environment, once per process (the app reads the same Settings)."""
    settings = Settings()
    return settings.http_header_timeout_seconds, settings.http_max_header_bytes


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_seconds, self.max_header_bytes = header_bounds()
        self._header_deadline: asyncio.TimerHandle | None = None
        self._reading_headers = True
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        # Checked after parsing: a read that completes the headers may carry body bytes too.
        if self._reading_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(431, HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._header_bytes = 0
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers = True  # whatever arrives next starts the next request

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_seconds, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request trickling in behind a running one (an SSE stream): bound it later.
            self._arm_header_deadline()
            return
        self._refuse(408, HEADERS_TOO_SLOW)

    def _refuse(self, status: int, detail: str) -> None:
        if self.transport.is_closing():
            return
        body = json.dumps({"detail": detail}).encode()
        head = [f"HTTP/1.1 {status} ".encode() + _REASONS[status] + b"\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
        self._disarm_header_deadline()


__all__ = ["BoundedHttpToolsProtocol", "header_bounds"]
