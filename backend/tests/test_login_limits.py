"""Auth under attack: bounded hashing (429 at once, known devices first), no pooled connection held while
hashing, failed-login limits per account, per client address and per known device shared by every replica,
readiness off the request pool.

The `client` fixture keeps cookies, so after `create_user` it holds that user's device cookie: tests about
unknown clients clear its cookies first."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace

import httpx
import pytest
from conftest import running_lifespan

from app.core.device_cookies import DEVICE_COOKIE
from app.core.hashing import HashingBusy, PasswordHashing
from app.main import create_app
from app.services import auth as auth_service

WRONG = "not-the-password-1"


@pytest.fixture
def limits(app):
    """Set the app's login limits for one test; restore the previous settings afterwards."""
    original = app.services

    def _set(**values: int) -> None:
        app.services = replace(original, settings=original.settings.model_copy(update=values))

    yield _set
    app.services = original


@pytest.fixture
def one_hashing_slot(app):
    original = app.services
    app.services = replace(original, password_hashing=PasswordHashing(1))
    yield app.services.password_hashing
    app.services.password_hashing.shutdown()
    app.services = original


async def _login(client: httpx.AsyncClient, email: str, password: str, device: str | None = None) -> httpx.Response:
    """POST /api/auth/login; `device` is sent as the device cookie (with the client's cookies cleared)."""
    if device is None:
        return await client.post("/api/auth/login", json={"email": email, "password": password})
    client.cookies.clear()
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers={"Cookie": f"{DEVICE_COOKIE}={device}"}
    )


async def _known_device(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Sign in once and return the device cookie the server handed out; the client's cookies are cleared."""
    response = await _login(client, email, password)
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.cookies[DEVICE_COOKIE]


async def test_excess_hashing_is_refused_at_once_with_retry_after(client, user, one_hashing_slot, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real_verify = auth_service.verify_password

    def slow_verify(password: str, stored: str | None) -> bool:
        entered.set()
        release.wait(10)
        return real_verify(password, stored)

    monkeypatch.setattr(auth_service, "verify_password", slow_verify)
    first = asyncio.create_task(_login(client, user.email, user.password))
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        started = time.monotonic()
        refused = await _login(client, user.email, user.password)
        assert time.monotonic() - started < 1.0
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "busy" in refused.json()["detail"]
    finally:
        release.set()
    assert (await first).status_code == 200


async def test_a_known_device_waits_for_a_hashing_slot_ahead_of_unknown_clients():
    hashing = PasswordHashing(1)
    started, release = threading.Event(), threading.Event()

    def slow(label: str) -> str:
        started.set()
        release.wait(10)
        return label

    try:
        first = asyncio.create_task(hashing.run(slow, "first"))
        assert await asyncio.to_thread(started.wait, 10)
        with pytest.raises(HashingBusy):
            hashing.refuse_if_busy()  # an unknown client is refused at once
        known = asyncio.create_task(hashing.run(lambda: "known", priority_for="account:a"))
        await asyncio.sleep(0.05)
        with pytest.raises(HashingBusy):
            await hashing.run(lambda: "unknown")  # still refused: a known device is waiting
        with pytest.raises(HashingBusy):
            await hashing.run(lambda: "same account", priority_for="account:a")  # one wait per account
        release.set()
        assert await first == "first"
        assert await known == "known"
        assert await hashing.run(lambda: "free again") == "free again"
    finally:
        release.set()
        hashing.shutdown()


async def test_no_pooled_connection_is_held_while_hashing(app, client, user, monkeypatch):
    checked_out: list[int] = []
    real_verify = auth_service.verify_password

    def recording_verify(password: str, stored: str | None) -> bool:
        checked_out.append(app.services.db.engine.pool.checkedout())
        return real_verify(password, stored)

    monkeypatch.setattr(auth_service, "verify_password", recording_verify)
    assert (await _login(client, user.email, user.password)).status_code == 200
    assert (await _login(client, user.email, WRONG)).status_code == 401
    assert (await _login(client, "nobody@example.com", WRONG)).status_code == 401
    assert checked_out == [0, 0, 0]


async def test_account_is_locked_after_its_failure_limit_even_with_the_right_password(client, create_user, limits):
    limits(login_max_failures_per_account=3, login_max_failures_per_ip=100, login_failure_window_seconds=600)
    victim, bystander = await create_user(), await create_user()
    client.cookies.clear()
    for _ in range(3):
        assert (await _login(client, victim.email, WRONG)).status_code == 401
    locked = await _login(client, victim.email.upper(), victim.password)  # same account, other spelling
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 600
    assert locked.json()["detail"]
    assert (await _login(client, bystander.email, bystander.password)).status_code == 200


async def test_a_success_clears_the_account_counter(client, user, limits):
    limits(login_max_failures_per_account=3, login_max_failures_per_ip=100, login_failure_window_seconds=600)
    client.cookies.clear()
    for _ in range(2):
        assert (await _login(client, user.email, WRONG)).status_code == 401
    assert (await _login(client, user.email, user.password)).status_code == 200
    for _ in range(2):
        assert (await _login(client, user.email, WRONG)).status_code == 401
    assert (await _login(client, user.email, user.password)).status_code == 200


async def test_client_address_is_limited_across_accounts(client, create_user, limits):
    limits(login_max_failures_per_account=100, login_max_failures_per_ip=3, login_failure_window_seconds=600)
    user = await create_user()
    device = await _known_device(client, user.email, user.password)
    for number in range(3):
        assert (await _login(client, f"guess{number}@example.com", WRONG)).status_code == 401
    assert (await _login(client, user.email, user.password)).status_code == 429
    # The account's known device is not held to its address's limit (it has its own).
    assert (await _login(client, user.email, user.password, device=device)).status_code == 200


async def test_a_known_device_logs_in_while_the_account_is_locked_for_unknown_clients(client, user, limits):
    limits(login_max_failures_per_account=3, login_max_failures_per_ip=100, login_failure_window_seconds=600)
    device = await _known_device(client, user.email, user.password)
    for _ in range(3):
        assert (await _login(client, user.email, WRONG)).status_code == 401
    locked = await _login(client, user.email, user.password)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    owner = await _login(client, user.email, user.password, device=device)
    assert owner.status_code == 200
    assert owner.cookies[DEVICE_COOKIE] != device  # a fresh device cookie at every sign-in
    # The owner's login did not reset the attackers' counter.
    client.cookies.clear()
    assert (await _login(client, user.email, user.password)).status_code == 429


async def test_a_known_device_has_its_own_failure_limit(client, user, limits):
    limits(login_max_failures_per_account=2, login_max_failures_per_ip=100, login_failure_window_seconds=600)
    device = await _known_device(client, user.email, user.password)
    for _ in range(2):
        assert (await _login(client, user.email, WRONG, device=device)).status_code == 401
    assert (await _login(client, user.email, user.password, device=device)).status_code == 429
    # Its failures are its own: unknown clients were not charged.
    assert (await _login(client, user.email, user.password)).status_code == 200


async def test_a_device_cookie_counts_only_for_its_own_account(client, create_user, limits):
    limits(login_max_failures_per_account=3, login_max_failures_per_ip=100, login_failure_window_seconds=600)
    attacker, victim = await create_user(), await create_user()
    attackers_device = await _known_device(client, attacker.email, attacker.password)
    for forged in (attackers_device, attackers_device + "0", "nonce.signature"):
        assert (await _login(client, victim.email, WRONG, device=forged)).status_code == 401
    assert (await _login(client, victim.email, victim.password, device=attackers_device)).status_code == 429


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app, create_user):
    """X-Forwarded-For names the client only when the socket peer is a configured proxy."""
    settings = app.services.settings.model_copy(
        update={"trusted_proxies": "10.9.0.0/16", "login_max_failures_per_ip": 2, "login_max_failures_per_account": 100}
    )
    proxied = create_app(settings)
    user = await create_user()
    async with running_lifespan(proxied):

        async def login_via(peer: str, forwarded_for: str, password: str = WRONG) -> int:
            transport = httpx.ASGITransport(app=proxied, client=(peer, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                response = await http.post(
                    "/api/auth/login",
                    json={"email": user.email, "password": password},
                    headers={"X-Forwarded-For": forwarded_for},
                )
                return response.status_code

        # Through the proxy: each forwarded client has its own budget.
        assert [await login_via("10.9.0.5", "203.0.113.1") for _ in range(2)] == [401, 401]
        assert await login_via("10.9.0.5", "203.0.113.1", user.password) == 429
        assert await login_via("10.9.0.6", "203.0.113.2", user.password) == 200
        # Straight from a client: the header is ignored, so rotating it buys nothing.
        assert [await login_via("198.51.100.7", f"203.0.113.{n}") for n in (10, 11)] == [401, 401]
        assert await login_via("198.51.100.7", "203.0.113.12", user.password) == 429


async def test_the_window_ends(client, user, limits):
    limits(login_max_failures_per_account=1, login_max_failures_per_ip=100, login_failure_window_seconds=1)
    assert (await _login(client, user.email, WRONG)).status_code == 401
    assert (await _login(client, user.email, user.password)).status_code == 429
    await asyncio.sleep(1.2)
    assert (await _login(client, user.email, user.password)).status_code == 200


async def test_limits_hold_across_replicas(app, client, user):
    """Failures counted by one app instance lock the account on another (counters live in PostgreSQL)."""
    client.cookies.clear()
    original = app.services
    settings = original.settings.model_copy(update={"login_max_failures_per_account": 2})
    app.services = replace(original, settings=settings)
    other = create_app(settings)
    try:
        async with running_lifespan(other):
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(transport=transport, base_url="http://replica-2") as replica:
                assert (await _login(client, user.email, WRONG)).status_code == 401
                assert (await _login(replica, user.email, WRONG)).status_code == 401
                assert (await _login(replica, user.email, user.password)).status_code == 429
                assert (await _login(client, user.email, user.password)).status_code == 429
    finally:
        app.services = original


async def test_readiness_does_not_need_a_request_pool_connection(app, client):
    settings, db = app.services.settings, app.services.db
    held = [await db.engine.connect() for _ in range(settings.db_session_pool_size)]
    task_connections = [await db.pool.getconn() for _ in range(settings.db_pool_size)]  # both pools exhausted
    try:
        for connection in held:
            await connection.exec_driver_sql("SELECT 1")
        started = time.monotonic()
        response = await client.get("/health/ready")
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 2.0
    finally:
        for connection in held:
            await connection.close()
        for task_connection in task_connections:
            await db.pool.putconn(task_connection)
