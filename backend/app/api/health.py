"""Liveness (never touches the database) and readiness (schema at this image's head, not draining)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import Services
from app.schemas.common import error_responses

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness",
    responses=error_responses(
        503, s503="Draining, database unreachable, or schema not yet at this image's migration head"
    ),
)
async def ready(services: Services) -> JSONResponse:
    if services.draining.started:
        return JSONResponse({"status": "draining", "detail": "Shutting down"}, status_code=503)
    readiness = await services.readiness.check()
    if not readiness.ready:
        return JSONResponse({"status": "unavailable", "detail": readiness.detail}, status_code=503)
    return JSONResponse({"status": "ready"})
