"""At most one running assistant turn per user, across every replica (a row per running turn).

A row rather than an advisory lock: a session-level lock would pin a pooled connection for the whole
turn, model calls included. The row expires after the turn deadline, so a crashed pod frees its slot.
"""

from __future__ import annotations

from types import TracebackType

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


def exclusive_turn(session: AsyncSession, user_id: int, deadline_seconds: float) -> ExclusiveTurn:
    """`async with exclusive_turn(...)`: hold the user's turn slot, or raise TurnInProgress on entry."""
    return ExclusiveTurn(session, user_id, deadline_seconds)


class ExclusiveTurn:
    """A plain context manager class rather than @asynccontextmanager, so the mutation run (dev/mutation)
    reaches this logic: mutmut leaves decorated functions alone."""

    def __init__(self, session: AsyncSession, user_id: int, deadline_seconds: float) -> None:
        self._session = session
        self._user_id = user_id
        self._deadline_seconds = deadline_seconds

    async def __aenter__(self) -> None:
        taken = (
            await self._session.execute(
                text(
                    "INSERT INTO assistant_turns AS t (user_id, started_at, expires_at) "
                    "VALUES (:user_id, now(), now() + make_interval(secs => :ttl)) "
                    "ON CONFLICT (user_id) DO UPDATE SET started_at = now(), expires_at = EXCLUDED.expires_at "
                    "WHERE t.expires_at < now() RETURNING user_id"
                ),
                {"user_id": self._user_id, "ttl": self._deadline_seconds + EXPIRY_MARGIN_SECONDS},
            )
        ).first()
        await self._session.commit()
        if taken is None:
            raise TurnInProgress

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is not None:
            await self._session.rollback()  # a failed turn's transaction must not block the release
        await self._session.execute(
            text("DELETE FROM assistant_turns WHERE user_id = :user_id"), {"user_id": self._user_id}
        )
        await self._session.commit()
