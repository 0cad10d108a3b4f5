"""Readiness: the database answers on a connection of its own and the schema is what this image needs.

The probe has its own one-connection pool so a request flood that holds every pooled connection cannot
take the pod out of its Service, and it answers 503 until migrations reach the Alembic head shipped in
this image, so no traffic reaches a backend that would fail on a missing table.

Not every request comes through the Service (a port-forward reaches a pod that is not Ready), so
SchemaGate answers 503 with Retry-After on the API itself until the schema has reached the head.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import Settings
from app.core.db import connect_args

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
CHECK_TIMEOUT_SECONDS = 3.0
# While the schema is not ready, one check answers every gated request for this long, so a burst does
# not queue on the probe's single connection.
GATE_RECHECK_SECONDS = 1.0
NOT_READY_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str


def shipped_revisions() -> tuple[str, frozenset[str]]:
    """(head revision, every revision) of the migrations in this image."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(ALEMBIC_DIR))
    return script.get_current_head() or "", frozenset(rev.revision for rev in script.walk_revisions())


class SchemaReadiness:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: AsyncEngine | None = None
        self.head, self._known = shipped_revisions()
        # Latched: once the schema has reached the head it stays there for this process (migrations only
        # move forward while a release runs), so the gate then costs one attribute read per request.
        self.reached_head = False
        self._recent: Readiness | None = None
        self._recent_at = 0.0
        self._recent_lock = asyncio.Lock()

    def _get_engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(
                self._settings.sqlalchemy_url,
                pool_size=1,
                max_overflow=0,
                pool_timeout=CHECK_TIMEOUT_SECONDS,
                pool_recycle=1800,
                connect_args=connect_args(self._settings),
            )
        return self._engine

    async def check(self) -> Readiness:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                async with self._get_engine().connect() as connection:
                    versions = set(
                        (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                    )
        except ProgrammingError:  # no alembic_version table: never migrated
            return Readiness(False, f"Database schema not migrated (this image needs {self.head})")
        except Exception:
            return Readiness(False, "Database unreachable")
        # A revision this image does not know is newer (a later image migrated first, as during a rolling
        # upgrade); migrations are additive, so the older code still works on it.
        if self.head in versions or (versions and not versions <= self._known):
            self.reached_head = True
            return Readiness(True, "ready")
        current = ", ".join(sorted(versions)) or "none"
        return Readiness(False, f"Database schema at {current}; this image needs {self.head}")

    async def recent_check(self) -> Readiness:
        """check(), with one answer shared by every caller for GATE_RECHECK_SECONDS."""
        async with self._recent_lock:
            if self.reached_head:
                return Readiness(True, "ready")
            if self._recent is None or time.monotonic() - self._recent_at >= GATE_RECHECK_SECONDS:
                self._recent = await self.check()
                self._recent_at = time.monotonic()
            return self._recent

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


class SchemaGate:
    """Pure ASGI middleware: /api and /mcp answer 503 with Retry-After until the schema is ready.

    Without it a request that reaches a pod before its migrations fails deep inside a query with a 500.
    Liveness (/health, /api/health) never touches the database and stays outside the gate.
    """

    GATED_PREFIXES = ("/api/", "/mcp")
    UNGATED_PATHS = frozenset({"/api/health"})

    def __init__(self, app: ASGIApp, readiness: SchemaReadiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.readiness.reached_head
            or scope["type"] != "http"
            or not scope["path"].startswith(self.GATED_PREFIXES)
            or scope["path"] in self.UNGATED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        readiness = await self.readiness.recent_check()
        if readiness.ready:
            await self.app(scope, receive, send)
            return
        not_ready = JSONResponse(
            {"detail": f"Service not ready ({readiness.detail}); retry shortly"},
            status_code=503,
            headers={"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)},
        )
        await not_ready(scope, receive, send)
