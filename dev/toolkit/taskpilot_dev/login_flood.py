"""A login flood against one backend process, and what a signed-in user sees meanwhile.

The flood runs in its own process (so the load generator does not steal the measuring loop's time):
N keep-alive clients, each from its own loopback source address (127.0.10.1 and up, so the server
sees N distinct client addresses), each POSTing /api/auth/login with a wrong password for a new email
every time (credential stuffing, so the per-account limit alone would not stop it). Meanwhile one
signed-in user sends GET /api/tasks (50 tasks) every 50 ms and a prober GETs /health/ready every 250 ms.
Used by dev/bench/login_flood_bench.py (the full figures) and backend/tests/test_login_flood.py; the
flood process also serves the attacks through the frontend (taskpilot_dev.login_attacks).

Scenarios:
  unbounded     the reference: hashing effectively unbounded, login limits effectively off
  hashing_only  the per-process hashing bound alone (login limits effectively off)
  defaults      every protection at its default settings
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from . import harness
from .api import TaskApi, unique_email
from .loadgen import Connection, build_request, loopback_addresses

TARGET_P95_MS = 200.0
USER_INTERVAL_SECONDS = 0.05
READY_INTERVAL_SECONDS = 0.25
NO_LIMIT = "1000000"
FLOOD_FIRST_ADDRESS = "127.0.10.1"
SCENARIOS: dict[str, dict[str, str]] = {
    "unbounded": {
        "PASSWORD_HASH_CONCURRENCY": "1000",
        "LOGIN_MAX_FAILURES_PER_IP": NO_LIMIT,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": NO_LIMIT,
    },
    "hashing_only": {"LOGIN_MAX_FAILURES_PER_IP": NO_LIMIT, "LOGIN_MAX_FAILURES_PER_ACCOUNT": NO_LIMIT},
    "defaults": {},
}


async def flood(
    port: int, clients: int, seconds: float, sources: list[str], stop_after_failures: int | None = None
) -> dict[int, int]:
    """`clients` keep-alive loops sharing the `sources` addresses (one connection per address, used in turn);
    ends after `seconds`, or once the flood got `stop_after_failures` answers of 401."""
    statuses: dict[int, int] = {}
    numbers = itertools.count()
    stop_at = time.perf_counter() + seconds

    def done() -> bool:
        return time.perf_counter() >= stop_at or (
            stop_after_failures is not None and statuses.get(401, 0) >= stop_after_failures
        )

    async def client(own_sources: list[str]) -> None:
        connections = [await Connection.open(port, source) for source in own_sources]
        try:
            for connection in itertools.cycle(connections):
                if done():
                    return
                body = json.dumps({"email": f"guess{next(numbers)}@example.com", "password": "wrong-guess-123"})
                status = await connection.request(build_request("POST", "/api/auth/login", {}, body.encode()))
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            for connection in connections:
                connection.close()

    await asyncio.gather(*(client(sources[index::clients]) for index in range(min(clients, len(sources)))))
    return statuses


@contextmanager
def flood_process(
    port: int,
    clients: int,
    seconds: float,
    addresses: int | None = None,
    first_address: str = FLOOD_FIRST_ADDRESS,
    stop_after_failures: int | None = None,
) -> Iterator[subprocess.Popen]:
    """The flood in its own process; its stdout is one JSON line of status counts when it ends."""
    argv = [
        sys.executable,
        "-m",
        "taskpilot_dev.login_flood",
        "--port",
        str(port),
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        "--addresses",
        str(addresses or clients),
        "--first-address",
        first_address,
    ]
    if stop_after_failures is not None:
        argv += ["--stop-after-failures", str(stop_after_failures)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def observe(port: int, token: str, seconds: float) -> dict:
    user = await Connection.open(port)
    prober = await Connection.open(port)
    latencies: list[float] = []
    user_failures: dict[int, int] = {}
    ready_statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds
    list_tasks = build_request("GET", "/api/tasks", {"Authorization": f"Bearer {token}"})
    ready = build_request("GET", "/health/ready", {})

    async def user_loop() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status = await user.request(list_tasks)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                user_failures[status] = user_failures.get(status, 0) + 1
            await asyncio.sleep(USER_INTERVAL_SECONDS)

    async def ready_loop() -> None:
        while time.perf_counter() < stop_at:
            status = await prober.request(ready)
            ready_statuses[status] = ready_statuses.get(status, 0) + 1
            await asyncio.sleep(READY_INTERVAL_SECONDS)

    await asyncio.gather(user_loop(), ready_loop())
    user.close()
    prober.close()
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "user_requests": len(latencies),
        "user_failures": user_failures,
        "user_p50_ms": round(quantiles[49] * 1000, 1),
        "user_p95_ms": round(quantiles[94] * 1000, 1),
        "user_max_ms": round(latencies[-1] * 1000, 1),
        "ready_statuses": ready_statuses,
    }


def run_scenario(database_url: str, env: dict[str, str], clients: int, seconds: float) -> dict:
    """One backend process (APP_ENV=prod) under the flood; returns what the user, the prober and the flood saw."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("TRUNCATE login_failures")  # each scenario starts with no counted failures
    with harness.backend_server(database_url, env={"APP_ENV": "prod", "LOG_LEVEL": "WARNING", **env}) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with TaskApi(base_url) as api:
            token = api.signup(unique_email("signed-in")).token
            for number in range(50):
                api.create_task(f"task {number}")
        with flood_process(port, clients, seconds) as attacker:
            time.sleep(0.5)  # let the flood reach full strength before measuring
            seen = asyncio.run(observe(port, token, seconds - 1.0))
            output, _ = attacker.communicate(timeout=seconds + 30)
        statuses = {int(k): v for k, v in json.loads(output).items()}
    return {
        **seen,
        "flood_statuses": statuses,
        "flood_attempts": sum(statuses.values()),
        "flood_429": statuses.get(429, 0),
    }


def verdict(result: dict) -> dict[str, bool]:
    return {
        "user_requests_all_succeed": not result["user_failures"],
        "user_p95_within_target": result["user_p95_ms"] <= TARGET_P95_MS,
        "readiness_never_failed": set(result["ready_statuses"]) == {200},
        "flood_throttled": result["flood_429"] > 0,
    }


def main(argv: list[str] | None = None) -> int:
    """Be the flood process: print the status counts as JSON when the flood ends."""
    parser = argparse.ArgumentParser(description="Flood POST /api/auth/login on 127.0.0.1:PORT.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--addresses", type=int, help="distinct source addresses (default: one per client)")
    parser.add_argument("--first-address", default=FLOOD_FIRST_ADDRESS, help="first source address (127.0.0.0/8)")
    parser.add_argument("--stop-after-failures", type=int, help="end once this many logins answered 401")
    args = parser.parse_args(argv)
    sources = loopback_addresses(args.first_address, args.addresses or args.clients)
    statuses = asyncio.run(flood(args.port, args.clients, args.seconds, sources, args.stop_after_failures))
    print(json.dumps(statuses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
