"""Cross-site request forgery guard for requests the session cookie authenticates.

A browser attaches the session cookie to any request to our origin, including a form POST or a no-cors
fetch started by another site. Such requests can only carry a form or text body and cannot set custom
headers without a CORS preflight we never grant. So an unsafe request that carries the cookie (and no
bearer token) must
  - come from our own origin: `Origin` equal to this app's origin (or a configured CORS origin), or
    `Sec-Fetch-Site: same-origin` (both are set by the browser; a page cannot forge them) -> else 403;
  - send JSON: `Content-Type: application/json` on POST/PUT/PATCH -> else 415.
Bearer-token clients (scripts, MCP) never have ambient credentials and are not affected.
The cookie is read exactly as authentication reads it (app/core/credentials.py); a session cookie sent
twice with different values is refused with 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.credentials import CONFLICTING_COOKIES_DETAIL, ConflictingCookies, bearer_token, session_cookie

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
CROSS_SITE_DETAIL = "Cross-site request refused: send it from the app's own origin (Origin or Sec-Fetch-Site)"
NOT_JSON_DETAIL = "Send the request body as JSON (Content-Type: application/json)"


class CookieCsrfGuard:
    def __init__(
        self, app: ASGIApp, *, cookie_name: str, trusted_origins: Iterable[str] = (), path_prefix: str = "/api/"
    ):
        self.app = app
        self.cookie_name = cookie_name
        self.trusted_origins = frozenset(_normalized_origin(origin) for origin in trusted_origins)
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not scope["path"].startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            authenticated_by_cookie = self._authenticated_by_cookie(headers)
        except ConflictingCookies:
            await _refuse(400, CONFLICTING_COOKIES_DETAIL, send)
            return
        if not authenticated_by_cookie:
            await self.app(scope, receive, send)
            return
        if not self._same_origin(headers, scope):
            await _refuse(403, CROSS_SITE_DETAIL, send)
            return
        if scope["method"] in METHODS_WITH_BODY and not _is_json(headers.get("content-type")):
            await _refuse(415, NOT_JSON_DETAIL, send)
            return
        await self.app(scope, receive, send)

    def _authenticated_by_cookie(self, headers: Headers) -> bool:
        if bearer_token(headers.get("authorization")):
            return False  # the bearer token is what authenticates (see api/deps.get_current_user)
        return session_cookie(headers, self.cookie_name) is not None

    def _same_origin(self, headers: Headers, scope: Scope) -> bool:
        if headers.get("sec-fetch-site") == "same-origin":
            return True
        origin = headers.get("origin")
        if not origin or origin == "null":
            return False
        origin = _normalized_origin(origin)
        return origin == _own_origin(headers, scope) or origin in self.trusted_origins


def _own_origin(headers: Headers, scope: Scope) -> str:
    """This app's origin as the browser sees it (behind the frontend proxy or an ingress: the forwarded host)."""
    scheme = (headers.get("x-forwarded-proto") or scope.get("scheme", "http")).split(",")[0].strip()
    host = (headers.get("x-forwarded-host") or headers.get("host") or "").split(",")[0].strip()
    return _normalized_origin(f"{scheme}://{host}")


def _normalized_origin(origin: str) -> str:
    scheme, _, host = origin.strip().lower().rstrip("/").partition("://")
    name, _, port = host.rpartition(":") if host.rsplit(":", 1)[-1].isdigit() else (host, "", "")
    return f"{scheme}://{name}" if port == DEFAULT_PORTS.get(scheme) else f"{scheme}://{host}"


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def _refuse(status: int, detail: str, send: Send) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
