from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import SESSION_COOKIE, CurrentUser, OptionalUser, ReadSessionDep, Services, SessionDep
from app.core.body_limits import body_limit
from app.core.config import Settings
from app.core.device_cookies import DEVICE_COOKIE, DEVICE_COOKIE_LIFETIME, DEVICE_COOKIE_PATH, DeviceCookies
from app.core.errors import INVALID_TOKEN, NotAuthenticated
from app.schemas.auth import (
    ACCOUNT_DELETION_BODY_BYTES,
    LOGIN_BODY_BYTES,
    SIGNUP_BODY_BYTES,
    AccountDeletionRequest,
    LoginRequest,
    SignupRequest,
    TokenResponse,
    UserRead,
)
from app.schemas.common import error_responses
from app.services import auth as auth_service
from app.services import signup_limits
from app.services.app_services import AppServices
from app.services.login_limits import LoginClient, LoginLimits, account_key

router = APIRouter(prefix="/auth", tags=["auth"])
INVALID_CREDENTIALS = "Incorrect email or password"
THROTTLED = "Too many attempts; retry after `Retry-After` seconds"
# Deleting the account without the password needs a session this fresh (a borrowed, older session cannot).
RECENT_LOGIN_SECONDS = 5 * 60
WRONG_CONFIRMATION = "Incorrect password"
CONFIRMATION_NEEDED = "Confirm with your password: the last login was more than 5 minutes ago"


def _secure_cookie(request: Request, settings: Settings) -> bool:
    """Always in prod (a forged or missing X-Forwarded-Proto must not downgrade it); dev follows the scheme."""
    if settings.app_env == "prod":
        return True
    forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded_proto == "https"


def _clear_session_cookie(request: Request, response: Response, settings: Settings) -> None:
    secure = _secure_cookie(request, settings)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def _issue_session(request: Request, response: Response, services: AppServices, user_id: int, version: int) -> str:
    """A new session for the user: the token (for the body) and the session cookie."""
    token = services.tokens.issue(user_id, version)
    secure = _secure_cookie(request, services.settings)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.jwt_expires_minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return token


def _remember_device(request: Request, response: Response, services: AppServices, email: str) -> None:
    """Mark this client as a known device of the account (a new cookie at every sign-in, as OWASP asks)."""
    response.set_cookie(
        DEVICE_COOKIE,
        services.device_cookies.issue(account_key(auth_service.normalize_email(email))),
        max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()),
        path=DEVICE_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure_cookie(request, services.settings),
    )


def _client_address(request: Request) -> str:
    """The real client's address (the app believes forwarding headers only from TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def _login_client(request: Request, device_cookies: DeviceCookies, email: str) -> LoginClient:
    account = account_key(auth_service.normalize_email(email))
    device = device_cookies.device(request.cookies.get(DEVICE_COOKIE), account)
    return LoginClient(address=_client_address(request), device=device)


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    responses=error_responses(
        400, 403, 408, 409, 413, 415, 422, 429, 503, s409="Email already registered", s429=THROTTLED
    ),
    openapi_extra=body_limit(SIGNUP_BODY_BYTES),
)
async def signup(
    body: SignupRequest, request: Request, response: Response, session: SessionDep, services: Services
) -> TokenResponse:
    settings = services.settings
    await signup_limits.count_attempt(
        session,
        _client_address(request),
        limit=settings.signup_max_per_ip,
        window_seconds=settings.signup_window_seconds,
    )
    user = await auth_service.signup(
        session, services.password_hashing, email=body.email, password=body.password, name=body.name
    )
    token = _issue_session(request, response, services, user.id, user.token_version)
    _remember_device(request, response, services, user.email)
    return TokenResponse(access_token=token, user=UserRead.model_validate(user))


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=error_responses(
        400, 401, 403, 408, 413, 415, 422, 429, 503, s401="Incorrect email or password", s429=THROTTLED
    ),
    openapi_extra=body_limit(LOGIN_BODY_BYTES),
)
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, services: Services
) -> TokenResponse:
    user = await auth_service.authenticate(
        session,
        services.password_hashing,
        LoginLimits.from_settings(services.settings),
        email=body.email,
        password=body.password,
        client=_login_client(request, services.device_cookies, body.email),
    )
    if user is None:
        raise NotAuthenticated(INVALID_CREDENTIALS)
    token = _issue_session(request, response, services, user.id, user.token_version)
    _remember_device(request, response, services, user.email)
    return TokenResponse(access_token=token, user=UserRead.model_validate(user))


@router.get("/me", response_model=UserRead, responses=error_responses(401, 503))
async def me(current: CurrentUser, session: ReadSessionDep) -> UserRead:
    user = await auth_service.get_user(session, current.id)
    if user is None:  # valid signature but the account is gone
        raise NotAuthenticated(INVALID_TOKEN)
    return UserRead.model_validate(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(403, 415))
async def logout(request: Request, response: Response, current: OptionalUser, services: Services) -> None:
    """Ends every session of the caller (all tokens issued so far, open event streams included) and
    clears the cookie. Without a valid token there is nothing to revoke: the cookie is cleared anyway."""
    if current is not None:
        await services.token_versions.revoke(current.id)
    _clear_session_cookie(request, response, services.settings)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the caller's account and everything in it",
    responses=error_responses(
        400,
        401,
        403,
        408,
        413,
        422,
        429,
        503,
        s403=f"{WRONG_CONFIRMATION}, or no password and a login older than {RECENT_LOGIN_SECONDS // 60} minutes "
        "(or a cross-site request)",
        s429=THROTTLED,
    ),
    openapi_extra=body_limit(ACCOUNT_DELETION_BODY_BYTES),
)
async def delete_me(
    request: Request,
    response: Response,
    current: CurrentUser,
    session: SessionDep,
    services: Services,
    body: AccountDeletionRequest | None = None,
) -> None:
    """Deletes the account with its tasks and assistant conversations, ends every session (all tokens,
    open event streams, on every replica) and clears the cookie. Needs the password, unless the token
    comes from a login (or signup) of the last few minutes."""
    password = body.password if body is not None else None
    if password is not None:
        await _confirm_password(request, session, services, current.id, password)
    elif time.time() - current.issued_at > RECENT_LOGIN_SECONDS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=CONFIRMATION_NEEDED)
    await auth_service.delete_account(session, current.id)
    # This process at once (the deletion trigger's NOTIFY tells the others, and closes the streams).
    services.token_versions.on_revoked(current.id, None)
    _clear_session_cookie(request, response, services.settings)


async def _confirm_password(
    request: Request, session: AsyncSession, services: AppServices, user_id: int, password: str
) -> None:
    """The password check of a login, with its failure limits: guessing here costs what guessing at login does."""
    user = await auth_service.get_user(session, user_id)
    if user is None:
        raise NotAuthenticated(INVALID_TOKEN)
    confirmed = await auth_service.confirm_password(
        session,
        services.password_hashing,
        LoginLimits.from_settings(services.settings),
        user=user,
        password=password,
        client=_login_client(request, services.device_cookies, user.email),
    )
    if not confirmed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=WRONG_CONFIRMATION)
