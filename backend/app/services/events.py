"""Task change events: published inside the writer's transaction, fanned out per process.

Publishing: `publish_task_event` runs pg_notify in the caller's transaction, so PostgreSQL
delivers the event on commit and drops it on rollback. The payload holds ids only (NOTIFY
payloads cap at 8000 bytes); the SSE route loads the task itself.

Fan-out: each process runs one `TaskEventBus`. Its listener holds ONE dedicated psycopg
connection (outside the app's pools, autocommit) doing LISTEN, and hands every
notification to the in-memory queues of that user's subscribers. Every replica receives
every commit, so a change made through any replica reaches subscribers on all of them.

No event ids and no replay: a client that reconnects (the browser does on every error) reloads
its task list, which is the one resync mechanism. Replaying from a per-process buffer could not
work across replicas anyway, and a full reload of one page of tasks is cheap.

Sessions: the listener also LISTENs for token revocations (services/sessions.py) and closes the
revoked user's streams; each stream also ends when its token expires (api/events.py). Open
streams are capped per user and per process (StreamLimitReached).

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
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from fastapi import status
from psycopg import AsyncConnection

from app.core.errors import ApiError
from app.services.sessions import REVOCATION_CHANNEL, parse_revocation

CHANNEL = "task_events"
EventType = Literal["created", "updated", "deleted"]
TASK_EVENT_TYPES = frozenset({"created", "updated", "deleted"})
RESYNC = "resync"
_NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', %s)"

SUBSCRIBER_QUEUE_SIZE = 256  # events buffered per open stream before it is told to resync
BACKOFF_MIN_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
HEALTHCHECK_SECONDS = 15.0  # an idle listener pings the database this often to notice a dead link
HEALTHCHECK_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
STOP_ATTEMPTS = 10  # cancellations (0.5 s apart) before shutdown gives up on the listener task
APPLICATION_NAME_PREFIX = "taskpilot-events-"
DRAIN_POLL_SECONDS = 0.2
STREAM_LIMIT_RETRY_AFTER_SECONDS = 30

logger = logging.getLogger("taskpilot.events")


async def publish_task_event(connection: AsyncConnection, *, user_id: int, type: EventType, task_id: int) -> None:
    """Queue a task event in the connection's open transaction (ids only: NOTIFY payloads cap at 8000 bytes)."""
    payload = json.dumps({"user_id": user_id, "type": type, "task_id": task_id})
    await connection.execute(_NOTIFY_SQL, (payload,), prepare=True)


class StreamLimitReached(ApiError):
    """Too many open streams for this user, this client address or this process; the detail says which."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_retry_after = STREAM_LIMIT_RETRY_AFTER_SECONDS


@dataclass(eq=False)
class BusEvent:
    """One event for subscribers. user_id None = meant for every subscriber (resync)."""

    type: str
    user_id: int | None
    task_id: int | None = None
    reason: str | None = None
    # Filled lazily by the SSE route so a user's several tabs share one task lookup.
    task_snapshot: asyncio.Task[Any] | None = field(default=None, repr=False)


class Subscription:
    """A bounded queue of events for one open stream; `None` from get() means the bus closed."""

    def __init__(
        self, user_id: int, maxsize: int = SUBSCRIBER_QUEUE_SIZE, token_version: int = 0, address: str | None = None
    ) -> None:
        self.user_id = user_id
        self.token_version = token_version
        self.address = address  # the client's, for its share of the process's streams
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
            self._queue.put_nowait(BusEvent(RESYNC, self.user_id, reason="subscriber_overflow"))

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


class TaskEventBus:
    """Per-process LISTEN connection + per-user subscriber queues, with caps on open streams."""

    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = SUBSCRIBER_QUEUE_SIZE,
        max_streams_per_user: int = 10,
        max_streams_per_pod: int = 1000,
        max_streams_per_ip: int = 100,
        on_revoked: Callable[[int, int | None], None] | None = None,
        on_connected: Callable[[], None] | None = None,
    ):
        self.dsn = dsn
        self.application_name = APPLICATION_NAME_PREFIX + secrets.token_hex(4)  # lets ops/tests find this listener
        self._queue_size = queue_size
        self.max_streams_per_user = max_streams_per_user
        self.max_streams_per_pod = max_streams_per_pod
        self.max_streams_per_ip = max_streams_per_ip
        self._on_revoked = on_revoked
        self._on_connected = on_connected
        self._subscribers: dict[int, set[Subscription]] = defaultdict(set)
        self._streams_per_address: Counter[str] = Counter()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closed = False
        self._streams_closed = False
        self.listener_pid: int | None = None
        self.connects = 0

    # ---- subscribers -----------------------------------------------------------------------
    def check_capacity(self, user_id: int, address: str | None = None) -> None:
        """Raise StreamLimitReached when one more stream for this user, or this client address, would exceed
        a cap (per user, per address: one person's share, however many accounts they sign up; per process)."""
        if len(self._subscribers.get(user_id, ())) >= self.max_streams_per_user:
            raise StreamLimitReached(f"Too many open event streams for this user (limit {self.max_streams_per_user})")
        if address is not None and self._streams_per_address[address] >= self.max_streams_per_ip:
            raise StreamLimitReached(f"Too many open event streams from this address (limit {self.max_streams_per_ip})")
        if self.subscriber_count() >= self.max_streams_per_pod:
            raise StreamLimitReached(f"Too many open event streams on this server (limit {self.max_streams_per_pod})")

    def subscribe(self, user_id: int, token_version: int = 0, address: str | None = None) -> Subscription:
        """A new stream's queue; raises StreamLimitReached over a cap."""
        subscription = Subscription(user_id, self._queue_size, token_version, address)
        if self._streams_closed:
            subscription.close()  # draining: the stream sends its preamble and ends
        else:
            self.check_capacity(user_id, address)
            self._subscribers[user_id].add(subscription)
            if address is not None:
                self._streams_per_address[address] += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.user_id)
        if subscribers is not None and subscription in subscribers:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.user_id]
            if subscription.address is not None:
                self._streams_per_address[subscription.address] -= 1
                if self._streams_per_address[subscription.address] <= 0:
                    del self._streams_per_address[subscription.address]

    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    # ---- dispatch --------------------------------------------------------------------------
    def dispatch(self, channel: str, payload: str) -> None:
        if channel == REVOCATION_CHANNEL:
            self.dispatch_revocation(payload)
        else:
            self.dispatch_payload(payload)

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
        event = BusEvent(event_type, user_id, task_id)
        for subscription in tuple(self._subscribers.get(user_id, ())):
            subscription.offer(event)

    def dispatch_revocation(self, payload: str) -> None:
        parsed = parse_revocation(payload)
        if parsed is None:
            return
        user_id, version = parsed
        if self._on_revoked is not None:
            self._on_revoked(user_id, version)
        for subscription in tuple(self._subscribers.get(user_id, ())):
            if version is None or subscription.token_version < version:  # None: the account is gone
                subscription.close()
                self.unsubscribe(subscription)

    def broadcast_resync(self, reason: str) -> None:
        event = BusEvent(RESYNC, None, reason=reason)
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
            except (psycopg.Error, OSError, TimeoutError) as error:
                delay = self._mark_down(delay)
                logger.warning(
                    "event listener lost its database connection (%s); retrying in %.1fs",
                    str(error).strip() or type(error).__name__,
                    delay,
                )
            except Exception:
                delay = self._mark_down(delay)
                logger.exception("event listener failed; retrying in %.1fs", delay)
            # jitter, so replicas don't stampede; nothing depends on it being unpredictable
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
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
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        async with connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            await connection.execute(f"LISTEN {REVOCATION_CHANNEL}")
            self.listener_pid = connection.info.backend_pid
            self.connects += 1
            if self._on_connected is not None:
                self._on_connected()  # before `listening` is set: nothing may trust pre-gap state
            self._listening.set()
            # Anything committed while nobody listened is lost: every open stream must reload.
            # (Also sent on the first connect: streams opened before it may have missed events.)
            self.broadcast_resync("listener_connected" if self.connects == 1 else "listener_reconnected")
            logger.info("event listener connected (backend pid %s)", self.listener_pid)
            while not self._closed:
                async for notify in connection.notifies(timeout=HEALTHCHECK_SECONDS):
                    self.dispatch(notify.channel, notify.payload)
                await asyncio.wait_for(connection.execute("SELECT 1"), HEALTHCHECK_TIMEOUT_SECONDS)

    def close_streams(self) -> None:
        """End every open stream now and every later one right after its preamble (shutdown)."""
        self._streams_closed = True
        for subscribers in tuple(self._subscribers.values()):
            for subscription in tuple(subscribers):
                subscription.close()
        self._subscribers.clear()
        self._streams_per_address.clear()

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
    """Lifespan hook: one bus per process, stored on app.state for the SSE route and session checks."""
    settings, versions = app.state.settings, app.state.token_versions
    bus = TaskEventBus(
        app.state.db.dsn,
        max_streams_per_user=settings.sse_max_streams_per_user,
        max_streams_per_pod=settings.sse_max_streams_per_pod,
        max_streams_per_ip=settings.sse_max_streams_per_ip,
        on_revoked=versions.on_revoked,
        on_connected=versions.forget_all,
    )
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
