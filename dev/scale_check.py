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

from taskpilot_dev.cluster import ClusterApi, ClusterError
from taskpilot_dev.rollouts import BACKEND_DEPLOYMENT, NAMESPACE, scale_and_back


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale the backend up, wait for Ready endpoints, scale back.")
    parser.add_argument("--namespace", default=NAMESPACE, help="default: %(default)s")
    parser.add_argument("--deployment", default=BACKEND_DEPLOYMENT, help="default: %(default)s")
    parser.add_argument("--service", default="backend-service", help="default: %(default)s")
    parser.add_argument("--replicas", type=int, default=3, help="default: %(default)s")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per wait (default: %(default)s)")
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--allow-context", action="append", default=[], help="also accept this context as local")
    args = parser.parse_args(argv)
    try:
        kube = ClusterApi.local(args.context, args.namespace, kubeconfig=args.kubeconfig,
                                allow_contexts=args.allow_context, why="this check scales a deployment")
        scale_and_back(kube, args.deployment, args.service, args.replicas, timeout=args.timeout, poll=args.poll,
                       log=log)
    except (ClusterError, config.ConfigException) as err:
        log(f"FAILED: {err}")
        return 1
    log(f"PASSED: {args.replicas} Ready endpoints behind {args.service}, and back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
