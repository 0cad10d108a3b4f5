"""Request dependencies: database session and the authenticated user."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import get_read_session, get_session
from app.core.security import InvalidToken

SESSION_COOKIE = "taskpilot_session"
NOT_AUTHENTICATED = "Not authenticated"

SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]  # read-only endpoints (autocommit)


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """Who is calling: a verified, unexpired, unrevoked token (services/sessions.py)."""

    id: int
    token_version: int
    expires_at: float  # POSIX seconds; open streams end then


def unauthorized(detail: str = NOT_AUTHENTICATED) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


# Declared as security schemes so /docs and the OpenAPI document show how to authenticate.
_bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/auth/login or /signup")
_cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Session cookie set at login")


async def get_current_user(  # async on purpose: a sync dependency would run in the threadpool
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> AuthenticatedUser:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise unauthorized()
    try:
        claims = await request.app.state.authenticator.authenticate(token)
    except InvalidToken:
        raise unauthorized("Invalid or expired token") from None
    return AuthenticatedUser(claims.user_id, claims.version, claims.expires_at)


async def get_optional_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> AuthenticatedUser | None:
    """The caller when the request carries a valid session, else None (for routes open to both)."""
    try:
        return await get_current_user(request, bearer, cookie)
    except HTTPException:
        return None


CurrentUser = Annotated[AuthenticatedUser, Depends(get_current_user)]
OptionalUser = Annotated[AuthenticatedUser | None, Depends(get_optional_user)]

__all__ = [
    "SESSION_COOKIE",
    "AuthenticatedUser",
    "CurrentUser",
    "OptionalUser",
    "ReadSessionDep",
    "SessionDep",
    "get_current_user",
]
