"""The process's one LISTEN connection, reconnecting with capped exponential backoff when it drops."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from contextlib import suppress

import psycopg

BACKOFF_MIN_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
HEALTHCHECK_SECONDS = 15.0  # an idle listener pings the database this often to notice a dead link
HEALTHCHECK_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
STOP_ATTEMPTS = 10  # cancellations (0.5 s apart) before shutdown gives up on the listener task
APPLICATION_NAME_PREFIX = "taskpilot-events-"

logger = logging.getLogger("taskpilot.events")


class NotificationListener:
    """LISTENs on `channels` and hands every notification to `on_notify(channel, payload)`.

    `on_connected(reconnected)` runs on every (re)connect, before `listening` turns true: whatever was
    sent while nobody listened is lost, so the caller must stop trusting what it knew before the gap.
    """

    def __init__(
        self,
        dsn: str,
        channels: Sequence[str],
        on_notify: Callable[[str, str], None],
        on_connected: Callable[[bool], None],
    ) -> None:
        self.dsn = dsn
        self.channels = tuple(channels)
        self.application_name = APPLICATION_NAME_PREFIX + secrets.token_hex(4)  # lets ops/tests find it
        self._on_notify = on_notify
        self._on_connected = on_connected
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._stopped = False
        self.pid: int | None = None  # the database backend serving the LISTEN
        self.connects = 0

    def start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._listen_forever(), name="task-event-listener")

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def wait_listening(self, timeout: float) -> bool:
        with suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout)
        return self._listening.is_set()

    async def _listen_forever(self) -> None:
        delay = BACKOFF_MIN_SECONDS
        while not self._stopped:
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
        self.pid = None
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
            for channel in self.channels:
                await connection.execute(f"LISTEN {channel}")
            self.pid = connection.info.backend_pid
            self.connects += 1
            self._on_connected(self.connects > 1)  # before `listening` is set: nothing may trust pre-gap state
            self._listening.set()
            logger.info("event listener connected (backend pid %s)", self.pid)
            while not self._stopped:
                async for notify in connection.notifies(timeout=HEALTHCHECK_SECONDS):
                    self._on_notify(notify.channel, notify.payload)
                await asyncio.wait_for(connection.execute("SELECT 1"), HEALTHCHECK_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            # Python 3.11's wait_for can swallow a cancellation that lands as its inner call completes:
            # cancel again until the task really ends, and never let shutdown hang on it.
            for _ in range(STOP_ATTEMPTS):
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=0.5)
                if done:
                    break
            else:
                logger.warning("event listener did not stop after %d cancellations; abandoning it", STOP_ATTEMPTS)
        self._listening.clear()
        self.pid = None
