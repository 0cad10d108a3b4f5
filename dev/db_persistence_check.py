#!/usr/bin/env python3
"""Prove that tasks survive a PostgreSQL restart in the cluster (the StatefulSet's volume keeps them).

    python dev/db_persistence_check.py                 # against Tilt's forward on localhost:8000

1. signs up (or logs in) a dedicated check user through the API and writes a marker task;
2. deletes the PostgreSQL pod (`taskpilot-ai-postgresql-0` in namespace `taskpilot`);
3. waits until the StatefulSet has brought a NEW pod (different uid) back to Ready;
4. waits for the API to answer again and verifies the marker task is still there, unchanged;
5. deletes the marker task (also when a step failed, if the API is up).

Only local clusters: the current kubectl context must be minikube, docker-desktop, kind-* or
k3d-* (or named with --allow-context), because step 2 deletes a pod.
Exit status: 0 when the marker survived, 1 when a step failed (the reason is printed).
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid

import requests
from kubernetes import client, config
from kubernetes.client.rest import ApiException

LOCAL_CONTEXTS = {"minikube", "docker-desktop", "docker-for-desktop", "rancher-desktop", "orbstack"}
LOCAL_CONTEXT_PREFIXES = ("kind-", "k3d-")
CHECK_EMAIL = "persistence-check@example.com"
CHECK_PASSWORD = "persistence-check-password"  # dev clusters only; the account owns nothing else
CHECK_NAME = "Persistence check"


class CheckFailed(Exception):
    """A step failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- Kubernetes side ---------------------------------------------------------------------------
def core_api(kubeconfig: str | None, context: str | None, allow_contexts: list[str]) -> client.CoreV1Api:
    """CoreV1Api for the chosen (or current) context, refusing anything that is not local."""
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    name = context or (active or {}).get("name", "")
    if not (name in LOCAL_CONTEXTS or name in allow_contexts
            or any(name.startswith(p) and len(name) > len(p) for p in LOCAL_CONTEXT_PREFIXES)):
        raise CheckFailed(f'kubectl context "{name}" is not a local cluster; this check deletes a pod. '
                          "Switch with `kubectl config use-context minikube` or pass --allow-context NAME.")
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=name))


def pod_uid(api: client.CoreV1Api, namespace: str, pod: str) -> str:
    try:
        return api.read_namespaced_pod(pod, namespace).metadata.uid
    except ApiException as err:
        raise CheckFailed(f"cannot read pod {namespace}/{pod}: HTTP {err.status} {err.reason}") from None


def is_ready(pod) -> bool:
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_for_replacement(api: client.CoreV1Api, namespace: str, pod: str, old_uid: str,
                         timeout: float, poll: float = 1.0) -> str:
    """Wait until pod `pod` exists again with a uid other than old_uid and is Ready; returns the new uid."""
    deadline = time.monotonic() + timeout
    state = "waiting for the old pod to go"
    while time.monotonic() < deadline:
        try:
            current = api.read_namespaced_pod(pod, namespace)
        except ApiException as err:
            if err.status != 404:
                raise CheckFailed(f"reading pod {pod}: HTTP {err.status} {err.reason}") from None
            state = "pod gone, waiting for the StatefulSet to recreate it"
        else:
            if current.metadata.uid == old_uid:
                state = "old pod still terminating"
            elif is_ready(current):
                return current.metadata.uid
            else:
                state = f"new pod {current.metadata.uid[:8]} not Ready yet"
        time.sleep(poll)
    raise CheckFailed(f"PostgreSQL pod {pod} was not back and Ready within {timeout:g}s ({state})")


# ---- API side -----------------------------------------------------------------------------------
class TaskApi:
    def __init__(self, base_url: str, request_timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = request_timeout

    def _url(self, path: str) -> str:
        return self.base_url + path

    def authenticate(self) -> None:
        """Sign up the check user, or log in when it already exists."""
        body = {"email": CHECK_EMAIL, "password": CHECK_PASSWORD, "name": CHECK_NAME}
        response = self.session.post(self._url("/api/auth/signup"), json=body, timeout=self.timeout)
        if response.status_code == 409:  # already registered by an earlier run
            response = self.session.post(self._url("/api/auth/login"), json=body, timeout=self.timeout)
        if response.status_code not in (200, 201):
            raise CheckFailed(f"cannot sign up/log in the check user: HTTP {response.status_code} {response.text[:200]}")
        self.session.headers["Authorization"] = "Bearer " + response.json()["access_token"]

    def create_marker(self) -> dict:
        title = f"persistence-check {uuid.uuid4()}"
        response = self.session.post(self._url("/api/tasks"), timeout=self.timeout,
                                     json={"title": title, "description": "written before a PostgreSQL restart"})
        if response.status_code != 201:
            raise CheckFailed(f"cannot create the marker task: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def wait_for_marker(self, marker: dict, timeout: float, poll: float = 1.0) -> dict:
        """GET the marker until the API answers (it reconnects to the restarted database)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                response = self.session.get(self._url(f"/api/tasks/{marker['id']}"), timeout=self.timeout)
            except requests.RequestException as err:
                last = f"{err.__class__.__name__}"
            else:
                if response.status_code == 200:
                    return response.json()
                if response.status_code == 404:
                    raise CheckFailed(f"marker task {marker['id']} is gone after the restart: data was NOT persisted")
                last = f"HTTP {response.status_code}"
            time.sleep(poll)
        raise CheckFailed(f"the API did not serve the marker task within {timeout:g}s (last: {last})")

    def delete_marker(self, marker: dict) -> bool:
        try:
            response = self.session.delete(self._url(f"/api/tasks/{marker['id']}"), timeout=self.timeout)
        except requests.RequestException:
            return False
        return response.status_code in (204, 404)


def run_check(api: TaskApi, k8s: client.CoreV1Api, namespace: str, pod: str, timeout: float) -> None:
    api.authenticate()
    marker = api.create_marker()
    log(f"wrote marker task {marker['id']} ({marker['title']})")
    try:
        old_uid = pod_uid(k8s, namespace, pod)
        try:
            k8s.delete_namespaced_pod(pod, namespace)
        except ApiException as err:
            raise CheckFailed(f"cannot delete pod {namespace}/{pod}: HTTP {err.status} {err.reason}") from None
        log(f"deleted pod {namespace}/{pod} (uid {old_uid[:8]})")
        new_uid = wait_for_replacement(k8s, namespace, pod, old_uid, timeout)
        log(f"pod {pod} is back and Ready (uid {new_uid[:8]})")
        found = api.wait_for_marker(marker, timeout)
        if (found["title"], found["description"]) != (marker["title"], marker["description"]):
            raise CheckFailed(f"marker task changed across the restart: {found!r}")
        log(f"marker task {marker['id']} survived the restart")
    finally:
        if api.delete_marker(marker):
            log(f"cleaned up marker task {marker['id']}")
        else:
            log(f"could not delete marker task {marker['id']} (delete it from the board)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check that tasks survive a PostgreSQL pod restart.")
    parser.add_argument("--namespace", default="taskpilot", help="default: %(default)s")
    parser.add_argument("--pod", default="taskpilot-ai-postgresql-0", help="PostgreSQL pod (default: %(default)s)")
    parser.add_argument("--api-url", default="http://localhost:8000", help="backend base URL (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per wait (default: %(default)s)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--allow-context", action="append", default=[], help="also accept this context as local")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        k8s = core_api(args.kubeconfig, args.context, args.allow_context)
        run_check(TaskApi(args.api_url), k8s, args.namespace, args.pod, args.timeout)
    except CheckFailed as err:
        log(f"FAILED: {err}")
        return 1
    except (requests.RequestException, config.ConfigException) as err:
        log(f"FAILED: {err.__class__.__name__}: {err}")
        return 1
    log("PASSED: data persisted across the PostgreSQL restart")
    return 0


if __name__ == "__main__":
    sys.exit(main())
