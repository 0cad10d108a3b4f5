"""One open stream's bounded event queue: a stalled reader gets a single `resync` instead of a growing backlog."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

RESYNC = "resync"
SUBSCRIBER_QUEUE_SIZE = 256  # events buffered per open stream before it is told to resync


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
