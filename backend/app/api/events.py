"""GET /api/events: the caller's task events as Server-Sent Events.

Wire format (every message is an unnamed SSE event, so `EventSource.onmessage` sees all of them;
`data` is JSON with a "type"):
  {"type": "created"|"updated", "task_id": 7, "task": {TaskRead}}   task omitted if already gone
  {"type": "deleted", "task_id": 7}
  {"type": "resync", "reason": "..."}   events may have been missed: reload the task list
  {"type": "ready", "instance": "...", "listening": true}   the subscription is live
Event ids are "<epoch>-<seq>" (see app/services/events.py). On reconnect the browser sends
Last-Event-ID: events this process still remembers are replayed, otherwise the stream starts
with `resync`. Keep-alive comments every KEEPALIVE_SECONDS.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Request, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import CurrentUser
from app.core.db import session_scope
from app.schemas.common import error_responses
from app.schemas.tasks import TaskRead
from app.services import tasks as task_service
from app.services.events import RESYNC, BusEvent, Subscription, TaskEventBus

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
            401, 429, 503,
            s429="Too many open event streams (for this user or this process): wait Retry-After seconds",
            s503="Real-time events are not available in this process",
        ),
    },
)
async def stream_events(
    request: Request,
    current_user: CurrentUser,  # bearer header or the session cookie (EventSource cannot send headers)
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    user_id = current_user.id  # from the JWT alone: no pooled DB session is held for the stream's life
    bus: TaskEventBus | None = getattr(request.app.state, "task_event_bus", None)
    if bus is None or bus.closed:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="Real-time events are not available")
    # Two shutdown paths end the stream: the bus closes subscriptions when SIGTERM starts the drain
    # (app.state.draining), and sse-starlette sets `shutdown` when it sees uvicorn exiting.
    shutdown = anyio.Event()
    return EventSourceResponse(
        _event_stream(bus, user_id, last_event_id, shutdown),
        headers=STREAM_HEADERS,
        ping=KEEPALIVE_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


async def _event_stream(
    bus: TaskEventBus, user_id: int, last_event_id: str | None, shutdown: anyio.Event
) -> AsyncIterator[ServerSentEvent]:
    # Subscribing here (not in the route) ties the subscription to the generator's finally: a client
    # that vanishes before streaming starts leaves nothing behind. Clients count events as live from
    # `ready` on, which is sent after subscribing.
    subscription = bus.subscribe(user_id)
    try:
        # Taken together with the subscription (no await in between): everything up to ready_id comes
        # from the replay, everything after it through the queue, so ids stay monotonic on the wire.
        ready_id = bus.current_id
        missed = bus.missed_since(user_id, last_event_id) if last_event_id else []
        if missed is None:
            yield _message({"type": RESYNC, "reason": "last_event_id_unknown"}, ready_id)
        else:
            for event in missed:
                yield await _render(bus, event)
        ready = _message({"type": "ready", "instance": socket.gethostname(), "listening": bus.listening}, ready_id)
        ready.retry = RECONNECT_DELAY_MS
        yield ready
        while True:
            event = await _next_or_none(subscription, shutdown)
            if event is None:  # shutting down: end the response so uvicorn can exit
                return
            yield await _render(bus, event)
    finally:
        subscription.close()
        bus.unsubscribe(subscription)


async def _next_or_none(subscription: Subscription, shutdown: anyio.Event) -> BusEvent | None:
    getter = asyncio.ensure_future(subscription.get())
    stopper = asyncio.ensure_future(shutdown.wait())
    try:
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (getter, stopper):
            waiter.cancel()  # no-op when done; a cancelled Queue.get takes nothing
    return getter.result() if getter in done else None


def _message(data: dict[str, Any], event_id: str) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, separators=(",", ":")), id=event_id)


async def _render(bus: TaskEventBus, event: BusEvent) -> ServerSentEvent:
    event_id = bus.event_id(event.seq)
    if event.type == RESYNC:
        return _message({"type": RESYNC, "reason": event.reason}, event_id)
    body: dict[str, Any] = {"type": event.type, "task_id": event.task_id}
    if event.type != "deleted":
        task = await _task_snapshot(event)
        if task is not None:
            body["task"] = task
    return _message(body, event_id)


async def _task_snapshot(event: BusEvent) -> dict[str, Any] | None:
    """The task's current state, loaded once per event however many of the user's tabs listen."""
    if event.task_snapshot is None:
        event.task_snapshot = asyncio.ensure_future(_load_task(event.user_id, event.task_id))
    try:
        # shield: one tab disconnecting must not cancel the lookup the other tabs wait for
        return await asyncio.shield(event.task_snapshot)
    except Exception:  # noqa: BLE001 - the event still goes out, just without the task body
        logger.warning("could not load task %s for its event", event.task_id, exc_info=True)
        return None


async def _load_task(user_id: int | None, task_id: int | None) -> dict[str, Any] | None:
    if user_id is None or task_id is None:
        return None
    async with session_scope() as session:
        try:
            task = await task_service.get_task(session, user_id, task_id)
        except task_service.TaskNotFound:
            return None  # deleted since; its "deleted" event follows
        return TaskRead.model_validate(task).model_dump(mode="json")
