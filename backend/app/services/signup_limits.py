"""Signups per client address, counted in PostgreSQL (every replica enforces the same count).

Each account may hold its share of the per-pod stream cap and its own login budget, so accounts must
not be free to mint: every signup attempt from an address counts in a fixed window (the first starts
it), and past the limit the address gets 429 until the window ends. Attempts count, not successes, so
probing which emails are registered (409) is bounded too.
"""

from __future__ import annotations

import math

from fastapi import status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ApiError
from app.services.login_limits import ip_key


class TooManySignups(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many signups from this address; try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)


async def count_attempt(session: AsyncSession, address: str, *, limit: int, window_seconds: int) -> None:
    """Count one signup attempt from `address`; raise TooManySignups when it is over the limit."""
    attempts, remaining = (
        await session.execute(
            text(
                "INSERT INTO signup_attempts AS s (key, attempts, window_started_at) VALUES (:key, 1, now()) "
                "ON CONFLICT (key) DO UPDATE SET "
                "attempts = CASE WHEN s.window_started_at <= now() - make_interval(secs => :window) "
                "THEN 1 ELSE s.attempts + 1 END, "
                "window_started_at = CASE WHEN s.window_started_at <= now() - make_interval(secs => :window) "
                "THEN now() ELSE s.window_started_at END "
                "RETURNING attempts, "
                "EXTRACT(EPOCH FROM window_started_at + make_interval(secs => :window) - now())"
            ),
            {"key": ip_key(address), "window": window_seconds},
        )
    ).one()
    await session.commit()
    if attempts > limit:
        raise TooManySignups(max(1, math.ceil(float(remaining))))
