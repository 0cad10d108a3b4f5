"""The bus's part of the app lifespan: listen while the app runs, end every stream when draining begins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from app.core.draining import Draining
from app.services.events.bus import TaskEventBus

DRAIN_POLL_SECONDS = 0.2

logger = logging.getLogger("taskpilot.events")


async def _close_streams_when_draining(draining: Draining, bus: TaskEventBus) -> None:
    """uvicorn waits for open responses before it shuts down, and SSE responses never finish on
    their own: end them as soon as SIGTERM starts the drain."""
    while not draining.started:
        await asyncio.sleep(DRAIN_POLL_SECONDS)
    logger.info("draining: closing %d event stream(s)", bus.subscriber_count())
    bus.close_streams()


@asynccontextmanager
async def running_event_bus(bus: TaskEventBus, draining: Draining) -> AsyncIterator[TaskEventBus]:
    bus.start()  # connects in the background: a database that is down must not block startup
    drain_watch = asyncio.get_running_loop().create_task(_close_streams_when_draining(draining, bus))
    try:
        yield bus
    finally:
        drain_watch.cancel()
        with suppress(asyncio.CancelledError):
            await drain_watch
        await bus.stop()
