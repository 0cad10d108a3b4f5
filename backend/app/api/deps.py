"""Request dependencies: the app's services, database sessions and the authenticated user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.credentials import bearer_token, session_cookie
from app.core.errors import INVALID_TOKEN, ApiError, NotAuthenticated
from app.core.security import InvalidToken
from app.services.app_services import AppServices, TaskPilotApp

SESSION_COOKIE = "taskpilot_session"


def services_of(request: Request) -> AppServices:
    """The services of the app serving this request (create_app built them)."""
    app: TaskPilotApp = request.app
    return app.services


# Dependencies are async: a plain function would cost a thread-pool hop on every request.
async def get_services(request: Request) -> AppServices:
    return services_of(request)


async def get_settings(request: Request) -> Settings:
    return services_of(request).settings


async def get_task_pool(request: Request) -> AsyncConnectionPool:
    """The plain-connection pool of the task hot path (routes check a connection out inline, so it goes
    back before the response is sent)."""
    return services_of(request).db.pool


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (and rolled back if uncommitted) afterwards."""
    async with services_of(request).db.sessionmaker() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For read-only requests: autocommit, so no transaction round trips. Never write with it."""
    async with services_of(request).db.read_sessionmaker() as session:
        yield session


Services = Annotated[AppServices, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TaskPool = Annotated[AsyncConnectionPool, Depends(get_task_pool)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]  # read-only endpoints (autocommit)


@dataclass(frozen=True, slots=True)
class AuthenticatedUser:
    """Who is calling: a verified, unexpired, unrevoked token (services/sessions.py)."""

    id: int
    token_version: int
    expires_at: float  # POSIX seconds; open streams end then
    issued_at: float = 0.0  # POSIX seconds: the login that produced the token


class SessionAuth(SecurityBase):
    """The caller's session: `Authorization: Bearer <token>`, else the session cookie (browsers, EventSource).

    One dependency doing both (rather than FastAPI's HTTPBearer + APIKeyCookie plus a third combining
    them): every authenticated request resolves it, and each dependency level costs time on the hot path.
    Declared as a security scheme so /docs and the OpenAPI document show how to authenticate.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            description=(
                f"Access token from /api/auth/login or /signup (browsers send the {SESSION_COOKIE} cookie instead)"
            )
        )
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> AuthenticatedUser:  # async: no threadpool hop
        user = await authenticate_request(request)
        if user is None:
            raise NotAuthenticated
        return user


async def authenticate_request(request: Request) -> AuthenticatedUser | None:
    """The caller, or None for a request without a token. Raises NotAuthenticated for an invalid, expired or
    revoked token, and ConflictingCookies for a session cookie sent twice with different values."""
    token = bearer_token(request.headers.get("authorization")) or session_cookie(request.headers, SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = await services_of(request).authenticator.authenticate(token)
    except InvalidToken:
        raise NotAuthenticated(INVALID_TOKEN) from None
    return AuthenticatedUser(claims.user_id, claims.version, claims.expires_at, claims.issued_at)


async def get_optional_user(request: Request) -> AuthenticatedUser | None:
    """The caller when the request carries a valid session, else None. Not a security scheme: routes using
    it (logout) work without a session, and the OpenAPI document must not say otherwise."""
    try:
        return await authenticate_request(request)
    except ApiError:
        return None


get_current_user = SessionAuth()
CurrentUser = Annotated[AuthenticatedUser, Depends(get_current_user)]
OptionalUser = Annotated[AuthenticatedUser | None, Depends(get_optional_user)]

__all__ = [
    "SESSION_COOKIE",
    "AuthenticatedUser",
    "CurrentUser",
    "OptionalUser",
    "ReadSessionDep",
    "Services",
    "SessionDep",
    "SettingsDep",
    "TaskPool",
    "bearer_token",
    "get_current_user",
]
