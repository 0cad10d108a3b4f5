"""GET /api/events: the caller's task events as Server-Sent Events.

Wire format (every message is an unnamed SSE event, so `EventSource.onmessage` sees all of them;
`data` is JSON with a "type"):
  {"type": "created"|"updated", "task_id": 7, "task": {TaskRead}}   task omitted if already gone
  {"type": "deleted", "task_id": 7}
  {"type": "resync", "reason": "..."}   events may have been missed: reload the task list
  {"type": "ready", "instance": "...", "listening": true}   the subscription is live
Messages carry no ids: a client that reconnects reloads its list (the one resync mechanism, see
app/services/events/). Keep-alive comments every KEEPALIVE_SECONDS. The stream ends when the
token expires or the user logs out (the client's reconnect then gets 401), and open streams are
capped per user, per client address and per process: over a cap the answer is 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, HTTPException, Request, status
from psycopg_pool import AsyncConnectionPool
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import AuthenticatedUser, CurrentUser, Services
from app.schemas.common import error_responses
from app.services import tasks as task_service
from app.services.events import RESYNC, BusEvent, StreamLimitReached, Subscription, TaskEventBus

KEEPALIVE_SECONDS = 10  # comfortably under the ~15 s idle timeouts of common proxies and load balancers
RECONNECT_DELAY_MS = 2000  # the browser's EventSource reconnect delay
SEND_TIMEOUT_SECONDS = 30  # a client that cannot take a message for this long is dropped
SHUTDOWN_GRACE_SECONDS = 1.0  # on server shutdown the generator ends itself, so the response closes cleanly
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

logger = logging.getLogger("taskpilot.events")
router = APIRouter(tags=["events"])


@router.get(
    "/events",
    summary="Stream the caller's task events (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"},
        **error_responses(
            401,
            429,
            503,
            s429="Too many open event streams (for this user or this process): wait Retry-After seconds",
            s503="Real-time events are not available in this process",
        ),
    },
)
async def stream_events(
    request: Request,
    current_user: CurrentUser,  # bearer header or the session cookie (EventSource cannot send headers)
    services: Services,
) -> EventSourceResponse:
    bus = services.events
    if not bus.running:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="Real-time events are not available")
    address = request.client.host if request.client else None  # the real client (TRUSTED_PROXIES)
    bus.check_capacity(current_user.id, address)  # over a cap: StreamLimitReached, answered 429
    # Two shutdown paths end the stream: the bus closes subscriptions when SIGTERM starts the drain
    # (services.draining), and sse-starlette sets `shutdown` when it sees uvicorn exiting.
    shutdown = anyio.Event()
    return EventSourceResponse(
        _event_stream(bus, services.db.pool, current_user, shutdown, services.instance_id, address),
        headers=STREAM_HEADERS,
        ping=KEEPALIVE_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


async def _event_stream(
    bus: TaskEventBus,
    pool: AsyncConnectionPool,
    user: AuthenticatedUser,
    shutdown: anyio.Event,
    instance_id: str,
    address: str | None,
) -> AsyncIterator[ServerSentEvent]:
    # Subscribing here (not in the route) ties the subscription to the generator's finally: a client
    # that vanishes before streaming starts leaves nothing behind. The route checked the caps; a
    # stream that lost a race for the last slot just ends (the client's reconnect then gets 429).
    try:
        subscription = bus.subscribe(user.id, user.token_version, address)
    except StreamLimitReached:
        return
    try:
        ready = _message({"type": "ready", "instance": instance_id, "listening": bus.listening})
        ready.retry = RECONNECT_DELAY_MS
        yield ready
        while True:
            # Revocation closes the subscription (get() returns None); expiry ends the wait.
            event = await _next_or_none(subscription, shutdown, deadline=user.expires_at)
            if event is None:  # shutting down, token expired or revoked: end the response
                return
            yield await _render(pool, event)
    finally:
        subscription.close()
        bus.unsubscribe(subscription)


async def _next_or_none(subscription: Subscription, shutdown: anyio.Event, deadline: float) -> BusEvent | None:
    remaining = deadline - time.time()
    if remaining <= 0:
        return None
    getter = asyncio.ensure_future(subscription.get())
    stopper = asyncio.ensure_future(shutdown.wait())
    try:
        done, _ = await asyncio.wait({getter, stopper}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (getter, stopper):
            waiter.cancel()  # no-op when done; a cancelled Queue.get takes nothing
    return getter.result() if getter in done else None


def _message(data: dict[str, Any]) -> ServerSentEvent:
    # Same JSON as the REST routes write (datetimes included).
    return ServerSentEvent(data=orjson.dumps(data, option=orjson.OPT_UTC_Z).decode())


async def _render(pool: AsyncConnectionPool, event: BusEvent) -> ServerSentEvent:
    if event.type == RESYNC:
        return _message({"type": RESYNC, "reason": event.reason})
    body: dict[str, Any] = {"type": event.type, "task_id": event.task_id}
    if event.type != "deleted":
        task = await _task_snapshot(pool, event)
        if task is not None:
            body["task"] = task
    return _message(body)


async def _task_snapshot(pool: AsyncConnectionPool, event: BusEvent) -> dict[str, Any] | None:
    """The task's current state, loaded once per event however many of the user's tabs listen."""
    if event.task_snapshot is None:
        event.task_snapshot = asyncio.ensure_future(_load_task(pool, event.user_id, event.task_id))
    try:
        # shield: one tab disconnecting must not cancel the lookup the other tabs wait for
        return await asyncio.shield(event.task_snapshot)
    except Exception:
        logger.warning("could not load task %s for its event", event.task_id, exc_info=True)
        return None


async def _load_task(pool: AsyncConnectionPool, user_id: int | None, task_id: int | None) -> dict[str, Any] | None:
    if user_id is None or task_id is None:
        return None
    async with pool.connection() as connection:
        try:
            return asdict(await task_service.get_task(connection, user_id, task_id))
        except task_service.TaskNotFound:
            return None  # deleted since; its "deleted" event follows
