"""Login-flood benchmark: a signed-in user's requests and readiness while 40 clients guess passwords.

Against one `uvicorn main:app` process (APP_ENV=prod) on real PostgreSQL, each flood client on its own
loopback address; the flood and the measurements are taskpilot_dev.login_flood (scenarios described
there). Then the attacks through the frontend at the default limits (taskpilot_dev.login_attacks): a
flood from many addresses until it has more failures than one address may have, and one address past
its limit (LOGIN_MAX_FAILURES_PER_IP + 10), each followed by users on other addresses logging in.

Usage: .venv/bin/python dev/bench/login_flood_bench.py [--seconds 20] [--clients 40] [--skip-frontend]
       [--frontend-flood-clients 8,40]
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL; the frontend scenarios need
the production build (frontend/.next/standalone). Results: dev/bench/results/login_flood_bench.json.
Traffic goes to 127.0.0.0/8 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev import harness
from taskpilot_dev.login_attacks import flood_through_frontend, one_address_through_frontend
from taskpilot_dev.login_flood import (
    READY_INTERVAL_SECONDS,
    SCENARIOS,
    TARGET_P95_MS,
    USER_INTERVAL_SECONDS,
    run_scenario,
    verdict,
)

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "login_flood_bench.json"
DEFAULT_MAX_FAILURES_PER_IP = 100  # the backend's default, which the frontend scenarios run with
FRONTEND_FLOOD_ADDRESSES = 200
FRONTEND_FLOOD_MAX_SECONDS = 150.0


def frontend_scenarios(database_url: str, flood_clients: list[int]) -> dict:
    """Both attacks through the frontend, at the default limits (dev mode: the device cookie travels over http);
    the flood once per number of concurrent flood connections."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("TRUNCATE login_failures")
    floods = {}
    with (
        harness.backend_server(database_url, env={"LOG_LEVEL": "WARNING"}) as backend_url,
        harness.frontend_server(backend_url) as frontend_url,
    ):
        for clients in flood_clients:
            floods[f"{clients}_clients"] = flood_through_frontend(
                frontend_url,
                flood_clients=clients,
                flood_addresses=FRONTEND_FLOOD_ADDRESSES,
                stop_after_failures=DEFAULT_MAX_FAILURES_PER_IP + 50,
                max_seconds=FRONTEND_FLOOD_MAX_SECONDS,
            )
            print(f"through_frontend flood {clients} clients", json.dumps(floods[f"{clients}_clients"]), flush=True)
        one = one_address_through_frontend(frontend_url, DEFAULT_MAX_FAILURES_PER_IP + 10, "127.0.90.1")
    statuses = one.pop("attacker_statuses")
    return {
        "flood_from_many_addresses": floods,
        "one_address": {
            **one,
            "attacker_401": statuses.count(401),
            "attacker_429": statuses.count(429),
            "attacker_first_429_at": statuses.index(429) + 1 if 429 in statuses else None,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="flood length per scenario")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument("--skip-frontend", action="store_true", help="only the scenarios against the backend")
    parser.add_argument(
        "--frontend-flood-clients", default="8,40", help="concurrent flood connections through the frontend, per run"
    )
    args = parser.parse_args()

    scenarios: dict[str, dict] = {}
    through_frontend: dict[str, dict] | None = None
    with harness.migrated_database() as (_, database_url):
        for name, env in SCENARIOS.items():
            scenarios[name] = run_scenario(database_url, env, args.clients, args.seconds)
            scenarios[name]["verdicts"] = verdict(scenarios[name])
            print(name, json.dumps(scenarios[name]), flush=True)
        if not args.skip_frontend:
            flood_clients = [int(number) for number in args.frontend_flood_clients.split(",")]
            through_frontend = frontend_scenarios(database_url, flood_clients)
            print("through_frontend", json.dumps(through_frontend), flush=True)
    report = {
        "benchmark": "login_flood_bench",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "clients": args.clients,
            "seconds": args.seconds,
            "user_interval_s": USER_INTERVAL_SECONDS,
            "ready_interval_s": READY_INTERVAL_SECONDS,
            "server": "uvicorn main:app (1 process), APP_ENV=prod, argon2id m=64MiB t=3 p=4",
            "flood_sources": "one loopback address per flood client (127.0.10.1 and up)",
            "through_frontend": (
                "production frontend build in front of one backend (APP_ENV=dev, default limits); flood from "
                f"{FRONTEND_FLOOD_ADDRESSES} addresses until {DEFAULT_MAX_FAILURES_PER_IP + 50} answers of 401 or "
                f"{FRONTEND_FLOOD_MAX_SECONDS:.0f} s"
            ),
            "scenario_env": SCENARIOS,
        },
        "targets": {"user_p95_ms": TARGET_P95_MS},
        "scenarios": scenarios,
        "through_frontend": through_frontend,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {args.output}")
    for name, result in scenarios.items():
        print(
            f"{name:13} user {result['user_requests']:4} req p95 {result['user_p95_ms']:7.1f} ms  "
            f"failures {result['user_failures']}  ready {result['ready_statuses']}  flood {result['flood_statuses']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
