#!/usr/bin/env python3
"""Figures of the real inner loop on the local cluster (./dev/kube.sh), each step as a user runs it.

    .venv/bin/python dev/bench/cluster_bench.py [--edits 5] [--pages 7]     (as root; Docker running)

  1. `./dev/kube.sh down` then `up`: built binaries -> a Ready node with DNS (the build is cached).
  2. The plain Helm path: images built and pushed, `helm install --wait` to all pods Ready.
  3. `tilt ci` wall time on a fresh namespace.
  4. `tilt up`: backend route edit -> new answer and frontend component edit -> new render, by Tilt's
     own live update on the real pods (p50 of --edits); a new page's first render; the dev frontend's
     memory (working set, from its cgroup on the node) after --pages page compiles, against its limit.
Writes dev/bench/results/cluster_bench.json with the load average: every figure here is CPU-bound.
Targets: backend edit->live p50 <= 1.5 s; frontend component edit->live <= 1 s; new page <= 3 s;
frontend memory peak <= 60 % of the dev limit (1 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from taskpilot_dev import dev_loop, tools
from taskpilot_dev.cluster import ClusterApi
from taskpilot_dev.localkube.layout import CONTEXT, Layout
from taskpilot_dev.paths import REPO_ROOT

RESULTS = REPO_ROOT / "dev" / "bench" / "results" / "cluster_bench.json"
TARGETS = {
    "backend_edit_p50_s": 1.5,
    "frontend_component_edit_p50_s": 1.0,
    "new_page_first_render_s": 3.0,
    "frontend_memory_peak_fraction": 0.60,
}
DEV_FRONTEND_LIMIT = 1024**3
TILT_PORT = "10358"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return time.monotonic() - start, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--pages", type=int, default=7)
    args = parser.parse_args()
    layout = Layout.from_env()
    bin_dirs = [str(layout.bin), os.path.dirname(tools.helm_bin())]
    env = dict(os.environ, KUBECONFIG=str(layout.kubeconfig), TILT_PORT=TILT_PORT, DOCKER_BUILDKIT="0")
    env["PATH"] = os.pathsep.join([*bin_dirs, env["PATH"]])
    load_before = [round(x, 1) for x in os.getloadavg()]
    figures: dict[str, float | list[float] | str] = {}

    timed(["./dev/kube.sh", "down"], env)
    _, up = timed(["./dev/kube.sh", "up"], env)
    figures["cluster_up_s"] = float(re.search(r"ready in ([\d.]+) s", up).group(1))  # type: ignore[union-attr]
    _, deploy = timed([sys.executable, "-m", "taskpilot_dev.localkube.stack", "deploy"], env)
    figures["helm_install_wait_s"] = float(re.search(r"helm install --wait[^:]*: ([\d.]+)", deploy).group(1))  # type: ignore[union-attr]
    timed([sys.executable, "-m", "taskpilot_dev.localkube.stack", "remove"], env)
    figures["tilt_ci_s"], _ = timed(["tilt", "ci", "--context", CONTEXT], env)

    tilt = subprocess.Popen(
        ["tilt", "up", "--context", CONTEXT, "--stream"], cwd=REPO_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        dev_loop.wait_for_text("http://localhost:8000/health", "ok", timeout=600, interval=1)
        dev_loop.wait_for_text("http://localhost:3000/", "TaskPilot", timeout=600, interval=1)
        backend = [dev_loop.backend_edit("http://localhost:8000") for _ in range(args.edits)]
        frontend = [dev_loop.frontend_component_edit("http://localhost:3000") for _ in range(args.edits)]
        kube = ClusterApi.from_kubeconfig(CONTEXT, "taskpilot", kubeconfig=str(layout.kubeconfig))
        (pod,) = kube.list_pods("app=taskpilot-frontend")
        pages, peak = [], 0
        for _ in range(args.pages):
            pages.append(dev_loop.frontend_new_page("http://localhost:3000"))
            peak = max(peak, dev_loop.pod_memory(pod.uid)[0])
    finally:
        os.killpg(tilt.pid, signal.SIGINT)
        tilt.wait(timeout=60)
    timed(["tilt", "down", "--context", CONTEXT], env)

    figures |= {
        "backend_edit_s": [round(s, 2) for s in backend],
        "backend_edit_p50_s": round(statistics.median(backend), 2),
        "frontend_component_edit_s": [round(s, 2) for s in frontend],
        "frontend_component_edit_p50_s": round(statistics.median(frontend), 2),
        "new_page_first_render_s": round(statistics.median(pages), 2),
        "new_pages_s": [round(s, 2) for s in pages],
        "frontend_memory_peak_mib": round(peak / 2**20),
        "frontend_memory_peak_fraction": round(peak / DEV_FRONTEND_LIMIT, 2),
    }
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 1) for x in os.getloadavg()],
        "figures": {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()},
        "targets": TARGETS,
        "met": {k: figures[k] <= v for k, v in TARGETS.items()},  # type: ignore[operator]
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
