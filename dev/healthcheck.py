#!/usr/bin/env python3
"""Check that TaskPilot AI answers: frontend `/`, backend `/health` and `/health/ready`.

    python dev/healthcheck.py                       # one round against the Tilt port-forwards
    python dev/healthcheck.py --skip-frontend       # backend only (tilt up -- --no-frontend)
    python dev/healthcheck.py --watch               # re-check on every file change and every 30 s

Each endpoint is retried until it answers 200 or --timeout seconds pass (a live update or a
restarting pod is given time to come back). Output is plain text, one line per check, no colour.
Exit status: 0 when every check passed, 1 otherwise (in --watch mode: the last round's result).
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
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
    checks = [Check("backend", backend_url + "/health", expect_json_status="ok"),
              Check("backend", backend_url + "/health/ready")]
    if not skip_frontend:
        checks.append(Check("frontend", frontend_url + "/"))
    return checks


def probe(check: Check, request_timeout: float) -> Result:
    """One HTTP GET; never raises."""
    started = time.monotonic()
    try:
        response = requests.get(check.url, timeout=request_timeout)
    except requests.ConnectionError:
        return Result(check, False, "connection refused or reset (is the port-forward up?)")
    except requests.Timeout:
        return Result(check, False, f"no answer within {request_timeout:g}s")
    except requests.RequestException as err:
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


def run_round(checks: list[Check], timeout: float, request_timeout: float = 5.0,
              retry_every: float = 1.0, out=sys.stdout) -> bool:
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

    def __init__(self):
        self.event = threading.Event()
        self.last_path = ""

    def dispatch(self, event) -> None:  # watchdog handler protocol
        path = Path(getattr(event, "dest_path", "") or event.src_path)
        if event.is_directory or IGNORED_PARTS & set(path.parts):
            return
        self.last_path = str(path)
        self.event.set()


def watch(checks, paths: list[Path], interval: float, timeout: float, request_timeout: float, debounce: float,
          max_rounds: int | None, out=sys.stdout) -> bool:
    """Run a round now, then again after each file change (debounced) or every `interval` seconds."""
    from watchdog.observers import Observer  # only the watch mode needs watchdog

    flag = ChangeFlag()
    observer = Observer()
    for path in paths:
        observer.schedule(flag, str(path), recursive=True)
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check the TaskPilot AI frontend and backend respond.")
    parser.add_argument("--backend-url", default="http://localhost:8000", help="default: %(default)s")
    parser.add_argument("--frontend-url", default="http://localhost:3000", help="default: %(default)s")
    parser.add_argument("--skip-frontend", action="store_true", help="check the backend only")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to keep retrying each endpoint before it counts as failed (default: %(default)s)")
    parser.add_argument("--request-timeout", type=float, default=20.0,
                        help="seconds one request may take; `next dev` compiles a page on its first request "
                             "(default: %(default)s)")
    parser.add_argument("--watch", action="store_true", help="keep running: re-check on file changes and on an interval")
    parser.add_argument("--interval", type=float, default=30.0, help="watch mode: seconds between rounds (default: %(default)s)")
    parser.add_argument("--watch-path", action="append", type=Path,
                        help="watch mode: directory to watch (repeatable; default: backend/ and frontend/)")
    parser.add_argument("--debounce", type=float, default=2.0, help="watch mode: seconds to wait after a change")
    parser.add_argument("--max-rounds", type=int, help="watch mode: stop after this many rounds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checks = checks_for(args.backend_url, args.frontend_url, args.skip_frontend)
    if not args.watch:
        return 0 if run_round(checks, args.timeout, args.request_timeout) else 1
    paths = args.watch_path or [REPO_ROOT / "backend", REPO_ROOT / "frontend"]
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        print(f"healthcheck: cannot watch missing directories: {', '.join(missing)}")
        return 2
    return 0 if watch(checks, paths, args.interval, args.timeout, args.request_timeout, args.debounce,
                      args.max_rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
