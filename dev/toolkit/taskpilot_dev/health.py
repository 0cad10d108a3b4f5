"""HTTP health checks of a running stack: backend /health and /health/ready, frontend /.

Each check is retried until it answers 200 or its timeout passes (a live update or a restarting pod
is given time to come back). Output is plain text, one line per check, no colour.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

# Build output and caches change on their own; only source edits start a new round.
IGNORED_PARTS = {"node_modules", ".next", "__pycache__", ".pytest_cache", ".git", "test-results"}


@dataclass
class Check:
    service: str
    url: str
    expect_json_status: str | None = None  # e.g. /health must say {"status": "ok"}


@dataclass
class Result:
    check: Check
    ok: bool
    detail: str


def checks_for(backend_url: str, frontend_url: str, skip_frontend: bool) -> list[Check]:
    backend_url, frontend_url = backend_url.rstrip("/"), frontend_url.rstrip("/")
    checks = [
        Check("backend", backend_url + "/health", expect_json_status="ok"),
        Check("backend", backend_url + "/health/ready"),
    ]
    if not skip_frontend:
        checks.append(Check("frontend", frontend_url + "/"))
    return checks


def probe(check: Check, request_timeout: float) -> Result:
    """One HTTP GET; never raises."""
    started = time.monotonic()
    try:
        response = httpx.get(check.url, timeout=request_timeout)
    except httpx.TimeoutException:
        return Result(check, False, f"no answer within {request_timeout:g}s")
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
        return Result(check, False, "connection refused or reset (is the port-forward up?)")
    except httpx.HTTPError as err:
        return Result(check, False, f"request failed: {err.__class__.__name__}")
    elapsed_ms = (time.monotonic() - started) * 1000
    if response.status_code != 200:
        return Result(check, False, f"HTTP {response.status_code}: {response.text.strip()[:120]}")
    if check.expect_json_status is not None:
        try:
            status = response.json().get("status")
        except ValueError:
            status = None
        if status != check.expect_json_status:
            return Result(check, False, f'HTTP 200 but body is not {{"status": "{check.expect_json_status}"}}')
    return Result(check, True, f"HTTP 200 in {elapsed_ms:.0f} ms")


def wait_for(check: Check, timeout: float, request_timeout: float, retry_every: float) -> Result:
    """Retry `check` until it passes or `timeout` seconds have passed; the last result wins."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe(check, request_timeout)
        if result.ok or time.monotonic() + retry_every > deadline:
            return result
        time.sleep(retry_every)


def run_round(
    checks: Sequence[Check],
    timeout: float,
    request_timeout: float = 5.0,
    retry_every: float = 1.0,
    out: TextIO = sys.stdout,
) -> bool:
    """Check everything once (with retries); print one line per check and a summary."""
    results = [wait_for(c, timeout, request_timeout, retry_every) for c in checks]
    for r in results:
        print(f"{'OK  ' if r.ok else 'FAIL'}  {r.check.service:<8}  {r.check.url:<40}  {r.detail}", file=out)
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"healthcheck: {failed} of {len(results)} checks failed", file=out)
    else:
        print(f"healthcheck: all {len(results)} checks passed", file=out)
    out.flush()
    return failed == 0


class ChangeFlag:
    """Set by the file watcher; the watch loop waits on it (or on the interval)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.last_path = ""

    def dispatch(self, event) -> None:  # watchdog handler protocol
        path = Path(getattr(event, "dest_path", "") or event.src_path)
        if event.is_directory or IGNORED_PARTS & set(path.parts):
            return
        self.last_path = str(path)
        self.event.set()


def watch(
    checks: Sequence[Check],
    paths: Sequence[Path],
    interval: float,
    timeout: float,
    request_timeout: float,
    debounce: float,
    max_rounds: int | None,
    out: TextIO = sys.stdout,
) -> bool:
    """Run a round now, then again after each file change (debounced) or every `interval` seconds."""
    from watchdog.observers import Observer  # only the watch mode needs watchdog

    flag = ChangeFlag()
    observer = Observer()
    for path in paths:
        observer.schedule(flag, str(path), recursive=True)  # type: ignore[arg-type]  # watchdog only calls dispatch()
    observer.start()
    rounds, ok = 0, False
    try:
        reason = "start"
        while True:
            print(f"--- {time.strftime('%H:%M:%S')} round {rounds + 1} ({reason})", file=out)
            ok = run_round(checks, timeout, request_timeout, out=out)
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                return ok
            changed = flag.event.wait(interval)
            if changed:
                time.sleep(debounce)  # let the editor and the live update finish writing
                reason = f"changed: {flag.last_path}"
                flag.event.clear()
            else:
                reason = f"every {interval:g}s"
    except KeyboardInterrupt:
        return ok
    finally:
        observer.stop()
        observer.join()
