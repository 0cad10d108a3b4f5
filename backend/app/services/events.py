"""Task change events: published inside the writer's transaction, fanned out per process.

Publishing: `publish_task_event` runs pg_notify in the caller's transaction, so PostgreSQL
delivers the event on commit and drops it on rollback. The payload holds ids only (NOTIFY
payloads cap at 8000 bytes); the SSE route loads the task itself.

Fan-out: each process runs one `TaskEventBus`. Its listener holds ONE dedicated psycopg
connection (outside the SQLAlchemy pool, autocommit) doing LISTEN, and hands every
notification to the in-memory queues of that user's subscribers. Every replica receives
every commit, so a change made through any replica reaches subscribers on all of them.

Event ids are "<epoch>-<seq>": seq counts events in the order this process received them;
epoch is random per process start. Why not a PostgreSQL sequence (and a migration): nextval()
would run when the writer calls NOTIFY, but notifications arrive in COMMIT order, so sequence
values could arrive out of order; the per-process counter is monotonic in delivery order by
construction. A Last-Event-ID from another replica or an earlier process has a foreign epoch
and gets a `resync`; one from this process is answered from a bounded replay buffer.

Gaps: when the listener connection drops (database restart, pg_terminate_backend, network),
the listener reconnects with capped exponential backoff and then broadcasts `resync` to every
subscriber, because notifications sent while nobody listened are gone. A subscriber whose
queue is full (a stalled client) gets its queue replaced by a single `resync` instead of
growing without bound.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "task_events"
EventType = Literal["created", "updated", "deleted"]
TASK_EVENT_TYPES = frozenset({"created", "updated", "deleted"})
RESYNC = "resync"

SUBSCRIBER_QUEUE_SIZE = 256  # events buffered per open stream before it is told to resync
REPLAY_BUFFER_SIZE = 2048  # recent events kept per process for Last-Event-ID replay
BACKOFF_MIN_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
HEALTHCHECK_SECONDS = 15.0  # an idle listener pings the database this often to notice a dead link
HEALTHCHECK_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
STOP_ATTEMPTS = 10  # cancellations (0.5 s apart) before shutdown gives up on the listener task
APPLICATION_NAME_PREFIX = "taskpilot-events-"
DRAIN_POLL_SECONDS = 0.2

logger = logging.getLogger("taskpilot.events")


async def publish_task_event(session: AsyncSession, *, user_id: int, type: EventType, task_id: int) -> None:
    """Queue a task event in the current transaction (ids only: NOTIFY payloads cap at 8000 bytes)."""
    payload = json.dumps({"user_id": user_id, "type": type, "task_id": task_id})
    await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


@dataclass(eq=False)
class BusEvent:
    """One event as this process numbered it. user_id None = meant for every subscriber (resync)."""

    seq: int
    type: str
    user_id: int | None
    task_id: int | None = None
    reason: str | None = None
    # Filled lazily by the SSE route so a user's several tabs share one task lookup.
    task_snapshot: asyncio.Task[Any] | None = field(default=None, repr=False)


class Subscription:
    """A bounded queue of events for one open stream; `None` from get() means the bus closed."""

    def __init__(self, user_id: int, maxsize: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self.user_id = user_id
        self._queue: asyncio.Queue[BusEvent | None] = asyncio.Queue(maxsize)
        self.closed = False

    def offer(self, event: BusEvent) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # The client stopped reading: drop its backlog, ask it to reload instead.
            self._drain()
            self._queue.put_nowait(BusEvent(event.seq, RESYNC, self.user_id, reason="subscriber_overflow"))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._drain()
            self._queue.put_nowait(None)

    async def get(self) -> BusEvent | None:
        return await self._queue.get()

    def pending(self) -> int:
        return self._queue.qsize()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


def listener_dsn(sqlalchemy_url: str) -> str:
    """libpq form of the app's SQLAlchemy URL (the listener talks to psycopg directly)."""
    prefix = "postgresql+psycopg://"
    return "postgresql://" + sqlalchemy_url[len(prefix):] if sqlalchemy_url.startswith(prefix) else sqlalchemy_url


class TaskEventBus:
    """Per-process LISTEN connection + per-user subscriber queues + a small replay buffer."""

    def __init__(self, dsn: str, *, replay_size: int = REPLAY_BUFFER_SIZE, queue_size: int = SUBSCRIBER_QUEUE_SIZE):
        self.dsn = dsn
        self.epoch = secrets.token_hex(4)
        self.application_name = APPLICATION_NAME_PREFIX + self.epoch  # lets ops/tests find this listener
        self._queue_size = queue_size
        self._seq = 0
        self._recent: deque[BusEvent] = deque(maxlen=replay_size)
        self._subscribers: dict[int, set[Subscription]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closed = False
        self._streams_closed = False
        self.listener_pid: int | None = None
        self.connects = 0

    # ---- ids -------------------------------------------------------------------------------
    def event_id(self, seq: int) -> str:
        return f"{self.epoch}-{seq}"

    @property
    def current_id(self) -> str:
        return self.event_id(self._seq)

    def _parse_id(self, event_id: str) -> int | None:
        epoch, _, seq = event_id.strip().partition("-")
        if epoch != self.epoch or not seq.isdigit():
            return None
        return int(seq)

    # ---- subscribers -----------------------------------------------------------------------
    def subscribe(self, user_id: int) -> Subscription:
        subscription = Subscription(user_id, self._queue_size)
        if self._streams_closed:
            subscription.close()  # draining: the stream sends its preamble and ends
        else:
            self._subscribers[user_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.user_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.user_id]

    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    def missed_since(self, user_id: int, last_event_id: str) -> list[BusEvent] | None:
        """The user's events after last_event_id, or None when they cannot be known (client must resync)."""
        seq = self._parse_id(last_event_id)
        if seq is None or seq > self._seq:
            return None
        if self._recent and self._recent[0].seq > seq + 1:
            return None  # evicted from the replay buffer
        later = [event for event in self._recent if event.seq > seq]
        if any(event.type == RESYNC for event in later):
            return None  # a listener gap happened since: events may be missing
        if not self._listening.is_set():
            return None  # a gap is in progress right now
        return [event for event in later if event.user_id == user_id]

    # ---- dispatch --------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def dispatch_payload(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            user_id, event_type, task_id = int(data["user_id"]), str(data["type"]), int(data["task_id"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring malformed %s payload: %.200s", CHANNEL, payload)
            return
        if event_type not in TASK_EVENT_TYPES:
            logger.warning("ignoring unknown event type %r", event_type)
            return
        event = BusEvent(self._next_seq(), event_type, user_id, task_id)
        # A separate record for replay, so the buffer never pins the task bodies live streams loaded.
        self._recent.append(replace(event))
        for subscription in tuple(self._subscribers.get(user_id, ())):
            subscription.offer(event)

    def broadcast_resync(self, reason: str) -> None:
        event = BusEvent(self._next_seq(), RESYNC, None, reason=reason)
        self._recent.append(event)
        for subscribers in tuple(self._subscribers.values()):
            for subscription in tuple(subscribers):
                subscription.offer(event)

    # ---- listener --------------------------------------------------------------------------
    def start(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.get_running_loop().create_task(self._listen_forever(), name="task-event-listener")

    async def wait_listening(self, timeout: float) -> bool:
        with suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout)
        return self._listening.is_set()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def _listen_forever(self) -> None:
        delay = BACKOFF_MIN_SECONDS
        while not self._closed:
            try:
                await self._listen_once()
            except (psycopg.Error, OSError, TimeoutError, asyncio.TimeoutError) as error:
                delay = self._mark_down(delay)
                logger.warning("event listener lost its database connection (%s); retrying in %.1fs",
                               str(error).strip() or type(error).__name__, delay)
            except Exception:  # noqa: BLE001 - the listener must survive anything and keep retrying
                delay = self._mark_down(delay)
                logger.exception("event listener failed; retrying in %.1fs", delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter: replicas don't stampede
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    def _mark_down(self, delay: float) -> float:
        """Record the gap; returns the next retry delay (short again if the link had been healthy)."""
        was_listening = self._listening.is_set()
        self._listening.clear()
        self.listener_pid = None
        return BACKOFF_MIN_SECONDS if was_listening else delay

    async def _listen_once(self) -> None:
        connection = await psycopg.AsyncConnection.connect(
            self.dsn,
            autocommit=True,
            application_name=self.application_name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            # TCP keep-alives notice a silently vanished server even between health checks.
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
        )
        async with connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self.listener_pid = connection.info.backend_pid
            self.connects += 1
            self._listening.set()
            # Anything committed while nobody listened is lost: every open stream must reload.
            # (Also sent on the first connect: streams opened before it may have missed events.)
            self.broadcast_resync("listener_connected" if self.connects == 1 else "listener_reconnected")
            logger.info("event listener connected (backend pid %s)", self.listener_pid)
            while not self._closed:
                async for notify in connection.notifies(timeout=HEALTHCHECK_SECONDS):
                    self.dispatch_payload(notify.payload)
                await asyncio.wait_for(connection.execute("SELECT 1"), HEALTHCHECK_TIMEOUT_SECONDS)

    def close_streams(self) -> None:
        """End every open stream now and every later one right after its preamble (shutdown)."""
        self._streams_closed = True
        for subscribers in tuple(self._subscribers.values()):
            for subscription in tuple(subscribers):
                subscription.close()
        self._subscribers.clear()

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        self._closed = True
        self.close_streams()
        listener, self._listener = self._listener, None
        if listener is not None:
            # Python 3.11's wait_for can swallow a cancellation that lands as its inner call completes:
            # cancel again until the task really ends, and never let shutdown hang on it.
            for _ in range(STOP_ATTEMPTS):
                listener.cancel()
                done, _ = await asyncio.wait({listener}, timeout=0.5)
                if done:
                    break
            else:
                logger.warning("event listener did not stop after %d cancellations; abandoning it", STOP_ATTEMPTS)
        self._listening.clear()
        self.listener_pid = None

    @property
    def closed(self) -> bool:
        return self._closed


async def _close_streams_when_draining(app: Any, bus: TaskEventBus) -> None:
    """uvicorn waits for open responses before it shuts down, and SSE responses never finish on
    their own: end them as soon as SIGTERM starts the drain (app.state.draining, set in app.main)."""
    while not getattr(app.state, "draining", False):
        await asyncio.sleep(DRAIN_POLL_SECONDS)
    logger.info("draining: closing %d event stream(s)", bus.subscriber_count())
    bus.close_streams()


@asynccontextmanager
async def task_event_bus(app: Any) -> AsyncIterator[TaskEventBus]:
    """Lifespan hook: one bus per process, stored on app.state for the SSE route."""
    from app.core.config import get_settings

    bus = TaskEventBus(listener_dsn(get_settings().sqlalchemy_url))
    app.state.task_event_bus = bus
    bus.start()  # connects in the background: a database that is down must not block startup
    drain_watch = asyncio.get_running_loop().create_task(_close_streams_when_draining(app, bus))
    try:
        yield bus
    finally:
        drain_watch.cancel()
        with suppress(asyncio.CancelledError):
            await drain_watch
        await bus.stop()
