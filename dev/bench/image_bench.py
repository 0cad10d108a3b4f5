#!/usr/bin/env python3
"""Image figures: sizes, size added over the base, backend container start -> healthy.

    .venv/bin/python dev/bench/image_bench.py [--runs 5] [--no-build]

Writes dev/bench/results/image_bench.json. Needs a Docker engine (.ci/start-docker.sh) and the
base images (.ci/standin-bases.sh). CI uses stand-in bases whose sizes differ from the real
python:3.13-slim / node:20-alpine, so the figure that carries over is `added_mb` (app layers);
`estimated_real_mb` adds it to the real base sizes (reference values below, override with
--real-python-mb / --real-node-mb after `docker pull` on a laptop).
Targets: each image <= 170 MB with real bases (hard cap 200 MB, so a pull over a slow link stays
short); backend container on one CPU (--cpus 1, the chart's limit): first 200 on /health <= 1.5 s
after `docker run`, Docker `healthy` <= 5 s (a rollout or a restarted pod is back in seconds). Also
records the time `import main` takes inside the image on one CPU (what a cold start and every
edit -> live reload pay), median of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime

from taskpilot_dev import docker as ds

RESULTS = ds.REPO_ROOT / "dev" / "bench" / "results" / "image_bench.json"
MB = 1_000_000  # docker's "MB"
# Uncompressed linux/amd64 sizes `docker images` reports for the real bases (approximate reference
# values, not measurable here without a registry): python:3.13-slim ~120 MB, node:20-alpine ~135 MB.
REAL_BASE_MB = {"python:3.13-slim": 120.0, "node:20-alpine": 135.0}
SIZE_TARGET_MB, SIZE_CAP_MB, HEALTHY_TARGET_S, FIRST_200_TARGET_S = 170.0, 200.0, 5.0, 1.5
CPUS = "1"  # the backend's CPU limit in the chart (values.yaml resources.limits.cpu)
IMPORT_PROBE = "import time; t = time.perf_counter(); import main; print(time.perf_counter() - t)"


def sizes(images: dict[str, tuple[str, str]], real_base_mb: dict[str, float]) -> dict:
    out = {}
    for name, (tag, base) in images.items():
        total, base_size = ds.image_size(tag) / MB, ds.image_size(base) / MB
        added = total - base_size
        estimate = real_base_mb[base] + added
        out[name] = {
            "image": tag,
            "base": base,
            "size_mb": round(total, 1),
            "base_mb": round(base_size, 1),
            "added_mb": round(added, 1),
            "real_base_mb_reference": real_base_mb[base],
            "estimated_real_mb": round(estimate, 1),
            "target_mb": SIZE_TARGET_MB,
            "cap_mb": SIZE_CAP_MB,
            "meets_target": estimate <= SIZE_TARGET_MB,
            "meets_cap": estimate <= SIZE_CAP_MB,
        }
    return out


def backend_start_times(backend_tags: list[str], runs: int) -> dict:
    """docker run -> first 200 on /health (host poll every 50 ms) and -> Docker `healthy` (health interval
    shortened to 200 ms; the probe command is the image's own), plus `import main` inside the image, all on
    one CPU. Several tags are measured alternately in one run (the first is the image under test; the
    others are references such as a previous build), so their ratios hold on a busy machine."""
    stack = ds.Stack(backend_image=backend_tags[0])
    figures = {tag: {"first_200": [], "healthy": [], "import": []} for tag in backend_tags}
    try:
        stack.start_network()
        stack.start_postgres()
        stack.migrate()
        for attempt in range(runs):
            for index, tag in enumerate(backend_tags):
                name = f"{stack.prefix}-bench{attempt}-{index}"
                start = time.monotonic()
                ds.docker(
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--network",
                    stack.network,
                    "-p",
                    "127.0.0.1::8000",
                    "--cpus",
                    CPUS,
                    *ds.HARDENING,
                    "--health-interval",
                    "200ms",
                    "--health-start-period",
                    "30s",
                    *stack._env_args(stack.backend_env()),
                    tag,
                )
                try:
                    port = ds.published_port(name, 8000)
                    ds.wait_http(f"http://127.0.0.1:{port}/health", timeout=60, interval=0.05)
                    figures[tag]["first_200"].append(time.monotonic() - start)
                    ds.wait_healthy(name, timeout=60)
                    figures[tag]["healthy"].append(time.monotonic() - start)
                finally:
                    ds.remove(name)
                probe = ds.docker(
                    "run",
                    "--rm",
                    "--network",
                    stack.network,
                    "--cpus",
                    CPUS,
                    *ds.HARDENING,
                    *stack._env_args(stack.backend_env()),
                    "--entrypoint",
                    "python",
                    tag,
                    "-c",
                    IMPORT_PROBE,
                )
                figures[tag]["import"].append(float(probe.stdout.strip().splitlines()[-1]))
    finally:
        stack.down()
    under_test = figures[backend_tags[0]]
    result = {
        "runs": runs,
        "cpus": CPUS,
        "image": backend_tags[0],
        "first_200_s": summary(under_test["first_200"]),
        "docker_healthy_s": summary(under_test["healthy"]),
        "import_main_s": summary(under_test["import"]),
        "first_200_target_s": FIRST_200_TARGET_S,
        "healthy_target_s": HEALTHY_TARGET_S,
        "meets_target": statistics.median(under_test["first_200"]) <= FIRST_200_TARGET_S
        and statistics.median(under_test["healthy"]) <= HEALTHY_TARGET_S,
    }
    references = {}
    for tag in backend_tags[1:]:
        reference = figures[tag]
        references[tag] = {
            "first_200_s": summary(reference["first_200"]),
            "import_main_s": summary(reference["import"]),
            "first_200_ratio": round(
                statistics.median(under_test["first_200"]) / statistics.median(reference["first_200"]), 3
            ),
            "import_main_ratio": round(
                statistics.median(under_test["import"]) / statistics.median(reference["import"]), 3
            ),
        }
    if references:
        result["references"] = references
    return result


def summary(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "all": [round(v, 2) for v in values],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-build", action="store_true", help="reuse the images the image tier built")
    parser.add_argument(
        "--backend-only",
        action="store_true",
        help="build and measure the backend image only (keeps the frontend figures of the last results file)",
    )
    parser.add_argument(
        "--compare-to",
        action="append",
        default=[],
        metavar="TAG",
        help="also start this backend image, alternately with ours (e.g. a build of the previous commit)",
    )
    parser.add_argument("--real-python-mb", type=float, default=REAL_BASE_MB["python:3.13-slim"])
    parser.add_argument("--real-node-mb", type=float, default=REAL_BASE_MB["node:20-alpine"])
    args = parser.parse_args(argv)
    if reason := ds.engine_unavailable_reason():
        print(f"image_bench: {reason}", file=sys.stderr)
        return 2
    images = {"backend": (ds.BACKEND_TAG, ds.BACKEND_BASE), "frontend": (ds.FRONTEND_TAG, ds.FRONTEND_BASE)}
    if args.backend_only:
        del images["frontend"]
    build_s = {}
    if not args.no_build:
        for name in images:
            start = time.monotonic()
            ds.app_image(name)
            build_s[name] = round(time.monotonic() - start, 1)
    standin = ds.inspect(ds.BACKEND_BASE).get("Comment", "") == "Imported from -" or not ds.inspect(
        ds.BACKEND_BASE
    ).get("RepoDigests")
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "docker": ds.docker("version", "-f", "{{.Server.Version}}").stdout.strip(),
        },
        "bases": "local stand-ins (no registry)" if standin else "registry images",
        "build_s_incremental": build_s,
        "sizes": sizes(images, {"python:3.13-slim": args.real_python_mb, "node:20-alpine": args.real_node_mb}),
        "backend_only": args.backend_only,
        "load_avg_before": [round(x, 1) for x in os.getloadavg()],
        "backend_start": backend_start_times([ds.BACKEND_TAG, *args.compare_to], args.runs),
        "load_avg_after": [round(x, 1) for x in os.getloadavg()],  # start times are CPU-bound: read them with this
    }
    if args.backend_only and RESULTS.exists():  # keep the frontend figures from the last full run
        previous = json.loads(RESULTS.read_text())
        if "frontend" in previous.get("sizes", {}):
            result["sizes"]["frontend"] = {**previous["sizes"]["frontend"], "from_run": previous.get("generated_at")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
