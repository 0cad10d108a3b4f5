"""Benchmark (not a test): a task written through backend process A -> its SSE event at a subscriber
on backend process B. Both are real uvicorn processes on one real PostgreSQL (LISTEN/NOTIFY).

Latency = from just before the POST to A is sent until the event is parsed off B's stream.
Writes are sequential (the next one starts after the previous event arrived), so each sample
is one end-to-end trip with no queueing behind other writes.

    .venv/bin/python dev/bench/realtime_bench.py [--events 300] [--warmup 20]

Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL (taskpilot_dev.harness).
Writes dev/bench/results/realtime_bench.json. Target: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from taskpilot_dev import harness
from taskpilot_dev.sse import SseStream

RESULT_PATH = Path(__file__).resolve().parent / "results" / "realtime_bench.json"
TARGET_P95_MS = 300.0


def summarize(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(samples_ms), 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "mean": round(statistics.fmean(samples_ms), 2),
        "min": round(min(samples_ms), 2),
        "max": round(max(samples_ms), 2),
    }


async def measure(a_url: str, b_url: str, events: int, warmup: int) -> dict[str, list[float]]:
    async with httpx.AsyncClient(timeout=30) as http:
        signup = await http.post(
            f"{a_url}/api/auth/signup",
            json={"email": f"bench-{time.time_ns()}@example.com", "password": "benchmark-password-1"},
        )
        signup.raise_for_status()
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        end_to_end: list[float] = []
        write_response: list[float] = []
        async with SseStream(http, f"{b_url}/api/events", headers=headers) as stream:
            ready = await stream.next_event()
            assert ready.type == "ready", ready.data
            for index in range(warmup + events):
                started = time.perf_counter()
                response = await http.post(f"{a_url}/api/tasks", json={"title": f"bench task {index}"}, headers=headers)
                answered = time.perf_counter()
                response.raise_for_status()
                task_id = response.json()["id"]
                while True:
                    event = await stream.next_event(timeout=10)
                    if event.type == "created" and event.json["task_id"] == task_id:
                        break
                if index >= warmup:
                    end_to_end.append((event.received_at - started) * 1000)
                    write_response.append((answered - started) * 1000)
    return {"end_to_end": end_to_end, "write_response": write_response}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300, help="measured events (>= 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured events first")
    parser.add_argument("--output", type=Path, default=RESULT_PATH)
    args = parser.parse_args()
    if args.events < 200:
        parser.error("--events must be at least 200")

    with harness.stack(backends=2, frontend=False) as running:
        samples = asyncio.run(measure(*running.backend_urls, args.events, args.warmup))

    latency = summarize(samples["end_to_end"])
    result = {
        "benchmark": "realtime_bench",
        "description": "POST /api/tasks on backend A -> 'created' SSE event received from backend B (ms)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": len(samples["end_to_end"]),
        "warmup_events": args.warmup,
        "latency_ms": latency,
        "write_response_ms": summarize(samples["write_response"]),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": latency["p95"] <= TARGET_P95_MS,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
