"""Failed-login limits, counted in PostgreSQL, that an attacker cannot turn against an account's owner.

Which counters an attempt meets depends on where it comes from (OWASP's device-cookie scheme):
  - a known device (a valid device cookie for this account, core/device_cookies.py): that device's own
    counter only;
  - anything else: the counter of the account's unknown clients, and the counter of the client address.
So guessing at an account locks out unknown clients only, and a flood from one address locks out that
address only; the owner's known devices keep logging in. Each counter is a fixed window: the first
failure starts it, further failures count up, and once it reaches its limit every attempt it covers
answers 429 until the window ends (even with the right password, so guessing gains nothing). A
successful login clears the counter of the path it took.

The counters live in the database, not in a process, so the limits hold however many replicas serve
the login route.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from fastapi import status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import ApiError

KEY_MAX_LENGTH = 400
IP_PREFIX = "ip:"
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

    def limit_for(self, key: str) -> int:
        return self.max_per_ip if key.startswith(IP_PREFIX) else self.max_per_account


class TooManyFailures(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed logins; try again later"

    retry_after: int

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, retry_after=retry_after)


@dataclass(frozen=True)
class LoginClient:
    """Where a login attempt comes from: the client address, and the device nonce of a valid device cookie."""

    address: str
    device: str | None = None


@dataclass(frozen=True)
class CountedAttempt:
    """The counters one attempt is checked against and charged to, and whether any of them has failures."""

    keys: tuple[str, ...]
    has_failures: bool


def account_key(email: str) -> str:
    # A digest: fixed length, any input storable (NUL, lone surrogates), and no address list at rest.
    return "account:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def ip_key(address: str) -> str:
    return (IP_PREFIX + address)[:KEY_MAX_LENGTH]


def device_key(device: str) -> str:
    return ("device:" + device)[:KEY_MAX_LENGTH]


def counters_for(email: str, client: LoginClient) -> tuple[str, ...]:
    if client.device is not None:
        return (device_key(client.device),)
    return (account_key(email), ip_key(client.address))


async def check(session: AsyncSession, limits: LoginLimits, email: str, client: LoginClient) -> CountedAttempt:
    """The counters this attempt meets; raise TooManyFailures when one of them is at its limit."""
    keys = counters_for(email, client)
    rows = (
        await session.execute(
            text(
                "SELECT key, failures, EXTRACT(EPOCH FROM window_started_at + make_interval(secs => :window) - now()) "
                "FROM login_failures WHERE key = ANY(:keys) "
                "AND window_started_at > now() - make_interval(secs => :window)"
            ),
            {"keys": list(keys), "window": limits.window_seconds},
        )
    ).all()
    for key, failures, remaining in rows:
        if failures >= limits.limit_for(key):
            raise TooManyFailures(max(1, math.ceil(float(remaining))))
    return CountedAttempt(keys, has_failures=bool(rows))


async def record_failure(session: AsyncSession, limits: LoginLimits, attempt: CountedAttempt) -> None:
    """Count one failure on each of the attempt's counters (one statement, concurrency-safe)."""
    await session.execute(
        text(
            "INSERT INTO login_failures AS f (key, failures, window_started_at) "
            "SELECT key, 1, now() FROM unnest(CAST(:keys AS text[])) AS key "
            "ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) "
            "THEN 1 ELSE f.failures + 1 END, "
            "window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => :window) "
            "THEN now() ELSE f.window_started_at END"
        ),
        {"keys": list(attempt.keys), "window": limits.window_seconds},
    )
    if random.random() < CLEANUP_PROBABILITY:  # noqa: S311 - not security relevant
        await session.execute(
            text("DELETE FROM login_failures WHERE window_started_at <= now() - make_interval(secs => :window)"),
            {"window": limits.window_seconds},
        )
    await session.commit()


async def clear_after_success(session: AsyncSession, attempt: CountedAttempt) -> None:
    """A success clears the counter of the path it took (the account's, or its device's), never the
    address's: one right password must not reset an address that guessed at other accounts."""
    keys = [key for key in attempt.keys if not key.startswith(IP_PREFIX)]
    await session.execute(text("DELETE FROM login_failures WHERE key = ANY(:keys)"), {"keys": keys})
    await session.commit()
