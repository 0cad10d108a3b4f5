#!/usr/bin/env python3
"""Start over with an empty database: drop and recreate the PostgreSQL volume, rerun the migrations.

    python dev/reset_database.py --context minikube          # asks you to type the context name
    python dev/reset_database.py --context minikube --yes    # no question (Tilt's button confirms first)

Every task and user is gone afterwards; `tilt down` alone never does this (it keeps the volume).
Only local clusters (minikube, kind-*, k3d-*, docker-desktop, ... or --allow-context NAME): it
deletes a volume. taskpilot_dev.reset has the steps. Exit status: 0 once the app is back on the
empty database, 1 when a step failed (the reason is printed), 2 when not confirmed.
"""

from __future__ import annotations

import argparse
import sys
import time

from kubernetes import config

from taskpilot_dev.cluster import ClusterApi, ClusterError, add_cluster_arguments
from taskpilot_dev.reset import ResetFailed, reset_database
from taskpilot_dev.rollouts import NAMESPACE


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def confirmed(context: str, namespace: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        log("not confirmed: this deletes every task and user; pass --yes (or run it in a terminal to be asked)")
        return False
    answer = input(
        f"Delete the database of namespace {namespace!r} in context {context!r}? Type the context name to confirm: "
    )
    return answer.strip() == context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drop and recreate the PostgreSQL volume, rerun the migrations.")
    add_cluster_arguments(parser, NAMESPACE, timeout=300.0)
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--api-url",
        default="http://localhost:8000",
        help="backend URL whose /health/ready must answer at the end ('' skips it; default: %(default)s)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    try:
        kube = ClusterApi.from_args(args, why="this deletes the database volume")
        if not confirmed(kube.context, args.namespace, args.yes):
            return 2
        log(f"resetting the database of {kube.context}/{args.namespace}")
        seconds = reset_database(kube, api_url=args.api_url or None, timeout=args.timeout, log=log, poll=args.poll)
    except (ClusterError, ResetFailed, TimeoutError, config.ConfigException) as err:
        log(f"FAILED: {err}")
        return 1
    log(f"DONE: the app is back after {seconds:.0f} s, on an empty database with the migrations at head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
