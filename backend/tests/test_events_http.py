"""GET /api/events end to end: real uvicorn processes on one real PostgreSQL.

Two processes A and B share the database: a write through A must reach a subscriber on B
(and only the owner's subscribers), rollbacks emit nothing, a killed listener connection is
followed by `resync` and working events, idle streams survive on keep-alives, SIGTERM
ends open streams promptly, and sessions bound streams: they end at the token's expiry and at
logout, and are capped per user and per process (429).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import httpx
import jwt
import psycopg
import pytest
import pytest_asyncio

from taskpilot_dev import harness
from taskpilot_dev.postgres import plain_url
from taskpilot_dev.sse import SseStream

_emails = count(1)


@dataclass
class Member:
    id: int
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"taskpilot_session={self.token}"}


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[tuple[str, str]]:
    """Process A (writes) and process B (subscribers): separate ports, one database."""
    first = harness.start_backend(database_url)
    try:
        second = harness.start_backend(database_url)
        try:
            yield first.url, second.url
        finally:
            second.stop()
    finally:
        first.stop()


@pytest_asyncio.fixture
async def http() -> Iterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def sign_up(http: httpx.AsyncClient, base_url: str) -> Member:
    response = await http.post(
        f"{base_url}/api/auth/signup",
        json={"email": f"events{next(_emails)}-{time.time_ns()}@example.com", "password": "correct-horse-battery"},
    )
    assert response.status_code == 201, response.text
    http.cookies.clear()  # these tests authenticate with bearer tokens, never with the session cookie
    body = response.json()
    return Member(id=body["user"]["id"], token=body["access_token"])


async def create_task(http: httpx.AsyncClient, base_url: str, member: Member, title: str) -> dict:
    response = await http.post(f"{base_url}/api/tasks", json={"title": title}, headers=member.bearer)
    assert response.status_code == 201, response.text
    return response.json()


def stream(http: httpx.AsyncClient, base_url: str, headers: dict[str, str]) -> SseStream:
    return SseStream(http, f"{base_url}/api/events", headers=headers)


async def test_stream_needs_auth_and_is_unbuffered(http: httpx.AsyncClient, servers: tuple[str, str]) -> None:
    _, b_url = servers
    anonymous = await http.get(f"{b_url}/api/events")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"]
    forged = await http.get(f"{b_url}/api/events", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401

    member = await sign_up(http, b_url)
    async with stream(http, b_url, {**member.cookie, "Accept-Encoding": "gzip"}) as events:
        response = events.response
        assert response is not None and response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        assert response.headers["x-instance-id"]
        ready = await events.next_event()
        assert ready.type == "ready" and ready.json["listening"] is True
        assert ready.id is None and ready.retry  # no ids: a reconnecting client reloads instead


async def test_write_on_a_reaches_subscriber_on_b_and_only_its_owner(
    http: httpx.AsyncClient, servers: tuple[str, str]
) -> None:
    a_url, b_url = servers
    owner, stranger = await sign_up(http, a_url), await sign_up(http, a_url)
    async with (
        stream(http, b_url, owner.bearer) as owner_events,
        stream(http, b_url, stranger.cookie) as stranger_events,
    ):
        for events in (owner_events, stranger_events):
            assert (await events.next_event()).type == "ready"

        task = await create_task(http, a_url, owner, "Buy milk")
        created = await owner_events.next_event()
        assert created.json == {"type": "created", "task_id": task["id"], "task": task}

        response = await http.patch(f"{a_url}/api/tasks/{task['id']}", json={"completed": True}, headers=owner.bearer)
        assert response.status_code == 200
        updated = await owner_events.next_event()
        assert (updated.type, updated.json["task_id"], updated.json["task"]["completed"]) == (
            "updated",
            task["id"],
            True,
        )

        response = await http.delete(f"{a_url}/api/tasks/{task['id']}", headers=owner.bearer)
        assert response.status_code == 204
        deleted = await owner_events.next_event()
        assert deleted.json == {"type": "deleted", "task_id": task["id"]}

        # The stranger's first event is their own task: none of the owner's three came through.
        own = await create_task(http, a_url, stranger, "Stranger's task")
        first = await stranger_events.next_event()
        assert (first.type, first.json["task_id"]) == ("created", own["id"])
        assert owner_events.pending() == []


async def test_rolled_back_notification_is_never_delivered(
    http: httpx.AsyncClient, servers: tuple[str, str], database_url: str
) -> None:
    a_url, b_url = servers
    member = await sign_up(http, a_url)
    async with stream(http, b_url, member.bearer) as events:
        assert (await events.next_event()).type == "ready"
        payload = json.dumps({"user_id": member.id, "type": "created", "task_id": 424242})
        async with await psycopg.AsyncConnection.connect(plain_url(database_url)) as connection:
            await connection.execute("SELECT pg_notify('task_events', %s)", (payload,))
            await connection.rollback()
        task = await create_task(http, a_url, member, "after the rollback")
        first = await events.next_event()
        assert (first.type, first.json["task_id"]) == ("created", task["id"])


async def test_killed_listener_reconnects_with_resync_then_events_flow(
    http: httpx.AsyncClient, servers: tuple[str, str], database_url: str
) -> None:
    a_url, b_url = servers
    member = await sign_up(http, a_url)
    async with stream(http, b_url, member.bearer) as events:
        assert (await events.next_event()).type == "ready"
        async with await psycopg.AsyncConnection.connect(plain_url(database_url), autocommit=True) as connection:
            cursor = await connection.execute(  # both processes' listeners: B's is among them
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'taskpilot-events-%'"
            )
            assert len([row[0] for row in await cursor.fetchall() if row[0]]) >= 2, "listener connections not found"

        resync = await events.next_event(timeout=10)
        assert resync.json == {"type": "resync", "reason": "listener_reconnected"}
        task = await create_task(http, a_url, member, "after the reconnect")
        event = await events.next_event()
        assert (event.type, event.json["task_id"]) == ("created", task["id"])


async def test_reconnect_with_last_event_id_starts_fresh(http: httpx.AsyncClient, servers: tuple[str, str]) -> None:
    # One resync mechanism: the server replays nothing, a reconnecting client reloads its list.
    a_url, b_url = servers
    member = await sign_up(http, a_url)
    await create_task(http, a_url, member, "made before the stream")
    async with stream(http, b_url, {**member.bearer, "Last-Event-ID": "anything-1"}) as events:
        first = await events.next_event()
        assert first.type == "ready"
        await asyncio.sleep(0.3)
        assert events.pending() == []


def signed_token(member_id: int, *, lifetime_seconds: float, version: int = 0) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": str(member_id), "ver": version, "iat": now, "exp": now + lifetime_seconds},
        harness.TEST_JWT_SECRET,
        algorithm="HS256",
    )


async def test_stream_ends_when_its_token_expires(http: httpx.AsyncClient, servers: tuple[str, str]) -> None:
    _, b_url = servers
    member = await sign_up(http, b_url)
    short_lived = signed_token(member.id, lifetime_seconds=3)
    async with stream(http, b_url, {"Authorization": f"Bearer {short_lived}"}) as events:
        assert (await events.next_event()).type == "ready"
        opened = time.time()
        await asyncio.wait_for(events.ended.wait(), 8)
        assert time.time() - opened < 4.5, "the stream outlived its token"
    assert (
        await http.get(f"{b_url}/api/events", headers={"Authorization": f"Bearer {short_lived}"})
    ).status_code == 401


async def test_logout_on_one_process_ends_streams_and_tokens_on_the_other(
    http: httpx.AsyncClient, servers: tuple[str, str]
) -> None:
    a_url, b_url = servers
    member = await sign_up(http, a_url)
    bystander = await sign_up(http, a_url)
    assert (await http.get(f"{b_url}/api/tasks", headers=member.bearer)).status_code == 200  # B caches the version
    async with stream(http, b_url, member.bearer) as events, stream(http, b_url, bystander.bearer) as other:
        assert (await events.next_event()).type == "ready"
        assert (await other.next_event()).type == "ready"
        assert (await http.post(f"{a_url}/api/auth/logout", headers=member.bearer)).status_code == 204
        await asyncio.wait_for(events.ended.wait(), 5)
        assert not other.ended.is_set()
    for base_url in (a_url, b_url):  # the token is dead everywhere (REST, SSE and MCP)
        assert (await http.get(f"{base_url}/api/tasks", headers=member.bearer)).status_code == 401
        assert (await http.get(f"{base_url}/api/events", headers=member.bearer)).status_code == 401
        mcp = await http.post(
            f"{base_url}/mcp",
            headers={**member.bearer, "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert mcp.status_code == 401
    login = await http.post(
        f"{a_url}/api/auth/login",
        json={"email": (await me(http, a_url, bystander))["email"], "password": "correct-horse-battery"},
    )
    assert login.status_code == 200  # other users are untouched


async def me(http: httpx.AsyncClient, base_url: str, member: Member) -> dict:
    response = await http.get(f"{base_url}/api/auth/me", headers=member.bearer)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def capped_server(database_url: str) -> Iterator[str]:
    backend = harness.start_backend(database_url, env={"SSE_MAX_STREAMS_PER_USER": "2", "SSE_MAX_STREAMS_PER_POD": "3"})
    try:
        yield backend.url
    finally:
        backend.stop()


async def test_streams_over_the_caps_get_429_with_retry_after(http: httpx.AsyncClient, capped_server: str) -> None:
    alice, bob = await sign_up(http, capped_server), await sign_up(http, capped_server)
    async with stream(http, capped_server, alice.bearer) as first, stream(http, capped_server, alice.bearer) as second:
        for events in (first, second):
            assert (await events.next_event()).type == "ready"
        over_user = await http.get(f"{capped_server}/api/events", headers=alice.bearer)
        assert over_user.status_code == 429
        assert int(over_user.headers["retry-after"]) > 0
        assert "for this user" in over_user.json()["detail"]
        async with stream(http, capped_server, bob.bearer) as third:
            assert (await third.next_event()).type == "ready"
            over_pod = await http.get(f"{capped_server}/api/events", headers=bob.bearer)
            assert over_pod.status_code == 429 and "on this server" in over_pod.json()["detail"]
    # Closed streams free their slots.
    for _ in range(50):
        async with stream(http, capped_server, alice.bearer) as again:
            if again.response is not None and again.response.status_code == 200:
                assert (await again.next_event()).type == "ready"
                return
        await asyncio.sleep(0.1)
    pytest.fail("slots were not freed after the streams closed")


@pytest.mark.slow
async def test_idle_stream_survives_on_keepalives_and_sigterm_closes_it_fast(
    http: httpx.AsyncClient, database_url: str
) -> None:
    backend = harness.start_backend(database_url)
    try:
        member = await sign_up(http, backend.url)
        async with stream(http, backend.url, member.bearer) as events:
            assert (await events.next_event()).type == "ready"
            await asyncio.sleep(21)
            assert not events.ended.is_set(), "stream closed during the idle period"
            assert len(events.comments) >= 2, f"keep-alives every <=15 s expected, got {events.comments}"

            signalled = time.perf_counter()
            backend.terminate()
            await asyncio.wait_for(events.ended.wait(), 5)
            assert events.ended_at is not None
            assert events.ended_at - signalled < 2.0, f"stream ended {events.ended_at - signalled:.2f}s after SIGTERM"
            exit_code = await asyncio.to_thread(backend.process.wait, 5)
            assert time.perf_counter() - signalled < 2.0, "process took more than 2 s to exit after SIGTERM"
            # uvicorn re-raises the SIGTERM it handled once it is done, hence -15 rather than 0.
            assert exit_code in (0, -15), backend.log()[-3000:]
            assert "ASGI callable returned without completing response" not in backend.log()
    finally:
        backend.stop()


async def test_streams_close_at_the_start_of_a_drain_period(http: httpx.AsyncClient, database_url: str) -> None:
    # As in Kubernetes: readiness fails for SHUTDOWN_DRAIN_SECONDS before uvicorn stops; streams must
    # not hold the pod that long, and one opened meanwhile ends right away so the browser goes elsewhere.
    backend = harness.start_backend(database_url, env={"SHUTDOWN_DRAIN_SECONDS": "4"})
    try:
        member = await sign_up(http, backend.url)
        async with stream(http, backend.url, member.bearer) as events:
            assert (await events.next_event()).type == "ready"
            signalled = time.perf_counter()
            backend.terminate()
            await asyncio.wait_for(events.ended.wait(), 5)
            assert events.ended_at is not None and events.ended_at - signalled < 2.0
        assert backend.process.poll() is None, "still draining: the process must not have exited yet"
        async with stream(http, backend.url, member.bearer) as late:
            assert (await late.next_event()).type == "ready"
            await asyncio.wait_for(late.ended.wait(), 2)
        await asyncio.to_thread(backend.process.wait, 10)
    finally:
        backend.stop()
