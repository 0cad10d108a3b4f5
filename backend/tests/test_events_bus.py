"""The per-process event bus against a real PostgreSQL: NOTIFY on commit, nothing on rollback,
per-user fan-out, reconnect + resync after the listener's connection is killed, bounded queues,
stream caps, revocation closing a user's streams, and stream shutdown."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
import pytest_asyncio

from app.core.db import libpq_url
from app.services import tasks as task_service
from app.services.events import (
    CHANNEL,
    RESYNC,
    BusEvent,
    StreamLimitReached,
    Subscription,
    TaskEventBus,
    publish_task_event,
)
from app.services.sessions import REVOCATION_CHANNEL
from taskpilot_dev import harness

# Users that never exist as rows: publish_task_event only needs ids, and these cannot collide
# with events other tests cause through real users.
ALICE, BOB = 910_001, 910_002


@pytest.fixture
def publish(database_url: str):
    async def _publish(user_id: int, type: str, task_id: int, *, commit: bool = True) -> None:
        async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as connection:
            await publish_task_event(connection, user_id=user_id, type=type, task_id=task_id)  # type: ignore[arg-type]
            if commit:
                await connection.commit()
            else:
                await connection.rollback()

    return _publish


async def next_event(subscription: Subscription, timeout: float = 5.0) -> BusEvent | None:
    return await asyncio.wait_for(subscription.get(), timeout)


@pytest_asyncio.fixture
async def bus(app: object, database_url: str):
    event_bus = TaskEventBus(libpq_url(database_url))
    event_bus.start()
    assert await event_bus.wait_listening(10), "listener did not connect"
    yield event_bus
    await event_bus.stop()


async def test_committed_event_reaches_every_subscriber_of_that_user_only(bus: TaskEventBus, publish) -> None:
    alice_tab1, alice_tab2, bob = bus.subscribe(ALICE), bus.subscribe(ALICE), bus.subscribe(BOB)

    await publish(ALICE, "created", 11)
    for tab in (alice_tab1, alice_tab2):
        event = await next_event(tab)
        assert event is not None
        assert (event.type, event.user_id, event.task_id) == ("created", ALICE, 11)

    await publish(BOB, "updated", 12)
    bob_event = await next_event(bob)
    assert bob_event is not None
    assert (bob_event.type, bob_event.task_id) == ("updated", 12), "Bob must not see Alice's event first"
    assert alice_tab1.pending() == alice_tab2.pending() == 0


async def test_rolled_back_event_is_never_delivered(bus: TaskEventBus, publish) -> None:
    alice = bus.subscribe(ALICE)
    await publish(ALICE, "created", 21, commit=False)
    await publish(ALICE, "deleted", 22)  # committed after the rollback: arrives, and arrives first
    event = await next_event(alice)
    assert event is not None and (event.type, event.task_id) == ("deleted", 22)
    await asyncio.sleep(0.2)
    assert alice.pending() == 0


async def test_task_service_writes_emit_events_in_order(bus: TaskEventBus, create_user, app) -> None:
    user = await create_user()
    subscription = bus.subscribe(user.id)
    async with app.services.db.session() as session:
        task_id = (await task_service.create_task(session, user.id, title="Buy milk")).id
        await task_service.update_task(session, user.id, task_id, completed=True)
        with pytest.raises(task_service.TaskNotFound):  # rolls back: no event
            await task_service.update_task(session, user.id, task_id + 1000, title="nope")
        await task_service.delete_task(session, user.id, task_id)
    received = [await next_event(subscription) for _ in range(3)]
    assert [(e.type, e.task_id) for e in received if e] == [
        ("created", task_id),
        ("updated", task_id),
        ("deleted", task_id),
    ]
    await asyncio.sleep(0.2)
    assert subscription.pending() == 0


async def test_malformed_notification_is_ignored_and_listener_keeps_going(
    bus: TaskEventBus, database_url: str, publish
) -> None:
    alice = bus.subscribe(ALICE)
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as connection:
        await connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, "not json"))
        await connection.execute(
            "SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps({"user_id": ALICE, "type": "explode", "task_id": 1}))
        )
    await publish(ALICE, "created", 31)
    event = await next_event(alice)
    assert event is not None and (event.type, event.task_id) == ("created", 31)


async def test_killed_listener_reconnects_resyncs_and_delivers_again(
    bus: TaskEventBus, database_url: str, publish
) -> None:
    alice, bob = bus.subscribe(ALICE), bus.subscribe(BOB)
    await publish(ALICE, "created", 41)
    before_gap = await next_event(alice)
    assert before_gap is not None
    old_pid = bus.listener_pid

    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as connection:
        cursor = await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (bus.application_name,),
        )
        assert [row[0] for row in await cursor.fetchall()] == [True]

    for subscription in (alice, bob):  # every subscriber, whatever its user, must reload
        resync = await next_event(subscription, timeout=10)
        assert resync is not None and resync.type == RESYNC and resync.reason == "listener_reconnected"
    assert bus.listening and bus.listener_pid not in (None, old_pid)

    await publish(ALICE, "updated", 41)
    event = await next_event(alice)
    assert event is not None and (event.type, event.task_id) == ("updated", 41)


def test_streams_are_capped_per_user_and_per_process() -> None:
    bus = TaskEventBus("postgresql://unused", max_streams_per_user=2, max_streams_per_pod=3)
    first = bus.subscribe(ALICE)
    bus.subscribe(ALICE)
    with pytest.raises(StreamLimitReached, match="for this user"):
        bus.subscribe(ALICE)
    bus.subscribe(BOB)
    with pytest.raises(StreamLimitReached, match="on this server"):
        bus.subscribe(BOB)
    bus.unsubscribe(first)  # a closed stream frees its slot
    bus.subscribe(910_003)
    assert bus.subscriber_count() == 3


def test_one_address_gets_only_its_share_of_the_process_streams() -> None:
    bus = TaskEventBus("postgresql://unused", max_streams_per_user=10, max_streams_per_pod=5, max_streams_per_ip=2)
    first = bus.subscribe(ALICE, address="198.51.100.1")
    bus.subscribe(BOB, address="198.51.100.1")  # another account, same address
    with pytest.raises(StreamLimitReached, match="from this address"):
        bus.subscribe(910_003, address="198.51.100.1")
    bus.subscribe(910_003, address="198.51.100.2")  # someone else still gets in
    bus.unsubscribe(first)
    bus.unsubscribe(first)  # the route and a revocation may both let go: counted once
    bus.subscribe(910_004, address="198.51.100.1")
    with pytest.raises(StreamLimitReached, match="from this address"):
        bus.subscribe(910_005, address="198.51.100.1")


async def test_revocation_closes_only_older_streams_of_that_user(bus: TaskEventBus, database_url: str) -> None:
    revoked, current, bob = (
        bus.subscribe(ALICE, token_version=0),
        bus.subscribe(ALICE, token_version=1),
        bus.subscribe(BOB),
    )
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as connection:
        await connection.execute(
            "SELECT pg_notify(%s, %s)", (REVOCATION_CHANNEL, json.dumps({"user_id": ALICE, "version": 1}))
        )
    assert await next_event(revoked) is None  # the stream is told to end
    assert current.pending() == bob.pending() == 0 and not current.closed and not bob.closed
    assert bus.subscriber_count() == 2


async def test_slow_subscriber_gets_one_resync_instead_of_unbounded_backlog() -> None:
    bus = TaskEventBus("postgresql://unused", queue_size=3)
    stalled, healthy = bus.subscribe(ALICE), bus.subscribe(ALICE)
    for task_id in range(1, 11):
        bus.dispatch_payload(json.dumps({"user_id": ALICE, "type": "created", "task_id": task_id}))
        if task_id % 2 == 0:
            for _ in range(2):
                await next_event(healthy)
    assert stalled.pending() <= 3
    queued = stalled.pending()
    events = [await next_event(stalled) for _ in range(queued)]
    assert any(e is not None and e.type == RESYNC and e.reason == "subscriber_overflow" for e in events)
    assert healthy.pending() == 0


async def test_unreachable_database_keeps_retrying_and_stop_is_prompt() -> None:
    bus = TaskEventBus(f"postgresql://nobody@127.0.0.1:{harness.free_port()}/none")
    bus.start()
    subscription = bus.subscribe(ALICE)
    assert not await bus.wait_listening(0.8)
    await asyncio.wait_for(bus.stop(), 2)
    assert await next_event(subscription, 1) is None  # the stream is told to end


async def test_lifespan_hook_listens_and_closes_streams_when_draining(database_url: str, app: object) -> None:
    from app.main import create_app

    application = create_app()
    async with application.router.lifespan_context(application):
        event_bus: TaskEventBus = application.services.events
        assert await event_bus.wait_listening(10)
        subscription = event_bus.subscribe(ALICE)
        application.services.draining.begin()  # what the SIGTERM handler (core/draining.py) does
        assert await next_event(subscription, 2) is None
        late = event_bus.subscribe(ALICE)  # a stream opened while draining ends right away
        assert await next_event(late, 1) is None
    assert event_bus.closed and not event_bus.listening


async def test_stop_ends_a_listener_that_swallowed_a_cancellation():
    """Python 3.11's wait_for can eat a cancellation; shutdown must still end the listener, not hang."""
    bus = TaskEventBus("postgresql://127.0.0.1:1/unused")
    cancellations = 0

    async def stubborn_listener() -> None:
        nonlocal cancellations
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations == 1:
                    continue  # swallowed, as the buggy wait_for does
                raise

    bus.listener._task = asyncio.create_task(stubborn_listener())
    await asyncio.sleep(0)
    await asyncio.wait_for(bus.stop(), timeout=5)
    assert cancellations == 2
    assert bus.closed and not bus.listener.started
