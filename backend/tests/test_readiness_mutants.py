"""Readiness and the schema gate, in process (dev/mutation runs mutated code only in process): what each
schema state answers, how long one answer is shared, and which requests the gate holds back."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import psycopg
import pytest
import sqlalchemy.pool.base
from sqlalchemy import event, text

from app.core.config import Settings
from app.core.readiness import (
    CHECK_TIMEOUT_SECONDS,
    GATE_RECHECK_SECONDS,
    NOT_READY_RETRY_AFTER_SECONDS,
    SchemaGate,
    SchemaReadiness,
    shipped_revisions,
)
from taskpilot_dev import harness

HEAD, KNOWN = shipped_revisions()
BEFORE_HEAD = "0005_user_deletion_notify"  # the revision just below the shipped head


@pytest.fixture
def empty_database(database_admin_url: str) -> Iterator[str]:
    url = harness.create_database(database_admin_url)
    yield url
    harness.drop_database(database_admin_url, url)


def _readiness(url: str) -> SchemaReadiness:
    return SchemaReadiness(Settings(database_url=url, app_env="dev"))


def _set_versions(url: str, *versions: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) NOT NULL)")
        connection.execute("DELETE FROM alembic_version")
        for version in versions:
            connection.execute("INSERT INTO alembic_version VALUES (%s)", (version,))


async def _check(url: str) -> tuple[bool, str, bool]:
    readiness = _readiness(url)
    try:
        answer = await readiness.check()
        return answer.ready, answer.detail, readiness.reached_head
    finally:
        await readiness.dispose()


def test_the_shipped_revisions_are_this_images_migrations():
    assert HEAD == "0006_signup_attempts"
    assert BEFORE_HEAD in KNOWN and HEAD in KNOWN and "0001_users_tasks" in KNOWN
    assert len(KNOWN) == 6


async def test_each_schema_state_gets_its_own_answer(empty_database):
    url = empty_database
    assert await _check(url) == (False, f"Database schema not migrated (this image needs {HEAD})", False)
    _set_versions(url)
    assert await _check(url) == (False, f"Database schema at none; this image needs {HEAD}", False)
    _set_versions(url, BEFORE_HEAD)
    assert await _check(url) == (False, f"Database schema at {BEFORE_HEAD}; this image needs {HEAD}", False)
    _set_versions(url, "0001_users_tasks", BEFORE_HEAD)
    assert await _check(url) == (
        False,
        f"Database schema at 0001_users_tasks, {BEFORE_HEAD}; this image needs {HEAD}",
        False,
    )
    _set_versions(url, HEAD)
    assert await _check(url) == (True, "ready", True)
    # A revision this image does not know was written by a newer image: ready (migrations are additive).
    _set_versions(url, "9999_from_a_newer_image")
    assert await _check(url) == (True, "ready", True)
    _set_versions(url, BEFORE_HEAD, "9999_from_a_newer_image")
    assert await _check(url) == (True, "ready", True)


async def test_an_unreachable_database_is_not_ready_and_says_so():
    readiness = _readiness("postgresql://nobody:nothing@127.0.0.1:9/taskpilot")
    try:
        answer = await asyncio.wait_for(readiness.check(), timeout=10)
    finally:
        await readiness.dispose()
    assert (answer.ready, answer.detail, readiness.reached_head) == (False, "Database unreachable", False)


async def test_the_check_uses_one_connection_of_its_own_and_dispose_lets_it_start_again(empty_database):
    _set_versions(empty_database, HEAD)
    readiness = _readiness(empty_database)
    try:
        assert (await readiness.check()).ready
        pool = readiness._get_engine().pool
        assert pool.size() == 1  # type: ignore[attr-defined]
        await readiness.dispose()
        assert (await readiness.check()).ready  # a new engine after dispose
    finally:
        await readiness.dispose()


async def test_one_answer_is_shared_for_the_recheck_interval_then_renewed(empty_database):
    readiness = _readiness(empty_database)
    try:
        first = await readiness.recent_check()
        assert not first.ready and "not migrated" in first.detail
        _set_versions(empty_database, HEAD)
        assert await readiness.recent_check() is first  # within the interval: the same answer, no new check
        await asyncio.sleep(GATE_RECHECK_SECONDS + 0.1)
        renewed = await readiness.recent_check()
        assert renewed.ready and renewed.detail == "ready"
        assert readiness.reached_head
        _set_versions(empty_database)  # latched: once at head, no further checks
        await asyncio.sleep(GATE_RECHECK_SECONDS + 0.1)
        assert (await readiness.recent_check()).ready
    finally:
        await readiness.dispose()


async def _inner_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"inner"})


async def test_the_gate_answers_503_on_api_and_mcp_until_the_schema_is_at_head(empty_database):
    readiness = _readiness(empty_database)
    gate = SchemaGate(_inner_app, readiness)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://testserver") as http:
            for path in ("/api/tasks", "/api/auth/login", "/mcp", "/mcp/"):
                response = await http.post(path)
                assert response.status_code == 503, path
                assert response.headers["retry-after"] == str(NOT_READY_RETRY_AFTER_SECONDS)
                assert response.json() == {
                    "detail": f"Service not ready (Database schema not migrated (this image needs {HEAD})); "
                    "retry shortly"
                }
            # Liveness and everything outside /api/ and /mcp never wait for the schema.
            for path in ("/api/health", "/health", "/health/ready", "/api"):
                response = await http.get(path)
                assert (response.status_code, response.text) == (200, "inner"), path
            _set_versions(empty_database, HEAD)
            await asyncio.sleep(GATE_RECHECK_SECONDS + 0.1)
            response = await http.get("/api/tasks")
            assert (response.status_code, response.text) == (200, "inner")
            assert readiness.reached_head
    finally:
        await readiness.dispose()


async def test_the_gate_passes_non_http_scopes_through(empty_database):
    seen: list[str] = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    readiness = _readiness(empty_database)
    try:
        await SchemaGate(inner, readiness)({"type": "websocket", "path": "/api/tasks"}, None, None)  # type: ignore[arg-type]
    finally:
        await readiness.dispose()
    assert seen == ["websocket"]
    assert not readiness.reached_head


async def test_the_probe_has_exactly_one_connection_and_does_not_wait_long_for_it(empty_database):
    _set_versions(empty_database, HEAD)
    readiness = _readiness(empty_database)
    try:
        held = await readiness._get_engine().connect()  # the probe's only connection, taken
        try:
            started = time.monotonic()
            answer = await readiness.check()
            assert (answer.ready, answer.detail) == (False, "Database unreachable")
            assert time.monotonic() - started < CHECK_TIMEOUT_SECONDS + 1
        finally:
            await held.close()
        assert (await readiness.check()).ready
    finally:
        await readiness.dispose()


async def test_the_probe_connection_carries_the_server_side_timeouts(empty_database):
    readiness = SchemaReadiness(Settings(database_url=empty_database, app_env="dev", db_statement_timeout_ms=4321))
    try:
        async with readiness._get_engine().connect() as connection:
            timeout = (await connection.execute(text("SHOW statement_timeout"))).scalar()
        assert timeout == "4321ms"
    finally:
        await readiness.dispose()


async def test_a_database_that_accepts_but_never_answers_is_unreachable_within_the_bound():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never speaks
    host, port = silent.getsockname()
    readiness = _readiness(f"postgresql://nobody:nothing@{host}:{port}/taskpilot")
    try:
        started = time.monotonic()
        answer = await asyncio.wait_for(readiness.check(), timeout=30)
        assert (answer.ready, answer.detail) == (False, "Database unreachable")
        assert time.monotonic() - started < CHECK_TIMEOUT_SECONDS + 1
    finally:
        await readiness.dispose()
        silent.close()


async def test_a_latched_readiness_answers_ready_without_checking(empty_database):
    _set_versions(empty_database, HEAD)
    readiness = _readiness(empty_database)
    try:
        assert (await readiness.check()).ready
        _set_versions(empty_database)
        answer = await readiness.recent_check()
        assert (answer.ready, answer.detail) == (True, "ready")
    finally:
        await readiness.dispose()


async def test_the_probe_connection_is_replaced_once_it_is_half_an_hour_old(empty_database, monkeypatch):
    """The probe keeps one connection; past 30 minutes it opens a fresh one instead of trusting an old one
    that a proxy or the server may have dropped."""
    _set_versions(empty_database, HEAD)
    readiness = _readiness(empty_database)
    now = [time.time()]
    monkeypatch.setattr(sqlalchemy.pool.base, "time", SimpleNamespace(time=lambda: now[0]))
    opened: list[float] = []
    try:
        event.listen(readiness._get_engine().sync_engine, "connect", lambda *_: opened.append(now[0]))
        assert (await readiness.check()).ready
        now[0] += 1799.5
        assert (await readiness.check()).ready
        assert len(opened) == 1, "a connection younger than 30 minutes is reused"
        now[0] += 1.0
        assert (await readiness.check()).ready
        assert len(opened) == 2, "a connection older than 30 minutes is replaced"
    finally:
        await readiness.dispose()
