"""One async engine per process; sessions for requests (get_session) and other code (session_scope)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings, get_settings

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None
_read_sessionmaker: async_sessionmaker[AsyncSession] | None = None

# A fixed pool (no overflow): overflow connections are closed on return and reopened under load, and
# connecting costs far more than a query. 20 per replica keeps 2-3 replicas below PostgreSQL's 100.
POOL_SIZE = 20
POOL_MAX_OVERFLOW = 0
POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5


def connect_args(settings: Settings) -> dict[str, object]:
    """Per-connection options for every engine the app opens (request pool, readiness).

    The server-side timeouts stop a stuck query or a transaction left open (e.g. across a model call)
    from holding locks and a pooled connection indefinitely.
    """
    options = (
        f"-c statement_timeout={settings.db_statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={settings.db_idle_in_transaction_timeout_ms}"
    )
    return {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options}


def get_engine() -> AsyncEngine:
    global _engine, _sessionmaker, _read_sessionmaker
    if _engine is None:
        _engine = create_async_engine(
            get_settings().sqlalchemy_url,
            pool_size=POOL_SIZE,
            max_overflow=POOL_MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            # No pre-ping (it costs round trips on every checkout): a connection broken by a database
            # restart fails one request with 503 and SQLAlchemy then discards the stale pool.
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args=connect_args(get_settings()),
        )
        _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
        # Same pool, autocommit: a read is one round trip (no BEGIN/ROLLBACK around it).
        _read_sessionmaker = async_sessionmaker(
            _engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


async def dispose_engine() -> None:
    """Close pooled connections; the next get_engine() builds a fresh engine from current settings."""
    global _engine, _sessionmaker, _read_sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None
    _read_sessionmaker = None


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, closed (and rolled back if uncommitted) afterwards."""
    async with get_sessionmaker()() as session:
        yield session


async def get_read_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency for read-only requests: autocommit, so no transaction round trips. Never write with it."""
    get_engine()
    assert _read_sessionmaker is not None
    async with _read_sessionmaker() as session:
        yield session


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """Session for non-request code (tools, MCP, listeners). Service functions commit their own writes."""
    async with get_sessionmaker()() as session:
        yield session
