#!/usr/bin/env python3
"""API benchmark (not a test): p50/p95 latency and req/s at N concurrent keep-alive clients.

Scenarios, all against local `uvicorn main:app` + PostgreSQL, each server started the way the image
runs it (one uvicorn process, uvloop + httptools):
  bare        GET /bare on a bare FastAPI app (same uvicorn settings) - the yardstick
  list_tasks  GET /api/tasks for a user with 50 tasks (returns all 50)
  create_task POST /api/tasks
Targets (2-core machine): p95 <= 25 ms and >= 50 % of the bare route's req/s, so the app layer
costs at most as much as the HTTP server under it.

Usage: .venv/bin/python dev/bench/api_bench.py [--seconds 10] [--concurrency 50]
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL (taskpilot_dev.postgres).
Results: dev/bench/results/api_bench.json (and a one-screen summary on stdout).
Traffic goes to 127.0.0.1 only; every run is bounded by --seconds per scenario.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev import harness
from taskpilot_dev.api import TaskApi
from taskpilot_dev.postgres import start_postgres

HERE = Path(__file__).resolve().parent

RESULTS_FILE = HERE / "results" / "api_bench.json"
TARGET_P95_MS = 25.0
TARGET_RATIO = 0.5
BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}
    """
)


# ---------------------------------------------------------------- load generator
class Connection:
    """One keep-alive HTTP/1.1 connection with the minimum parsing needed (content-length bodies)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def build_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PATCH", "PUT"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_load(port: int, raw_request: bytes, expected_status: int, concurrency: int, seconds: float,
                   warmup_seconds: float) -> dict:
    connections = [await Connection.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    unexpected: dict[int, int] = {}
    measuring = False
    stop_at = 0.0

    async def client(connection: Connection) -> None:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            status = await connection.request(raw_request)
            if measuring:
                latencies.append(time.perf_counter() - started)
                if status != expected_status:
                    unexpected[status] = unexpected.get(status, 0) + 1

    stop_at = time.perf_counter() + warmup_seconds
    await asyncio.gather(*(client(c) for c in connections))
    measuring = True
    began = time.perf_counter()
    stop_at = began + seconds
    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - began
    for connection in connections:
        connection.close()

    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p95_ms": round(quantiles[94] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "unexpected_statuses": unexpected,
    }


# ---------------------------------------------------------------- servers
@contextmanager
def database() -> str:
    directory = tempfile.mkdtemp(prefix="taskpilot-bench-pg-")
    admin_url, stop = start_postgres(directory)
    url = harness.create_database(admin_url)
    try:
        harness.migrate(url)
        yield url
    finally:
        harness.drop_database(admin_url, url)
        stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def bare_server() -> str:
    directory = Path(tempfile.mkdtemp(prefix="taskpilot-bare-"))
    (directory / "bare_app.py").write_text(BARE_APP)
    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/bare", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


# ---------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description="TaskPilot API benchmark")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    scenarios: dict[str, dict] = {}
    with database() as database_url:
        with bare_server() as port:
            scenarios["bare"] = asyncio.run(run_load(
                port, build_request("GET", "/bare", {}), 200, args.concurrency, args.seconds, args.warmup))
            print("bare", scenarios["bare"], flush=True)

        backend = harness.start_backend(database_url, env={"APP_ENV": "prod", "LOG_LEVEL": "INFO"})
        try:
            port = int(backend.url.rsplit(":", 1)[1])
            with TaskApi(backend.url) as reader:
                auth = reader.signup("reader@example.com", "bench-password").headers
                for number in range(50):
                    reader.create_task(f"task {number}", "benchmark task")
            scenarios["list_tasks"] = asyncio.run(run_load(
                port, build_request("GET", "/api/tasks", auth), 200, args.concurrency, args.seconds, args.warmup))
            print("list_tasks", scenarios["list_tasks"], flush=True)

            with TaskApi(backend.url) as writer:
                writer_auth = writer.signup("writer@example.com", "bench-password").headers
            body = json.dumps({"title": "benchmark write", "description": "created under load"}).encode()
            create = build_request("POST", "/api/tasks", writer_auth, body)
            scenarios["create_task"] = asyncio.run(run_load(
                port, create, 201, args.concurrency, args.seconds, args.warmup))
            print("create_task", scenarios["create_task"], flush=True)
        finally:
            backend.stop()

    bare_rps = scenarios["bare"]["req_per_s"]
    verdicts = {}
    for name in ("list_tasks", "create_task"):
        result = scenarios[name]
        result["ratio_to_bare"] = round(result["req_per_s"] / bare_rps, 3)
        verdicts[name] = {
            "p95_within_target": result["p95_ms"] <= TARGET_P95_MS,
            "ratio_within_target": result["ratio_to_bare"] >= TARGET_RATIO,
            "no_unexpected_statuses": not result["unexpected_statuses"],
        }
    report = {
        "benchmark": "api_bench",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"concurrency": args.concurrency, "seconds": args.seconds, "warmup_seconds": args.warmup,
                     "server": "uvicorn main:app (1 process, uvloop, httptools), APP_ENV=prod, LOG_LEVEL=INFO"},
        "targets": {"p95_ms": TARGET_P95_MS, "ratio_to_bare": TARGET_RATIO},
        "scenarios": scenarios,
        "verdicts": verdicts,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {args.output}")
    for name, result in scenarios.items():
        ratio = f"  ratio {result['ratio_to_bare']:.2f}" if "ratio_to_bare" in result else ""
        print(f"{name:12} {result['req_per_s']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  p95 {result['p95_ms']:6.2f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
