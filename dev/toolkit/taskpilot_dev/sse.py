"""The one Server-Sent Events client: `SseStream` (asyncio) and `EventStream`, a thread-backed
synchronous view of the same stream for code without an event loop.

Every event and keep-alive comment is recorded with its arrival time (time.perf_counter), so callers
can assert on order and measure latency. Not a general-purpose EventSource: it does not reconnect
(tests reconnect explicitly).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    data: str
    id: str | None = None
    event: str = "message"
    retry: int | None = None
    received_at: float = field(default_factory=time.perf_counter)

    @property
    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def type(self) -> str | None:
        """TaskPilot puts the event kind in data["type"]."""
        try:
            payload = self.json
        except ValueError:
            return None
        return payload.get("type") if isinstance(payload, dict) else None


class SseStream:
    """`async with SseStream(client, "/api/events") as stream:` opens the stream and waits for headers."""

    def __init__(self, client: httpx.AsyncClient, url: str, *, headers: dict[str, str] | None = None) -> None:
        self._client = client
        self._url = url
        self._headers = {"Accept": "text/event-stream", **(headers or {})}
        self._events: asyncio.Queue[SseEvent] = asyncio.Queue()
        self._opened = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.response: httpx.Response | None = None
        self.comments: list[tuple[float, str]] = []
        self.ended = asyncio.Event()
        self.ended_at: float | None = None
        self.error: BaseException | None = None

    async def __aenter__(self) -> SseStream:
        self._task = asyncio.create_task(self._read())
        opened = asyncio.create_task(self._opened.wait())
        await asyncio.wait({opened, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if self.error is not None:
            raise self.error
        if self.response is None:
            raise TimeoutError(f"no response headers from {self._url}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # the reader's own end is no news
                await self._task

    async def _read(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=None)  # the stream is idle between events by design
            async with self._client.stream("GET", self._url, headers=self._headers, timeout=timeout) as response:
                self.response = response
                self._opened.set()
                if response.status_code != 200:
                    await response.aread()
                    return
                await self._parse(response)
        except (httpx.HTTPError, OSError) as error:
            self.error = error
        finally:
            self.ended_at = time.perf_counter()
            self.ended.set()

    async def _parse(self, response: httpx.Response) -> None:
        fields: dict[str, list[str]] = {}
        async for line in response.aiter_lines():
            now = time.perf_counter()
            if line == "":
                if "data" in fields or "id" in fields:
                    retry = fields.get("retry", [None])[-1]
                    self._events.put_nowait(
                        SseEvent(
                            data="\n".join(fields.get("data", [])),
                            id=fields.get("id", [None])[-1],
                            event=fields.get("event", ["message"])[-1],
                            retry=int(retry) if retry and retry.isdigit() else None,
                            received_at=now,
                        )
                    )
                fields = {}
            elif line.startswith(":"):
                self.comments.append((now, line[1:].strip()))
            else:
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)

    async def next_event(self, timeout: float = 10.0) -> SseEvent:
        """The next event; raises TimeoutError if none arrives in time (or the stream ended)."""
        getter = asyncio.create_task(self._events.get())
        ended = asyncio.create_task(self.ended.wait())
        try:
            done, _ = await asyncio.wait({getter, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        if not self._events.empty():
            return self._events.get_nowait()
        reason = "stream ended" if self.ended.is_set() else f"no event within {timeout}s"
        raise TimeoutError(f"{reason} ({self._url})")

    async def next_of_type(self, *types: str, timeout: float = 10.0) -> SseEvent:
        """Skip events of other types until one of `types` arrives."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.next_event(max(0.0, deadline - time.monotonic()))
            if event.type in types:
                return event

    async def __aiter__(self) -> AsyncIterator[SseEvent]:
        """Every event until the stream ends."""
        while True:
            try:
                yield await self.next_event(timeout=3600)
            except TimeoutError:
                if self.ended.is_set():
                    return

    def pending(self) -> list[SseEvent]:
        """Events received but not yet taken (does not wait)."""
        items = []
        while not self._events.empty():
            items.append(self._events.get_nowait())
        return items


class EventStream:
    """GET /api/events on a background thread (an SseStream in its own event loop); each event's
    parsed JSON data lands in `.events`. `with EventStream(url, headers=...) as stream:`."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        cookies: httpx.Cookies | None = None,
        path: str = "/api/events",
    ) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.status: int | None = None
        self.error: BaseException | None = None
        self._url = base_url.rstrip("/") + path
        self._headers, self._cookies = headers, cookies
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._reader = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    async def _run(self) -> None:
        try:
            async with (
                httpx.AsyncClient(headers=self._headers, cookies=self._cookies) as client,
                SseStream(client, self._url) as stream,
            ):
                self.status = stream.response.status_code if stream.response else None
                async for event in stream:
                    self.events.put(event.json)
                if stream.error is not None:
                    self.error = stream.error
        except asyncio.CancelledError:
            pass
        except Exception as error:
            self.error = error

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.error is not None:
                    raise AssertionError(f"event stream failed: {self.error!r} (status {self.status})") from None
                continue
            seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no matching event within {timeout}s; saw {seen} (status {self.status})")

    async def _cancel_reader(self) -> None:
        """On the stream's loop: cancel the reader and wait until it has unwound (closing the stream)."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(concurrent.futures.TimeoutError):
            asyncio.run_coroutine_threadsafe(self._cancel_reader(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
