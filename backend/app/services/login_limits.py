"""Failed-login limits per account and per client address, counted in PostgreSQL.

The counters live in the database, not in a process, so the limits hold however many replicas serve
the login route. A fixed window per key: the first failure starts it, further failures count up, and
once a key reaches its limit every login for it answers 429 until the window ends (even with the right
password, so guessing gains nothing). A successful login clears the account's counter.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings

KEY_MAX_LENGTH = 400
CLEANUP_PROBABILITY = 0.01  # expired rows are deleted now and then, by a failure, not by a scheduler


@dataclass(frozen=True)
class LoginLimits:
    max_per_account: int
    max_per_ip: int
    window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_ip,
            settings.login_failure_window_seconds,
        )


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after}s")
        self.retry_after = retry_after


def account_key(email: str) -> str:
    # A digest: fixed length, any input storable (NUL, lone surrogates), and no address list at rest.
    return "account:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def ip_key(address: str) -> str:
    return ("ip:" + address)[:KEY_MAX_LENGTH]


async def check(session: AsyncSession, limits: LoginLimits, email: str, address: str) -> bool:
    """Raise TooManyFailures when the account or the address is at its limit; True when the account has failures."""
    rows = (
        await session.execute(
            text(
                "SELECT key, failures, EXTRACT(EPOCH FROM window_started_at + make_interval(secs => :window) - now()) "
                "FROM login_failures WHERE key IN (:account, :ip) "
                "AND window_started_at > now() - make_interval(secs => :window)"
            ),
            {"account": account_key(email), "ip": ip_key(address), "window": limits.window_seconds},
        )
    ).all()
    account_has_failures = False
    for key, failures, remaining in rows:
        limit = limits.max_per_account if key == account_key(email) else limits.max_per_ip
        account_has_failures = account_has_failures or key == account_key(email)
        if failures >= limit:
            raise TooManyFailures(max(1, math.ceil(float(remaining))))
    return account_has_failures


async def record_failure(session: AsyncSession, limits: LoginLimits, email: str, address: str) -> None:
    """Count one failure for the account and the address (one statement, concurrency-safe)."""
    params = {"account": account_key(email), "ip": ip_key(address), "window": limits.window_seconds}
    await session.execute(
        text(
            "INSERT INTO login_failures AS f (key, failures, window_started_at) "
            "VALUES (:account, 1, now()), (:ip, 1, now()) "
            "ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) "
            "THEN 1 ELSE f.failures + 1 END, "
            "window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) "
            "THEN now() ELSE f.window_started_at END"
        ),
        params,
    )
    if random.random() < CLEANUP_PROBABILITY:  # noqa: S311 - not security relevant
        await session.execute(
            text("DELETE FROM login_failures WHERE window_started_at <= now() - make_interval(secs => :window)"),
            {"window": limits.window_seconds},
        )
    await session.commit()


async def clear_account(session: AsyncSession, email: str) -> None:
    await session.execute(text("DELETE FROM login_failures WHERE key = :account"), {"account": account_key(email)})
    await session.commit()
