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

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from db_persistence_check import CheckFailed, core_api, log


def ready_addresses(core: client.CoreV1Api, namespace: str, service: str) -> int:
    try:
        endpoints = core.read_namespaced_endpoints(service, namespace)
    except ApiException as err:
        if err.status == 404:
            return 0
        raise CheckFailed(f"reading endpoints of {service}: HTTP {err.status} {err.reason}") from None
    return sum(len(subset.addresses or []) for subset in endpoints.subsets or [])


def scale(apps: client.AppsV1Api, namespace: str, deployment: str, replicas: int) -> None:
    try:
        apps.patch_namespaced_deployment_scale(deployment, namespace, {"spec": {"replicas": replicas}})
    except ApiException as err:
        raise CheckFailed(f"cannot scale {deployment}: HTTP {err.status} {err.reason}") from None


def wait_for_endpoints(core, namespace, service, wanted, timeout, poll=1.0) -> None:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        seen = ready_addresses(core, namespace, service)
        if seen == wanted:
            return
        time.sleep(poll)
    raise CheckFailed(f"{service} has {seen} Ready endpoints, wanted {wanted} within {timeout:g}s")


def run_check(core, apps, namespace, deployment, service, replicas, timeout, poll=1.0) -> None:
    try:
        before = apps.read_namespaced_deployment_scale(deployment, namespace).spec.replicas
    except ApiException as err:
        raise CheckFailed(f"cannot read {namespace}/{deployment}: HTTP {err.status} {err.reason}") from None
    log(f"{deployment}: {before} replica(s); scaling to {replicas}")
    scale(apps, namespace, deployment, replicas)
    try:
        wait_for_endpoints(core, namespace, service, replicas, timeout, poll)
        log(f"{service}: {replicas} Ready endpoints")
    finally:
        scale(apps, namespace, deployment, before)
        log(f"scaling {deployment} back to {before}")
    wait_for_endpoints(core, namespace, service, before, timeout, poll)
    log(f"{service}: back to {before} Ready endpoint(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scale the backend up, wait for Ready endpoints, scale back.")
    parser.add_argument("--namespace", default="taskpilot", help="default: %(default)s")
    parser.add_argument("--deployment", default="taskpilot-ai-backend", help="default: %(default)s")
    parser.add_argument("--service", default="backend-service", help="default: %(default)s")
    parser.add_argument("--replicas", type=int, default=3, help="default: %(default)s")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per wait (default: %(default)s)")
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--allow-context", action="append", default=[], help="also accept this context as local")
    args = parser.parse_args(argv)
    try:
        core = core_api(args.kubeconfig, args.context, args.allow_context)
        apps = client.AppsV1Api(core.api_client)
        run_check(core, apps, args.namespace, args.deployment, args.service, args.replicas, args.timeout, args.poll)
    except (CheckFailed, config.ConfigException) as err:
        log(f"FAILED: {err}")
        return 1
    log(f"PASSED: {args.replicas} Ready endpoints behind {args.service}, and back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
