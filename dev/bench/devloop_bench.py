#!/usr/bin/env python3
"""Dev-loop figures: the dev render (values.yaml + values-dev.yaml, dev image targets) run as
containers with its limits enforced (taskpilot_dev.chart_runner), edited through Tilt's live_update.

    .venv/bin/python dev/bench/devloop_bench.py [--edits 5] [--idle-seconds 30]

Writes dev/bench/results/devloop_bench.json. Needs a Docker engine (dev/ci/start-docker.sh) and the
base images (dev/ci/standin-bases.sh). Targets: backend edit->live p50 <= 1.5 s; frontend component
edit->live <= 1 s; new page first render <= 3 s; dev stack from built images to all Ready <= 60 s;
frontend dev memory peak <= 60 % of its limit. Idle CPU of the dev frontend is measured with the
image's file-watch settings and with polling switched off (inotify sees live-update writes).
Figures are CPU-bound: read them with the load average recorded next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev import chart_pods as cp
from taskpilot_dev import dev_loop, tilt_sync
from taskpilot_dev import docker as dk
from taskpilot_dev.chart_runner import ChartRunner
from taskpilot_dev.paths import REPO_ROOT

RESULTS = REPO_ROOT / "dev" / "bench" / "results" / "devloop_bench.json"
TARGETS = {
    "backend_edit_p50_s": 1.5,
    "frontend_component_edit_p50_s": 1.0,
    "new_page_first_render_s": 3.0,
    "stack_ready_s": 60.0,
    "frontend_memory_peak_fraction": 0.60,
}
POLLING_OFF = {"WATCHPACK_POLLING": "", "CHOKIDAR_USEPOLLING": ""}  # empty = falsy for both libraries
BACKEND, FRONTEND = f"{cp.RELEASE}-backend", f"{cp.RELEASE}-frontend"


def summary(runs: list[dict]) -> dict:
    """p50/min/max of the wall-clock seconds, with each run's CPU use and CPU-limit throttling."""
    values = [r["s"] for r in runs]
    return {"p50": round(statistics.median(values), 2), "min": min(values), "max": max(values), "runs": runs}


def idle_cpu(pod, seconds: float) -> float:
    """Average CPU (cores) the pod uses while nothing is edited or requested."""
    (before, _), start = dev_loop.cpu_seconds(pod), time.monotonic()
    time.sleep(seconds)
    return (dev_loop.cpu_seconds(pod)[0] - before) / (time.monotonic() - start)


def frontend_figures(runner, pod, update, tmp: Path, edits: int, idle_seconds: float) -> dict:
    with dev_loop.WorkingSetPeak(pod) as memory:
        new_page = [
            dev_loop.timed_with_cpu(pod, lambda: dev_loop.frontend_new_page(runner, pod, update, tmp)) for _ in range(2)
        ]
        component = [
            dev_loop.timed_with_cpu(pod, lambda: dev_loop.frontend_component_edit(runner, pod, update, tmp))
            for _ in range(edits)
        ]
    time.sleep(5)  # let compilation settle before the idle window
    try:
        idle = round(idle_cpu(pod, idle_seconds), 4)
    except FileNotFoundError:  # the container was replaced meanwhile: say so instead of a figure
        idle = None
    return {
        "new_page_first_render_s": summary(new_page),
        "component_edit_s": summary(component),
        "idle_cpu_cores": idle,
        "memory_peak_mib": round(memory.peak / 2**20, 1),
        "anon_memory_peak_mib": round(memory.anon_peak / 2**20, 1),
        "restarts": pod.restarts,
        "exit_codes": pod.exit_codes,
        "oom_killed": pod.oom_killed,
        "events": [e for e in runner.events if pod.name in e],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args(argv)
    if reason := dk.engine_unavailable_reason():
        print(f"devloop_bench: {reason}", file=sys.stderr)
        return 2
    images = {c: dk.app_image(c, "dev") for c in ("backend", "frontend")}
    chart = cp.plan(cp.dev_objects(images))
    updates = tilt_sync.tiltfile_live_updates()
    frontend_image_env = {
        e.split("=", 1)[0]: e.split("=", 1)[1] for e in dk.inspect(images["frontend"])["Config"]["Env"]
    }
    image_polls = frontend_image_env.get("WATCHPACK_POLLING", "") not in ("", "false", "0")
    runner = ChartRunner(chart, prefix=f"tp-bench-{os.getpid()}")
    load_before = [round(x, 1) for x in os.getloadavg()]
    try:
        ready_s = runner.up(order=cp.TILT_ORDER)
        with tempfile.TemporaryDirectory(prefix="devloop-") as tmp:
            backend = runner.ready_pods(BACKEND)[0]
            backend_edits = [
                dev_loop.timed_with_cpu(
                    backend, lambda: dev_loop.backend_edit(runner, backend, updates["taskpilot-backend"], Path(tmp))
                )
                for _ in range(args.edits)
            ]
            frontend = runner.ready_pods(FRONTEND)[0]
            limit = frontend.container.memory
            as_built = frontend_figures(
                runner, frontend, updates["taskpilot-frontend"], Path(tmp), args.edits, args.idle_seconds
            )
            # the other watch mode: a fresh pod with polling switched the other way
            runner.extra_env[FRONTEND] = (
                POLLING_OFF if image_polls else {"WATCHPACK_POLLING": "true", "CHOKIDAR_USEPOLLING": "true"}
            )
            other = runner.delete_pod(frontend)
            runner.wait_ready(FRONTEND, timeout=180)
            switched = frontend_figures(
                runner, other, updates["taskpilot-frontend"], Path(tmp), args.edits, args.idle_seconds
            )
    finally:
        runner.down()
    polling, inotify = (as_built, switched) if image_polls else (switched, as_built)
    current = as_built
    figures = {
        "stack_ready_s": round(ready_s, 1),
        "backend_edit_s": summary(backend_edits),
        "frontend_component_edit_s": current["component_edit_s"],
        "new_page_first_render_s": current["new_page_first_render_s"],
        "frontend_memory_limit_mib": round(limit / 2**20),
        "frontend_memory_peak_mib": max(polling["memory_peak_mib"], inotify["memory_peak_mib"]),
        "frontend_anon_memory_peak_mib": max(polling["anon_memory_peak_mib"], inotify["anon_memory_peak_mib"]),
        "frontend_idle_cpu_cores": {"polling": polling["idle_cpu_cores"], "inotify": inotify["idle_cpu_cores"]},
        "watch_modes": {"polling": polling, "inotify": inotify},
        "image_polls": image_polls,
    }
    measured = {
        "backend_edit_p50_s": figures["backend_edit_s"]["p50"],
        "frontend_component_edit_p50_s": figures["frontend_component_edit_s"]["p50"],
        "new_page_first_render_s": figures["new_page_first_render_s"]["p50"],
        "stack_ready_s": figures["stack_ready_s"],
        "frontend_memory_peak_fraction": round(
            figures["frontend_memory_peak_mib"] / figures["frontend_memory_limit_mib"], 2
        ),
    }
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "docker": dk.docker("version", "-f", "{{.Server.Version}}").stdout.strip(),
        },
        "setup": "dev render as containers, limits enforced (backend 1 CPU / 1 GiB, frontend 0.5 CPU / 512 MiB); "
        "edits through Tilt's live_update (tar via exec as the container user)",
        "figures": figures,
        "targets": {k: {"target": TARGETS[k], "measured": v, "meets": v <= TARGETS[k]} for k, v in measured.items()},
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 1) for x in os.getloadavg()],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
