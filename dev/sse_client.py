"""A small asyncio Server-Sent Events client for tests and benchmarks (`import sse_client`).

Records every event and keep-alive comment with its arrival time (time.perf_counter) so
callers can assert on order and measure latency. Not a general-purpose EventSource: it
does not reconnect (tests reconnect explicitly).
"""
from __future__ import annotations

import asyncio
import json
import time
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
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing, errors are expected
                pass

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

    def pending(self) -> list[SseEvent]:
        """Events received but not yet taken (does not wait)."""
        items = []
        while not self._events.empty():
            items.append(self._events.get_nowait())
        return items
