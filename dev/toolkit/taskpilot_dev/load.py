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


def _client_loop(url: str, headers: dict[str, str], stop: threading.Event, report: LoadReport) -> None:
    with httpx.Client(timeout=10.0, headers=headers) as http:
        while not stop.is_set():
            try:
                response = http.get(url)
                failure = None if response.status_code == 200 else f"HTTP {response.status_code}"
                report.record(failure, response.headers.get(INSTANCE_HEADER))
            except httpx.HTTPError as error:
                report.record(f"{type(error).__name__}: {error}", None)


def load_while(
    action: Callable[[], T], url: str, *, clients: int = 20, headers: dict[str, str] | None = None
) -> tuple[T, LoadReport]:
    """Run `clients` request loops against url for exactly as long as action() takes."""
    report, stop = LoadReport(), threading.Event()
    threads = [
        threading.Thread(target=_client_loop, args=(url, headers or {}, stop, report), daemon=True)
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
