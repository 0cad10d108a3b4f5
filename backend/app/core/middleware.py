"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware): request id, instance id, one JSON log line."""

from __future__ import annotations

import logging
import random
import secrets
import socket
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.draining import Draining
from app.core.logging import REQUEST_LOGGER

INSTANCE_ID = socket.gethostname()  # what the logs name (they stay inside the cluster)
_request_logger = logging.getLogger(REQUEST_LOGGER)


def public_instance_id(app_env: str) -> str:
    """What responses name this process by (`X-Instance-Id`, the SSE `ready` event): the host (pod) name in
    dev, an opaque id per process in prod, where host names are internal. Still one id per replica, so
    clients can tell replicas apart; the startup log line pairs it with the host name."""
    return INSTANCE_ID if app_env == "dev" else secrets.token_hex(6)


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, instance_id: str = INSTANCE_ID, draining: Draining | None = None) -> None:
        self.app = app
        self.draining = draining or Draining()
        self.instance_header = (b"x-instance-id", instance_id.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or f"{random.getrandbits(64):016x}"  # no syscall, unlike uuid4
        status_code = 500  # if the app dies before answering, the error handler's 500 is what the client sees

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append(self.instance_header)
                headers.append((b"x-request-id", request_id.encode()))
                if self.draining.started:
                    # A keep-alive connection stays pinned to this stopping replica even after the
                    # Service dropped it; closing it after this answer sends the client's next request
                    # to a live one, instead of onto a socket uvicorn is about to close.
                    headers.append((b"connection", b"close"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _request_logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "request_id": request_id,
                        "instance": INSTANCE_ID,
                    }
                },
            )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")[:64]
            return candidate if candidate.isprintable() and candidate else None
    return None
