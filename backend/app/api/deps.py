"""Request dependencies: database session and the authenticated user."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import get_read_session, get_session
from app.core.security import InvalidToken, user_from_token

SESSION_COOKIE = "taskpilot_session"
NOT_AUTHENTICATED = "Not authenticated"

SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]  # read-only endpoints (autocommit)


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """Who is calling, taken from the JWT alone (no database round trip on the hot path)."""

    id: int


def token_from_request(request: Request) -> str | None:
    """Bearer header first, then the session cookie (browsers, EventSource)."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return request.cookies.get(SESSION_COOKIE) or None


def unauthorized(detail: str = NOT_AUTHENTICATED) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


# Declared as security schemes so /docs and the OpenAPI document show how to authenticate.
_bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/login or /signup")
_cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Session cookie set at login")


async def get_current_user(  # async on purpose: a sync dependency would run in the threadpool
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> AuthenticatedUser:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise unauthorized()
    try:
        return AuthenticatedUser(id=user_from_token(token))
    except InvalidToken:
        raise unauthorized("Invalid or expired token") from None


CurrentUser = Annotated[AuthenticatedUser, Depends(get_current_user)]

__all__ = [
    "SESSION_COOKIE",
    "AuthenticatedUser",
    "CurrentUser",
    "ReadSessionDep",
    "SessionDep",
    "get_current_user",
    "token_from_request",
    "user_from_token",
]
