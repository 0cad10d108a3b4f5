"""The one reader of a request's credentials: the bearer token and the session cookie.

The CSRF guard decides whether a write is cookie-authenticated, and authentication decides who sent it.
If they read the cookie differently (the first `Cookie` header against all of them), a request can look
cookie-less to the guard and still be authenticated by the cookie. Both use this module, and a session
cookie given more than once with different values is refused (400) instead of silently picking one.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from app.core.errors import ApiError

CONFLICTING_COOKIES_DETAIL = "Conflicting session cookies: send the session cookie once"


class ConflictingCookies(ApiError):
    """The session cookie appears more than once with different values."""

    default_detail = CONFLICTING_COOKIES_DETAIL

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def bearer_token(authorization: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header value, else None."""
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def session_cookie(headers: Headers, name: str) -> str | None:
    """The value of cookie `name` over every `Cookie` header (HTTP/2 may split cookies across several).

    Raises ConflictingCookies when it appears with two different values, in one header or across headers.
    """
    values = {
        parsed[name]
        for header in headers.getlist("cookie")
        for pair in header.split(";")
        if name in (parsed := cookie_parser(pair))
    }
    if len(values) > 1:
        raise ConflictingCookies(name)
    return next(iter(values), None) or None


__all__ = ["CONFLICTING_COOKIES_DETAIL", "ConflictingCookies", "bearer_token", "session_cookie"]
