"""Shutdown draining: on SIGTERM readiness turns 503 first, and uvicorn stops only after the drain period.

While draining, the process still answers (the Service may route to it for a moment yet), but readiness
says 503, every answer closes its keep-alive connection, and open event streams end.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from types import FrameType

logger = logging.getLogger("taskpilot.app")


class Draining:
    """Whether this process has begun shutting down (read by readiness, the request middleware, the bus)."""

    def __init__(self) -> None:
        self.started = False

    def begin(self) -> None:
        self.started = True


def drain_on_sigterm(draining: Draining, drain_seconds: float) -> None:
    """On SIGTERM begin draining at once, then (after `drain_seconds`) let uvicorn shut down.

    uvicorn installs its own handler before the lifespan starts; we wrap it. Outside uvicorn
    (e.g. tests driving the lifespan directly) there is nothing to wrap and we leave signals alone.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return
    loop = asyncio.get_running_loop()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if not draining.started:
            draining.begin()
            logger.info("SIGTERM: draining", extra={"fields": {"drain_seconds": drain_seconds}})
        if drain_seconds > 0:
            loop.call_soon_threadsafe(partial(loop.call_later, drain_seconds, previous, signum, frame))
        else:
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
