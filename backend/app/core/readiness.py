"""Readiness: the database answers on a connection of its own and the schema is what this image needs.

The probe has its own one-connection pool so a request flood that holds every pooled connection cannot
take the pod out of its Service, and it answers 503 until migrations reach the Alembic head shipped in
this image, so no traffic reaches a backend that would fail on a missing table.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.config import Settings
from app.core.db import connect_args

ALEMBIC_DIR = Path(__file__).resolve().parents[2] / "alembic"
CHECK_TIMEOUT_SECONDS = 3.0


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
        if self.head in versions:
            return Readiness(True, "ready")
        # A revision this image does not know is newer (a later image migrated first, as during a rolling
        # upgrade); migrations are additive, so the older code still works on it.
        if versions and not versions <= self._known:
            return Readiness(True, "ready")
        current = ", ".join(sorted(versions)) or "none"
        return Readiness(False, f"Database schema at {current}; this image needs {self.head}")

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
