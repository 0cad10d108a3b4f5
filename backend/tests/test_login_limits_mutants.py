"""Failed-login counters, device cookies and signup counters through their service functions, on the
real database: which counters an attempt meets, when each one locks, what Retry-After says, when a
window ends and what a success clears (test_login_limits.py covers the same rules through HTTP)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.core.device_cookies import NONCE_BYTES, DeviceCookies
from app.services import login_limits, signup_limits
from app.services.login_limits import (
    KEY_MAX_LENGTH,
    CountedAttempt,
    LoginClient,
    LoginLimits,
    TooManyFailures,
    account_key,
    counters_for,
    device_key,
    ip_key,
)
from app.services.signup_limits import TooManySignups

LIMITS = LoginLimits(max_per_account=3, max_per_ip=5, window_seconds=600)
EMAIL = "owner@example.com"


def test_limits_come_from_the_settings_and_apply_per_kind_of_counter():
    limits = LoginLimits.from_settings(
        Settings(login_max_failures_per_account=4, login_max_failures_per_ip=40, login_failure_window_seconds=77)
    )
    assert limits == LoginLimits(max_per_account=4, max_per_ip=40, window_seconds=77)
    assert limits.limit_for(ip_key("203.0.113.9")) == 40
    assert limits.limit_for(account_key(EMAIL)) == 4
    assert limits.limit_for(device_key("nonce")) == 4


def test_counter_keys():
    digest = hashlib.sha256(EMAIL.encode()).hexdigest()
    assert account_key(EMAIL) == "account:" + digest
    assert account_key("\ud800@example.com").startswith("account:")  # a lone surrogate is still a key
    assert ip_key("203.0.113.9") == "ip:203.0.113.9"
    assert device_key("abc") == "device:abc"
    assert ip_key("x" * 1000) == ("ip:" + "x" * 1000)[:KEY_MAX_LENGTH] and len(ip_key("x" * 1000)) == KEY_MAX_LENGTH
    assert device_key("y" * 1000) == ("device:" + "y" * 1000)[:KEY_MAX_LENGTH]
    assert len(ip_key("x" * (KEY_MAX_LENGTH - 3))) == KEY_MAX_LENGTH


def test_a_known_device_meets_only_its_own_counter():
    assert counters_for(EMAIL, LoginClient("203.0.113.9", device="n1")) == (device_key("n1"),)
    assert counters_for(EMAIL, LoginClient("203.0.113.9")) == (account_key(EMAIL), ip_key("203.0.113.9"))
    assert LoginClient("203.0.113.9").device is None


def test_too_many_failures_says_when_to_retry():
    error = TooManyFailures(42)
    assert (error.status_code, error.headers()) == (429, {"Retry-After": "42"})
    assert error.detail == "Too many failed logins; try again later"
    assert TooManyFailures(3, "Too many failed attempts").detail == "Too many failed attempts"  # account deletion
    signups = TooManySignups(7)
    assert (signups.status_code, signups.headers()) == (429, {"Retry-After": "7"})


async def _failures(session) -> dict[str, int]:
    rows = await session.execute(text("SELECT key, failures FROM login_failures"))
    return {key: failures for key, failures in rows.all()}


async def _age(session, table: str, seconds: float) -> None:
    """Move every window of `table` back in time by `seconds`."""
    await session.execute(
        text(f"UPDATE {table} SET window_started_at = window_started_at - make_interval(secs => :s)"),
        {"s": seconds},
    )
    await session.commit()


async def _fail(session, email: str, client: LoginClient, limits: LoginLimits = LIMITS) -> CountedAttempt:
    attempt = await login_limits.check(session, limits, email, client)
    await login_limits.record_failure(session, limits, attempt)
    return attempt


async def test_each_failure_counts_on_every_counter_the_attempt_met(db_session):
    client = LoginClient("203.0.113.9")
    first = await login_limits.check(db_session, LIMITS, EMAIL, client)
    assert first == CountedAttempt((account_key(EMAIL), ip_key("203.0.113.9")), has_failures=False)
    await login_limits.record_failure(db_session, LIMITS, first)
    await _fail(db_session, EMAIL, client)
    assert await _failures(db_session) == {account_key(EMAIL): 2, ip_key("203.0.113.9"): 2}
    again = await login_limits.check(db_session, LIMITS, EMAIL, client)
    assert again.has_failures is True


async def test_the_account_counter_locks_at_its_limit_with_the_windows_remaining_seconds(db_session):
    for number in range(3):
        await _fail(db_session, EMAIL, LoginClient(f"203.0.113.{number}"))
    with pytest.raises(TooManyFailures) as locked:
        await login_limits.check(db_session, LIMITS, EMAIL, LoginClient("198.51.100.1"))
    assert 599 <= locked.value.retry_after <= 600
    # Another account from the same addresses is not locked; a known device of this one is not either.
    other = await login_limits.check(db_session, LIMITS, "other@example.com", LoginClient("203.0.113.0"))
    assert other.has_failures  # its address has one failure, below that counter's limit
    assert not (await login_limits.check(db_session, LIMITS, EMAIL, LoginClient("198.51.100.1", "n1"))).has_failures


async def test_the_address_counter_locks_at_its_own_limit(db_session):
    address = LoginClient("203.0.113.50")
    for number in range(4):
        await _fail(db_session, f"guess{number}@example.com", address)
    await login_limits.check(db_session, LIMITS, "guess9@example.com", address)  # 4 of 5: still allowed
    await _fail(db_session, "guess4@example.com", address)
    with pytest.raises(TooManyFailures):
        await login_limits.check(db_session, LIMITS, "guess9@example.com", address)


async def test_a_device_counter_locks_at_the_per_account_limit(db_session):
    device = LoginClient("203.0.113.9", device="n1")
    for _ in range(2):
        await _fail(db_session, EMAIL, device)
    await login_limits.check(db_session, LIMITS, EMAIL, device)
    await _fail(db_session, EMAIL, device)
    with pytest.raises(TooManyFailures):
        await login_limits.check(db_session, LIMITS, EMAIL, device)
    assert await _failures(db_session) == {device_key("n1"): 3}


async def test_retry_after_is_at_least_one_second_and_rounds_up(db_session):
    limits = LoginLimits(max_per_account=1, max_per_ip=5, window_seconds=2)
    await _fail(db_session, EMAIL, LoginClient("203.0.113.9"), limits)
    await _age(db_session, "login_failures", 1.5)
    with pytest.raises(TooManyFailures) as locked:
        await login_limits.check(db_session, limits, EMAIL, LoginClient("203.0.113.9"))
    assert locked.value.retry_after == 1


async def test_an_ended_window_is_ignored_and_the_next_failure_starts_a_new_one(db_session):
    client = LoginClient("203.0.113.9")
    for _ in range(3):
        await _fail(db_session, EMAIL, client)
    await _age(db_session, "login_failures", 600)
    attempt = await login_limits.check(db_session, LIMITS, EMAIL, client)
    assert attempt.has_failures is False
    await login_limits.record_failure(db_session, LIMITS, attempt)
    assert await _failures(db_session) == {account_key(EMAIL): 1, ip_key("203.0.113.9"): 1}
    started = await db_session.scalar(text("SELECT min(now() - window_started_at) FROM login_failures"))
    assert started.total_seconds() < 60  # the new window starts now


async def test_expired_counters_are_cleaned_up_now_and_then(db_session, monkeypatch):
    await _fail(db_session, "old@example.com", LoginClient("203.0.113.1"))
    await _age(db_session, "login_failures", 601)
    monkeypatch.setattr(login_limits.random, "random", lambda: login_limits.CLEANUP_PROBABILITY)
    await _fail(db_session, EMAIL, LoginClient("203.0.113.2"))
    assert set(await _failures(db_session)) == {
        account_key("old@example.com"),
        ip_key("203.0.113.1"),
        account_key(EMAIL),
        ip_key("203.0.113.2"),
    }
    monkeypatch.setattr(login_limits.random, "random", lambda: login_limits.CLEANUP_PROBABILITY / 2)
    await _fail(db_session, EMAIL, LoginClient("203.0.113.2"))
    assert await _failures(db_session) == {account_key(EMAIL): 2, ip_key("203.0.113.2"): 2}


async def test_a_success_clears_its_path_but_never_the_address(db_session):
    client = LoginClient("203.0.113.9")
    for _ in range(2):
        await _fail(db_session, EMAIL, client)
    await _fail(db_session, EMAIL, LoginClient("203.0.113.9", device="n1"))
    attempt = await login_limits.check(db_session, LIMITS, EMAIL, client)
    await login_limits.clear_after_success(db_session, attempt)
    assert await _failures(db_session) == {ip_key("203.0.113.9"): 2, device_key("n1"): 1}
    device_attempt = await login_limits.check(db_session, LIMITS, EMAIL, LoginClient("203.0.113.9", device="n1"))
    await login_limits.clear_after_success(db_session, device_attempt)
    assert await _failures(db_session) == {ip_key("203.0.113.9"): 2}
    await db_session.rollback()
    assert await _failures(db_session) == {ip_key("203.0.113.9"): 2}  # committed


async def test_signups_count_per_address_until_the_limit(db_session):
    for _ in range(3):
        await signup_limits.count_attempt(db_session, "203.0.113.9", limit=3, window_seconds=600)
    with pytest.raises(TooManySignups) as refused:
        await signup_limits.count_attempt(db_session, "203.0.113.9", limit=3, window_seconds=600)
    assert 599 <= refused.value.retry_after <= 600
    await signup_limits.count_attempt(db_session, "203.0.113.10", limit=3, window_seconds=600)
    await db_session.rollback()
    rows = dict((await db_session.execute(text("SELECT key, attempts FROM signup_attempts"))).all())
    assert rows == {ip_key("203.0.113.9"): 4, ip_key("203.0.113.10"): 1}  # refused attempts count too


async def test_a_signup_window_ends_and_retry_after_rounds_up(db_session):
    await signup_limits.count_attempt(db_session, "203.0.113.9", limit=1, window_seconds=2)
    await _age(db_session, "signup_attempts", 1.5)
    with pytest.raises(TooManySignups) as refused:
        await signup_limits.count_attempt(db_session, "203.0.113.9", limit=1, window_seconds=2)
    assert refused.value.retry_after == 1
    await _age(db_session, "signup_attempts", 1)
    await signup_limits.count_attempt(db_session, "203.0.113.9", limit=1, window_seconds=2)  # a new window
    with pytest.raises(TooManySignups) as again:
        await signup_limits.count_attempt(db_session, "203.0.113.9", limit=1, window_seconds=2)
    assert again.value.retry_after == 2


def test_a_device_cookie_names_its_device_only_for_its_account_and_key():
    cookies = DeviceCookies("a-secret")
    cookie = cookies.issue("account:a")
    nonce, _, signature = cookie.partition(".")
    assert len(nonce) == len(secrets.token_urlsafe(NONCE_BYTES)) and len(signature) == 64
    assert cookies.device(cookie, "account:a") == nonce
    assert DeviceCookies("a-secret").device(cookie, "account:a") == nonce  # same key in every replica
    assert cookies.device(cookie, "account:b") is None
    assert DeviceCookies("another-secret").device(cookie, "account:a") is None
    assert cookies.issue("account:a") != cookie  # a new nonce each time
    for forged in (None, "", ".", nonce, nonce + ".", nonce + "." + signature[:-1], "x" + cookie, cookie + "0"):
        assert cookies.device(forged, "account:a") is None, forged
    assert cookies.device(nonce + "." + "é" * 64, "account:a") is None
    assert cookies.device(nonce + ".\ud800" + signature, "account:a") is None  # not encodable: refused, no error
    dotted = "x.y"  # never issued (nonces are URL-safe base64): refused even when signed
    assert cookies.device(f"{dotted}.{cookies._signature('account:a', dotted)}", "account:a") is None


def test_a_device_cookie_with_an_empty_nonce_or_over_200_characters_is_refused():
    cookies = DeviceCookies("a-secret")
    assert cookies.device("." + cookies._signature("account:a", ""), "account:a") is None
    longest = "n" * (200 - 65)
    valid = f"{longest}.{cookies._signature('account:a', longest)}"
    assert len(valid) == 200 and cookies.device(valid, "account:a") == longest
    longer = "n" * (201 - 65)
    too_long = f"{longer}.{cookies._signature('account:a', longer)}"
    assert len(too_long) == 201 and cookies.device(too_long, "account:a") is None


def test_without_a_secret_device_cookies_die_with_the_process():
    one, other = DeviceCookies(""), DeviceCookies("")
    cookie = one.issue("account:a")
    assert one.device(cookie, "account:a") is not None
    assert other.device(cookie, "account:a") is None


async def test_the_counters_are_shared_by_concurrent_failures(db_session, app):
    async def fail_once() -> None:
        async with app.services.db.session() as session:
            await _fail(session, EMAIL, LoginClient("203.0.113.9"), LoginLimits(100, 100, 600))

    await asyncio.gather(*(fail_once() for _ in range(5)))
    assert (await _failures(db_session))[account_key(EMAIL)] == 5
