from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from app.api.deps import SESSION_COOKIE, CurrentUser, ReadSessionDep, SessionDep, unauthorized
from app.core.config import get_settings
from app.core.security import create_access_token
from app.schemas.auth import LoginRequest, SignupRequest, TokenResponse, UserRead
from app.schemas.common import error_responses
from app.services import auth as auth_service

router = APIRouter(prefix="/auth", tags=["auth"])
INVALID_CREDENTIALS = "Incorrect email or password"


def _came_over_https(request: Request) -> bool:
    forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded_proto == "https"


def _issue_session(request: Request, response: Response, user_id: int) -> str:
    token = create_access_token(user_id)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=get_settings().jwt_expires_minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_came_over_https(request),
    )
    return token


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    responses=error_responses(400, 403, 409, 415, 422, 429, 503, s409="Email already registered"),
)
async def signup(body: SignupRequest, request: Request, response: Response, session: SessionDep) -> TokenResponse:
    try:
        user = await auth_service.signup(session, email=body.email, password=body.password, name=body.name)
    except auth_service.EmailAlreadyRegistered:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Email already registered") from None
    token = _issue_session(request, response, user.id)
    return TokenResponse(access_token=token, user=UserRead.model_validate(user))


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=error_responses(400, 401, 403, 415, 422, 429, 503, s401="Incorrect email or password"),
)
async def login(body: LoginRequest, request: Request, response: Response, session: SessionDep) -> TokenResponse:
    user = await auth_service.authenticate(session, email=body.email, password=body.password)
    if user is None:
        raise unauthorized(INVALID_CREDENTIALS)
    token = _issue_session(request, response, user.id)
    return TokenResponse(access_token=token, user=UserRead.model_validate(user))


@router.get("/me", response_model=UserRead, responses=error_responses(401, 503))
async def me(current: CurrentUser, session: ReadSessionDep) -> UserRead:
    user = await auth_service.get_user(session, current.id)
    if user is None:  # valid signature but the account is gone
        raise unauthorized("Invalid or expired token")
    return UserRead.model_validate(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(403, 415))
async def logout(request: Request, response: Response) -> None:
    """Clears the session cookie (tokens are stateless; a bearer client just forgets its token)."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_came_over_https(request))
