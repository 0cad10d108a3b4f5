"""The process's database access, built from Settings by the app (AppServices.db).

Two pools share the per-replica connection budget (Settings.db_pool_size + db_session_pool_size):
  - `pool`: plain psycopg connections for the task service's hot paths (REST task routes, token
    checks). No ORM session, no greenlet bridge: the request is one pool checkout and one prepared
    statement (see docs/backend.md for the profile that motivated it).
  - `engine`: SQLAlchemy sessions for everything else (accounts, the assistant, MCP tools), which
    calls the same task service through the session's own connection.
"""

from __future__ import annotations

import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection, OperationalError
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings

POOL_TIMEOUT_SECONDS = 10
# Connections opened at startup; the pool grows to db_pool_size as requests wait (and keeps them:
# idle ones close after 10 min). Opening all of them at once would compete with the first requests
# for the pod's one CPU during a cold start.
POOL_MIN_SIZE = 2
CONNECT_TIMEOUT_SECONDS = 5


def libpq_url(sqlalchemy_url: str) -> str:
    """psycopg/libpq form of the app's SQLAlchemy URL."""
    prefix = "postgresql+psycopg://"
    return "postgresql://" + sqlalchemy_url[len(prefix) :] if sqlalchemy_url.startswith(prefix) else sqlalchemy_url


def connect_args(settings: Settings) -> dict[str, object]:
    """Per-connection options for every connection the app opens (both pools, readiness).

    The server-side timeouts stop a stuck query or a transaction left open (e.g. across a model call)
    from holding locks and a pooled connection indefinitely.
    """
    options = (
        f"-c statement_timeout={settings.db_statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_ms}"
    )
    return {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options}


async def discard_if_closed_by_server(connection: AsyncConnection) -> None:
    """Pool checkout check. A database restart or reset ends every idle connection: the server's
    goodbye (or EOF) then waits unread on the socket. One poll() finds it, where a test query would
    cost a round trip on every request; the pool replaces the connection and the request never sees it."""
    waiting = select.poll()
    waiting.register(connection.fileno(), select.POLLIN)
    if waiting.poll(0):
        await connection.close()
        raise OperationalError("connection closed by the server while idle in the pool")


class Database:
    def __init__(self, settings: Settings) -> None:
        self.dsn = libpq_url(settings.sqlalchemy_url)
        # Bounded sizes (no overflow): connecting costs far more than a query, and a pool that grows
        # without bound would push several replicas past PostgreSQL's max_connections.
        self.engine = create_async_engine(
            settings.sqlalchemy_url,
            pool_size=settings.db_session_pool_size,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            # Pre-ping (one round trip per checkout) is affordable here: these sessions serve accounts,
            # the assistant and MCP, not the task hot path; a database restart then costs no request.
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args=connect_args(settings),
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool, autocommit: a read is one round trip (no BEGIN/ROLLBACK around it).
        self.read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.pool = AsyncConnectionPool(
            self.dsn,
            min_size=min(POOL_MIN_SIZE, settings.db_pool_size),
            max_size=settings.db_pool_size,
            timeout=POOL_TIMEOUT_SECONDS,
            max_lifetime=1800,
            # Autocommit: a read is one round trip; writes open `connection.transaction()` themselves.
            kwargs={**connect_args(settings), "autocommit": True},
            open=False,
            check=discard_if_closed_by_server,
        )

    async def open(self) -> None:
        # wait=False: a database that is down must not block startup (readiness reports it).
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()
        await self.engine.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Session for non-request code (tools, MCP, listeners). Service functions commit their own writes."""
        async with self.sessionmaker() as session:
            yield session
