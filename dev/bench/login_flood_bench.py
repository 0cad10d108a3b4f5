"""Login-flood benchmark: a signed-in user's requests and readiness while 40 clients guess passwords.

Against one `uvicorn main:app` process (APP_ENV=prod) on real PostgreSQL. The flood runs in its own
process (so the load generator does not steal the measuring loop's time): N keep-alive clients, each
POSTing /api/auth/login with a wrong password for a different address every time (credential stuffing,
so the per-account limit alone would not stop it). Meanwhile one signed-in user sends GET /api/tasks
(50 tasks) every 50 ms and a prober GETs /health/ready every 250 ms.

Scenarios:
  unbounded     the reference: hashing effectively unbounded, login limits effectively off (the old behaviour)
  hashing_only  the per-process hashing bound alone (login limits effectively off)
  defaults      every protection at its default settings

Usage (from dev/): ../.venv/bin/python -m bench.login_flood_bench [--seconds 20] [--clients 40]
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL (dev/testdb.py).
Results: dev/bench/results/login_flood_bench.json. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev import harness
from bench.api_bench import Connection, _json_request, build_request, database

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "login_flood_bench.json"
TARGET_P95_MS = 200.0
USER_INTERVAL_SECONDS = 0.05
READY_INTERVAL_SECONDS = 0.25
NO_LIMIT = "1000000"
SCENARIOS: dict[str, dict[str, str]] = {
    "unbounded": {"PASSWORD_HASH_CONCURRENCY": "1000", "LOGIN_MAX_FAILURES_PER_IP": NO_LIMIT,
                  "LOGIN_MAX_FAILURES_PER_ACCOUNT": NO_LIMIT},
    "hashing_only": {"LOGIN_MAX_FAILURES_PER_IP": NO_LIMIT, "LOGIN_MAX_FAILURES_PER_ACCOUNT": NO_LIMIT},
    "defaults": {},
}


# ---------------------------------------------------------------- the flood (its own process)
async def flood(port: int, clients: int, seconds: float) -> dict[str, int]:
    statuses: dict[int, int] = {}
    numbers = itertools.count()
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        connection = await Connection.open(port)
        try:
            while time.perf_counter() < stop_at:
                body = json.dumps({"email": f"guess{next(numbers)}@example.com", "password": "wrong-guess-123"})
                status = await connection.request(build_request("POST", "/api/auth/login", {}, body.encode()))
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return statuses


@contextmanager
def flood_process(port: int, clients: int, seconds: float) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.login_flood_bench", "--flood-port", str(port), "--clients", str(clients),
         "--seconds", str(seconds)],
        cwd=harness.REPO_ROOT / "dev", stdout=subprocess.PIPE, text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


# ---------------------------------------------------------------- what the signed-in user sees
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
        email = f"signed-in-{time.monotonic_ns()}@example.com"
        token = _json_request(port, "POST", "/api/auth/signup", {"email": email, "password": "bench-password"})[
            "access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for number in range(50):
            _json_request(port, "POST", "/api/tasks", {"title": f"task {number}"}, auth)
        with flood_process(port, clients, seconds) as attacker:
            time.sleep(0.5)  # let the flood reach full strength before measuring
            seen = asyncio.run(observe(port, token, seconds - 1.0))
            output, _ = attacker.communicate(timeout=seconds + 30)
        statuses = {int(k): v for k, v in json.loads(output).items()}
    return {**seen, "flood_statuses": statuses, "flood_attempts": sum(statuses.values()),
            "flood_429": statuses.get(429, 0)}


def verdict(result: dict) -> dict[str, bool]:
    return {
        "user_requests_all_succeed": not result["user_failures"],
        "user_p95_within_target": result["user_p95_ms"] <= TARGET_P95_MS,
        "readiness_never_failed": set(result["ready_statuses"]) == {200},
        "flood_throttled": result["flood_429"] > 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="flood length per scenario")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)  # internal: be the flood process
    args = parser.parse_args()
    if args.flood_port:
        print(json.dumps(asyncio.run(flood(args.flood_port, args.clients, args.seconds))))
        return 0

    scenarios: dict[str, dict] = {}
    with database() as database_url:
        for name, env in SCENARIOS.items():
            scenarios[name] = run_scenario(database_url, env, args.clients, args.seconds)
            scenarios[name]["verdicts"] = verdict(scenarios[name])
            print(name, json.dumps(scenarios[name]), flush=True)
    report = {
        "benchmark": "login_flood_bench",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"clients": args.clients, "seconds": args.seconds, "user_interval_s": USER_INTERVAL_SECONDS,
                     "ready_interval_s": READY_INTERVAL_SECONDS,
                     "server": "uvicorn main:app (1 process), APP_ENV=prod, argon2id m=64MiB t=3 p=4",
                     "scenario_env": SCENARIOS},
        "targets": {"user_p95_ms": TARGET_P95_MS},
        "scenarios": scenarios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {args.output}")
    for name, result in scenarios.items():
        print(f"{name:13} user {result['user_requests']:4} req p95 {result['user_p95_ms']:7.1f} ms  "
              f"failures {result['user_failures']}  ready {result['ready_statuses']}  flood {result['flood_statuses']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
