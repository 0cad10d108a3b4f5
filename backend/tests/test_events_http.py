"""GET /api/events end to end: real uvicorn processes on one real PostgreSQL.

Two processes A and B share the database: a write through A must reach a subscriber on B
(and only the owner's subscribers), rollbacks emit nothing, a killed listener connection is
followed by `resync` and working events, idle streams survive on keep-alives, and SIGTERM
ends open streams promptly.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import httpx
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
        assert ready.id and ready.retry


async def test_write_on_a_reaches_subscriber_on_b_and_only_its_owner(
    http: httpx.AsyncClient, servers: tuple[str, str]
) -> None:
    a_url, b_url = servers
    owner, stranger = await sign_up(http, a_url), await sign_up(http, a_url)
    async with stream(http, b_url, owner.bearer) as owner_events, stream(http, b_url, stranger.cookie) as stranger_events:
        for events in (owner_events, stranger_events):
            assert (await events.next_event()).type == "ready"

        task = await create_task(http, a_url, owner, "Buy milk")
        created = await owner_events.next_event()
        assert created.json == {"type": "created", "task_id": task["id"], "task": task}

        response = await http.patch(f"{a_url}/api/tasks/{task['id']}", json={"completed": True}, headers=owner.bearer)
        assert response.status_code == 200
        updated = await owner_events.next_event()
        assert (updated.type, updated.json["task_id"], updated.json["task"]["completed"]) == ("updated", task["id"], True)

        response = await http.delete(f"{a_url}/api/tasks/{task['id']}", headers=owner.bearer)
        assert response.status_code == 204
        deleted = await owner_events.next_event()
        assert deleted.json == {"type": "deleted", "task_id": task["id"]}
        assert [e.id for e in (created, updated, deleted)] == sorted(
            (e.id for e in (created, updated, deleted)), key=lambda i: int(i.rsplit("-", 1)[1])
        )

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
        ready = await events.next_event()
        epoch = ready.id.rsplit("-", 1)[0]
        async with await psycopg.AsyncConnection.connect(plain_url(database_url), autocommit=True) as connection:
            cursor = await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (f"taskpilot-events-{epoch}",),
            )
            assert [row[0] for row in await cursor.fetchall()] == [True], "B's listener connection not found"

        resync = await events.next_event(timeout=10)
        assert resync.json == {"type": "resync", "reason": "listener_reconnected"}
        task = await create_task(http, a_url, member, "after the reconnect")
        event = await events.next_event()
        assert (event.type, event.json["task_id"]) == ("created", task["id"])


async def test_last_event_id_replays_from_the_same_process_and_resyncs_elsewhere(
    http: httpx.AsyncClient, servers: tuple[str, str]
) -> None:
    a_url, b_url = servers
    member = await sign_up(http, a_url)
    async with stream(http, b_url, member.bearer) as events:
        await events.next_event()
        first = await create_task(http, a_url, member, "seen live")
        seen = await events.next_event()
        assert seen.json["task_id"] == first["id"]
    missed = await create_task(http, a_url, member, "missed while disconnected")

    async with stream(http, b_url, {**member.bearer, "Last-Event-ID": seen.id}) as events:
        replayed = await events.next_event()
        assert (replayed.type, replayed.json["task_id"]) == ("created", missed["id"])
        assert replayed.json["task"]["title"] == "missed while disconnected"
        assert (await events.next_event()).type == "ready"

    # An id minted by process B means nothing to process A: the client must reload.
    async with stream(http, a_url, {**member.bearer, "Last-Event-ID": seen.id}) as events:
        resync = await events.next_event()
        assert resync.json == {"type": "resync", "reason": "last_event_id_unknown"}
        assert (await events.next_event()).type == "ready"


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
