#!/usr/bin/env python3
"""Prove that tasks survive a PostgreSQL restart in the cluster (the StatefulSet's volume keeps them).

    python dev/db_persistence_check.py                 # against Tilt's forward on localhost:8000

Writes a marker task through the API, deletes the PostgreSQL pod (`taskpilot-ai-postgresql-0` in
namespace `taskpilot`), waits for a NEW pod to be Ready and the API to serve the marker unchanged,
then deletes the marker (taskpilot_dev.persistence has the steps).
Only local clusters: the kubectl context must be minikube, docker-desktop, kind-*, k3d-* ... (or
named with --allow-context), because the check deletes a pod.
Exit status: 0 when the marker survived, 1 when a step failed (the reason is printed).
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from kubernetes import config

from taskpilot_dev.api import ApiError, TaskApi
from taskpilot_dev.cluster import ClusterApi, ClusterError, add_cluster_arguments
from taskpilot_dev.persistence import CheckFailed, run_check
from taskpilot_dev.rollouts import NAMESPACE, POSTGRES_POD


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check that tasks survive a PostgreSQL pod restart.")
    add_cluster_arguments(parser, NAMESPACE, timeout=180.0)
    parser.add_argument("--pod", default=POSTGRES_POD, help="PostgreSQL pod (default: %(default)s)")
    parser.add_argument("--api-url", default="http://localhost:8000", help="backend base URL (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        kube = ClusterApi.from_args(args, why="this check deletes a pod")
        with TaskApi(args.api_url, timeout=10.0) as api:
            run_check(api, kube, args.pod, args.timeout, log)
    except (CheckFailed, ClusterError) as err:
        log(f"FAILED: {err}")
        return 1
    except (httpx.HTTPError, ApiError, config.ConfigException) as err:
        log(f"FAILED: {err.__class__.__name__}: {err}")
        return 1
    log("PASSED: data persisted across the PostgreSQL restart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
