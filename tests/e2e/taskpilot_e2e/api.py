"""Talking to TaskPilot over HTTP like a client would: users, tasks, the event stream."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

PASSWORD = "e2e-password-123"


def unique_email(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class ApiUser:
    email: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def signup(base_url: str, prefix: str = "e2e") -> ApiUser:
    email = unique_email(prefix)
    response = httpx.post(f"{base_url}/api/auth/signup", json={"email": email, "password": PASSWORD, "name": prefix},
                          timeout=30)
    assert response.status_code == 201, response.text
    body = response.json()
    return ApiUser(email=email, token=body["access_token"], user_id=body["user"]["id"])


class EventStream:
    """GET /api/events in a background thread; events (parsed JSON data) land in a queue."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None,
                 cookies: httpx.Cookies | None = None) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.status: int | None = None
        self.error: BaseException | None = None
        self._closing = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=60.0), headers=headers, cookies=cookies)
        self._thread = threading.Thread(target=self._read, args=(f"{base_url}/api/events",), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        try:
            with self._client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
                self.status = response.status_code
                data: list[str] = []
                for line in response.iter_lines():
                    if self._closing.is_set():
                        return
                    if line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line == "" and data:
                        self.events.put(json.loads("\n".join(data)))
                        data = []
        except BaseException as error:  # noqa: BLE001 - reported to the test through .error
            if not self._closing.is_set():
                self.error = error

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.error is not None:
                    raise AssertionError(f"event stream failed: {self.error!r} (status {self.status})")
                continue
            seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no matching event within {timeout}s; saw {seen} (status {self.status})")

    def close(self) -> None:
        self._closing.set()
        self._client.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
