"""At most one running assistant turn per user, across every replica (a row per running turn).

A row rather than an advisory lock: a session-level lock would pin a pooled connection for the whole
turn, model calls included. The row expires after the turn deadline, so a crashed pod frees its slot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ApiError

# Past the deadline the turn's own timeout has fired; the margin covers storing the reply.
EXPIRY_MARGIN_SECONDS = 30


class TurnInProgress(ApiError):
    """The user already has a running turn."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Your previous assistant request is still running; wait for it to finish"
    default_retry_after = 5


@asynccontextmanager
async def exclusive_turn(session: AsyncSession, user_id: int, deadline_seconds: float) -> AsyncIterator[None]:
    taken = (
        await session.execute(
            text(
                "INSERT INTO assistant_turns AS t (user_id, started_at, expires_at) "
                "VALUES (:user_id, now(), now() + make_interval(secs => :ttl)) "
                "ON CONFLICT (user_id) DO UPDATE SET started_at = now(), expires_at = EXCLUDED.expires_at "
                "WHERE t.expires_at < now() RETURNING user_id"
            ),
            {"user_id": user_id, "ttl": deadline_seconds + EXPIRY_MARGIN_SECONDS},
        )
    ).first()
    await session.commit()
    if taken is None:
        raise TurnInProgress
    try:
        yield
    except BaseException:
        await session.rollback()  # a failed turn's transaction must not block the release
        raise
    finally:
        await session.execute(text("DELETE FROM assistant_turns WHERE user_id = :user_id"), {"user_id": user_id})
        await session.commit()
