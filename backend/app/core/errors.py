"""The one error path: every refusal and failure becomes the documented error shape here.

Services raise `ApiError` subclasses, which carry their status, their sentence and, for refusals that
pass with time, Retry-After; routes let them through. `install_error_handlers` maps those, FastAPI's
own errors (validation, 404/405) and database failures into `{"detail": ..., "errors": [...]}`
(app/schemas/common.py ErrorResponse), once for the whole app.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError as DriverOperationalError
from psycopg.errors import ForeignKeyViolation
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.allowed_methods import allowed_methods
from app.core.responses import LenientJSONResponse

logger = logging.getLogger("taskpilot.app")

INVALID_TOKEN = "Invalid or expired token"  # noqa: S105 (a message, not a credential)


class ApiError(Exception):
    """A refusal the API answers in its error shape: `status_code`, `detail` (one sentence), and
    `retry_after` seconds (sent as Retry-After) when waiting is the remedy."""

    status_code: ClassVar[int] = status.HTTP_400_BAD_REQUEST
    default_detail: ClassVar[str] = "Bad request"
    default_retry_after: ClassVar[int | None] = None

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        self.detail = detail or self.default_detail
        self.retry_after = self.default_retry_after if retry_after is None else retry_after
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class NotAuthenticated(ApiError):
    """No valid session: missing, invalid, expired or revoked credentials, or an account that is gone."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Not authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


def _validation_message(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "Invalid request"
    first = errors[0]
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{location}: {first.get('msg', 'invalid value')}" if location else str(first.get("msg", "Invalid request"))


def _references_a_deleted_user(error: Exception) -> bool:
    """A foreign-key violation on a `<table>_user_id_fkey` constraint: the row's user no longer exists."""
    driver_error = getattr(error, "orig", error)  # SQLAlchemy wraps the psycopg error
    return isinstance(driver_error, ForeignKeyViolation) and (driver_error.diag.constraint_name or "").endswith(
        "_user_id_fkey"
    )


def _answer(error: ApiError) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _answer(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        # One error shape: detail is always a sentence; the structured list goes in `errors`.
        errors = [
            {"loc": list(issue.get("loc", ())), "msg": str(issue.get("msg", "")), "type": str(issue.get("type", ""))}
            for issue in jsonable_encoder(error.errors())
        ]
        return LenientJSONResponse({"detail": _validation_message(errors), "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.scope))
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(DriverOperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        logger.warning("database unavailable", extra={"fields": {"error": type(error).__name__}})
        return JSONResponse({"detail": "Database unavailable, try again shortly"}, status_code=503)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=error, extra={"fields": {"path": request.url.path}})
        return JSONResponse({"detail": "Internal server error"}, status_code=500)

    @app.exception_handler(IntegrityError)
    @app.exception_handler(ForeignKeyViolation)
    async def integrity_error(request: Request, error: Exception) -> JSONResponse:
        if not _references_a_deleted_user(error):
            return await unexpected_error(request, error)
        # The account was deleted while this request was under way (its token was checked just before).
        logger.info("write for a deleted account refused", extra={"fields": {"path": request.url.path}})
        return _answer(NotAuthenticated(INVALID_TOKEN))


__all__ = ["INVALID_TOKEN", "ApiError", "NotAuthenticated", "install_error_handlers"]
