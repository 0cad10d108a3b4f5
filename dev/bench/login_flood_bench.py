"""Login-flood benchmark: a signed-in user's requests and readiness while 40 clients guess passwords.

Against one `uvicorn main:app` process (APP_ENV=prod) on real PostgreSQL; the flood and the
measurements are taskpilot_dev.login_flood (scenarios described there).

Usage: .venv/bin/python dev/bench/login_flood_bench.py [--seconds 20] [--clients 40]
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL.
Results: dev/bench/results/login_flood_bench.json. Traffic goes to 127.0.0.1 only.
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
from taskpilot_dev.login_flood import (
    READY_INTERVAL_SECONDS,
    SCENARIOS,
    TARGET_P95_MS,
    USER_INTERVAL_SECONDS,
    run_scenario,
    verdict,
)

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "login_flood_bench.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="flood length per scenario")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()

    scenarios: dict[str, dict] = {}
    with harness.migrated_database() as (_, database_url):
        for name, env in SCENARIOS.items():
            scenarios[name] = run_scenario(database_url, env, args.clients, args.seconds)
            scenarios[name]["verdicts"] = verdict(scenarios[name])
            print(name, json.dumps(scenarios[name]), flush=True)
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
            "scenario_env": SCENARIOS,
        },
        "targets": {"user_p95_ms": TARGET_P95_MS},
        "scenarios": scenarios,
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
