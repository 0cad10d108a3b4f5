"""Bounded HTTP load (N clients looping) while something disrupts the stack, and how requests spread
over replicas (by the X-Instance-Id header every backend response carries)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

T = TypeVar("T")
INSTANCE_HEADER = "X-Instance-Id"


@dataclass
class LoadReport:
    total: int = 0
    failures: list[str] = field(default_factory=list)
    instances: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, failure: str | None, instance: str | None) -> None:
        with self.lock:
            self.total += 1
            if failure:
                self.failures.append(failure)
            if instance:
                self.instances[instance] += 1

    def summary(self) -> str:
        return (
            f"{self.total} requests, {len(self.failures)} failed, "
            f"{len(self.instances)} instances answered: {dict(self.instances)}"
        )


def _client_loop(
    url: str, headers: dict[str, str], stop: threading.Event, report: LoadReport, write_url: str | None = None
) -> None:
    """GET url in a loop; with write_url, every other request is a POST of a new task there."""
    with httpx.Client(timeout=10.0, headers=headers) as http:
        count = 0
        while not stop.is_set():
            count += 1
            writing = write_url is not None and count % 2 == 0
            try:
                if write_url is not None and writing:
                    response = http.post(write_url, json={"title": f"load {count}"})
                else:
                    response = http.get(url)
                ok = response.status_code == (201 if writing else 200)
                failure = None if ok else f"{'POST ' if writing else ''}HTTP {response.status_code}"
                report.record(failure, response.headers.get(INSTANCE_HEADER))
            except httpx.HTTPError as error:
                report.record(f"{type(error).__name__}: {error}", None)


def load_while(
    action: Callable[[], T],
    url: str,
    *,
    clients: int = 20,
    headers: dict[str, str] | None = None,
    write_url: str | None = None,
) -> tuple[T, LoadReport]:
    """Run `clients` request loops against url (and, with write_url, task creations there) for
    exactly as long as action() takes."""
    report, stop = LoadReport(), threading.Event()
    threads = [
        threading.Thread(target=_client_loop, args=(url, headers or {}, stop, report, write_url), daemon=True)
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        result = action()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return result, report


def instance_spread(url: str, *, requests: int = 60, headers: dict[str, str] | None = None) -> LoadReport:
    """Sequential requests on fresh connections, so a load balancer may pick a new pod each time."""
    report = LoadReport()
    for _ in range(requests):
        try:
            response = httpx.get(url, headers=headers or {}, timeout=10.0)
            report.record(
                None if response.status_code == 200 else f"HTTP {response.status_code}",
                response.headers.get(INSTANCE_HEADER),
            )
        except httpx.HTTPError as error:
            report.record(f"{type(error).__name__}: {error}", None)
    return report
