"""Edge benchmark: what everyone else sees while hostile clients attack one backend process.

One `uvicorn main:app` process in prod mode, started with the uvicorn flags of its tree's
docker/Dockerfile.backend (so the "before" tree runs as its image did), on real PostgreSQL.
Attacks (taskpilot_dev.hostile, in their own process so they do not steal the prober's loop):
  body   2 clients POST a valid 50 MB JSON array to /api/auth/login (unauthenticated) at once
  slow   200 clients trickle their request headers and 50 their request bodies, 1 byte per second, 25 s
Meanwhile GET /health every 20 ms over one keep-alive connection: p50/p99/max. For the body attack also
the backend's resident memory before the attack and its peak (VmHWM) after it.

Usage: .venv/bin/python dev/bench/edge_bench.py [--baseline REF]
  --baseline REF also measures the backend of git revision REF (exported with `git archive`), e.g. the
  commit before the edge limits, as "before"; the working tree is "after".
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL.
Results: dev/bench/results/edge_bench.json. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from taskpilot_dev import harness
from taskpilot_dev.hostile import HealthProbe
from taskpilot_dev.paths import BACKEND_DIR, REPO_ROOT

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "edge_bench.json"
BODY_MEGABYTES = 50
BODY_CLIENTS = 2
SLOW_HEADER_CLIENTS = 200
SLOW_BODY_CLIENTS = 50
SLOW_SECONDS = 25.0
PROBE_INTERVAL_SECONDS = 0.02


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _attack(port: int, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "taskpilot_dev.hostile", *args, "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


async def _while_attacked(port: int, attackers: list[subprocess.Popen]) -> tuple[dict, list[dict]]:
    async with HealthProbe(port, interval=PROBE_INTERVAL_SECONDS) as probe:
        while any(attacker.poll() is None for attacker in attackers):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    outputs = [json.loads(attacker.stdout.read().strip().splitlines()[-1])["summary"] for attacker in attackers]
    return probe.summary(), outputs


def body_attack(port: int, pid: int) -> dict:
    rss_before = _memory_kib(pid, "VmRSS")
    started = time.perf_counter()
    attacker = _attack(port, "body", "--megabytes", str(BODY_MEGABYTES), "--clients", str(BODY_CLIENTS))
    health, (answers,) = asyncio.run(_while_attacked(port, [attacker]))
    return {
        "attack_seconds": round(time.perf_counter() - started, 1),
        "health": health,
        "attackers": answers,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_peak_mib": round(_memory_kib(pid, "VmHWM") / 1024, 1),
    }


def slow_attack(port: int) -> dict:
    common = ("--seconds", str(SLOW_SECONDS), "--interval", "1")
    attackers = [
        _attack(port, "slow", "--kind", "headers", "--clients", str(SLOW_HEADER_CLIENTS), *common),
        _attack(port, "slow", "--kind", "body", "--clients", str(SLOW_BODY_CLIENTS), *common),
    ]
    health, (headers, bodies) = asyncio.run(_while_attacked(port, attackers))
    return {"seconds": SLOW_SECONDS, "health": health, "slow_headers": headers, "slow_bodies": bodies}


def measure(database_url: str, backend_dir: Path) -> dict:
    server_args = harness.image_server_args(backend_dir.parent / "docker" / "Dockerfile.backend")
    results: dict[str, object] = {"server_args": list(server_args)}
    for attack in ("body", "slow"):  # a fresh process each: the memory peak belongs to one attack
        backend = harness.start_backend(
            database_url,
            env={"APP_ENV": "prod", "LOG_LEVEL": "WARNING"},
            server_args=server_args,
            backend_dir=backend_dir,
        )
        try:
            port = urlsplit(backend.url).port
            assert port is not None
            results[attack] = body_attack(port, backend.process.pid) if attack == "body" else slow_attack(port)
        finally:
            backend.stop()
        print(attack, json.dumps(results[attack]), flush=True)
    return results


@contextlib.contextmanager
def exported_tree(ref: str):
    """The backend/ and docker/ directories of git revision `ref`, in a temporary directory."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref, "backend", "docker"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="edge-baseline-") as scratch:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        yield Path(scratch) / "backend"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", help="git revision to measure as 'before'")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    args = parser.parse_args()

    trees: dict[str, dict] = {}
    with harness.migrated_database() as (_, database_url):
        if args.baseline:
            with exported_tree(args.baseline) as baseline_dir:
                print(f"before ({args.baseline})", flush=True)
                trees["before"] = {"ref": args.baseline, **measure(database_url, baseline_dir)}
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        print("after (working tree)", flush=True)
        trees["after"] = {"ref": f"{head.stdout.strip()} + working tree", **measure(database_url, BACKEND_DIR)}
    report = {
        "benchmark": "edge_bench",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "body": f"{BODY_CLIENTS} clients x {BODY_MEGABYTES} MB (Content-Length, JSON array) to /api/auth/login",
            "slow": f"{SLOW_HEADER_CLIENTS} slow-header + {SLOW_BODY_CLIENTS} slow-body clients, 1 byte/s, "
            f"{SLOW_SECONDS:g} s",
            "probe": f"GET /health every {PROBE_INTERVAL_SECONDS * 1000:g} ms, one keep-alive connection",
            "server": "uvicorn main:app (1 process), APP_ENV=prod, flags of the tree's docker/Dockerfile.backend CMD",
        },
        "trees": trees,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
