"""Liveness (never touches the database) and readiness (database answers, not draining)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.core.db import database_is_reachable
from app.schemas.common import error_responses

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness",
    responses=error_responses(503, s503="Draining or database unreachable"),
)
async def ready(request: Request) -> JSONResponse:
    if getattr(request.app.state, "draining", False):
        return JSONResponse({"status": "draining", "detail": "Shutting down"}, status_code=503)
    if not await database_is_reachable():
        return JSONResponse({"status": "unavailable", "detail": "Database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})
