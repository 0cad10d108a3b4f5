#!/usr/bin/env python3
"""Scale the backend to 3 replicas, wait for 3 Ready endpoints behind backend-service, scale back.

    python dev/scale_check.py                    # Tilt's "Scale check" button runs exactly this
    python dev/scale_check.py --replicas 5

The Deployment is scaled through its `scale` subresource (what `kubectl scale` does), so it works
under Tilt, which applies the chart without a Helm release. Only local clusters (see
db_persistence_check.py). Exit status 0 when the Service reached the wanted number of Ready
endpoints and came back, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

from kubernetes import config

from taskpilot_dev.cluster import ClusterApi, ClusterError, add_cluster_arguments
from taskpilot_dev.rollouts import BACKEND_DEPLOYMENT, NAMESPACE, scale_and_back


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale the backend up, wait for Ready endpoints, scale back.")
    add_cluster_arguments(parser, NAMESPACE, timeout=300.0)
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--deployment", default=BACKEND_DEPLOYMENT, help="default: %(default)s")
    parser.add_argument("--service", default="backend-service", help="default: %(default)s")
    parser.add_argument("--replicas", type=int, default=3, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        kube = ClusterApi.from_args(args, why="this check scales a deployment")
        scale_and_back(
            kube, args.deployment, args.service, args.replicas, timeout=args.timeout, poll=args.poll, log=log
        )
    except (ClusterError, config.ConfigException) as err:
        log(f"FAILED: {err}")
        return 1
    log(f"PASSED: {args.replicas} Ready endpoints behind {args.service}, and back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
