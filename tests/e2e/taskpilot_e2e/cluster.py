"""Cluster checks as small functions over ClusterApi (kube.py): the same code runs against a real
cluster (test_cluster.py) and against the fake API (test_cluster_logic.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .kube import ClusterApi, PodInfo, WorkloadStatus

RELEASE = "taskpilot-ai"
BACKEND_DEPLOYMENT = f"{RELEASE}-backend"
FRONTEND_DEPLOYMENT = f"{RELEASE}-frontend"
POSTGRES_STATEFULSET = f"{RELEASE}-postgresql"
APP_LABELS = {"frontend": "app=taskpilot-frontend", "backend": "app=taskpilot-backend",
              "postgresql": "app=taskpilot-postgresql"}
SERVICES = ("frontend-service", "backend-service", "postgresql-service")

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, interval: float = 1.0, what: str) -> T:
    """Poll probe until it returns something truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - transient API errors during restarts are expected
            last_error = error
        if time.monotonic() >= deadline:
            suffix = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{suffix}")
        time.sleep(interval)


def pod_problems(kube: ClusterApi) -> list[str]:
    """Every long-running pod of the release must be Running and Ready (Job pods may be Succeeded)."""
    problems = []
    pods = kube.list_pods()
    for component, selector in APP_LABELS.items():
        if not any(p.labels.get("app") == selector.split("=")[1] for p in pods):
            problems.append(f"no pod for {component} ({selector})")
    for pod in pods:
        if pod.is_job_pod or pod.terminating:
            continue
        if pod.phase != "Running" or not pod.ready:
            problems.append(f"{pod.name}: phase={pod.phase} ready={pod.ready} restarts={pod.restarts}")
    return problems


def ready_pods(kube: ClusterApi, selector: str) -> list[PodInfo]:
    return [p for p in kube.list_pods(selector) if p.phase == "Running" and p.ready and not p.terminating]


def dns_lookup_command(names: list[str]) -> list[str]:
    """A Python one-liner (the backend image has Python) printing `name ip` per resolvable name."""
    script = ("import socket,sys\n"
              "for n in sys.argv[1:]:\n"
              "    try: print(n, socket.gethostbyname(n))\n"
              "    except OSError as e: print(n, 'FAILED', e)\n")
    return ["python", "-c", script, *names]


def resolve_in_cluster(kube: ClusterApi, pod: str, names: list[str]) -> dict[str, str]:
    """Resolve names through cluster DNS from inside a pod; {name: ip or 'FAILED ...'}."""
    output = kube.exec_in_pod(pod, dns_lookup_command(names))
    answers = {}
    for line in output.splitlines():
        name, _, rest = line.partition(" ")
        if name in names:
            answers[name] = rest.strip()
    return answers


def replace_pod(kube: ClusterApi, selector: str, *, timeout: float = 300) -> PodInfo:
    """Delete the (single) pod matching selector and wait until a new one is Running and Ready."""
    before = ready_pods(kube, selector)
    if len(before) != 1:
        raise AssertionError(f"expected exactly one ready pod for {selector}, found {[p.name for p in before]}")
    old = before[0]
    kube.delete_pod(old.name)

    def replacement() -> PodInfo | None:
        fresh = [p for p in ready_pods(kube, selector) if p.uid != old.uid]
        return fresh[0] if fresh else None

    return wait_for(replacement, timeout=timeout, interval=2, what=f"a new Ready pod for {selector}")


def scale_app(kube: ClusterApi, chart: str, *, backend: int, frontend: int, release: str = RELEASE) -> str:
    """`helm upgrade --reuse-values --set ...replicas` when a Helm release exists (./setup.sh --no-tilt);
    Tilt applies the chart without a release, so there the deployments are scaled directly."""
    if kube.helm_release_exists(release):
        kube.helm_upgrade_reuse_values(release, chart, {"backend.replicas": backend, "frontend.replicas": frontend})
        return "helm upgrade --reuse-values"
    kube.scale_deployment(BACKEND_DEPLOYMENT, backend)
    kube.scale_deployment(FRONTEND_DEPLOYMENT, frontend)
    return "kubectl scale (no Helm release: deployed by Tilt)"


def wait_ready_endpoints(kube: ClusterApi, service: str, count: int, *, timeout: float = 300) -> list[str]:
    return wait_for(lambda: (lambda e: e if len(e) == count else None)(kube.ready_endpoints(service)),
                    timeout=timeout, interval=2, what=f"{count} ready endpoints behind {service}")


def wait_rolled_out(kube: ClusterApi, deployment: str, *, timeout: float = 300) -> WorkloadStatus:
    return wait_for(lambda: (lambda s: s if s.rolled_out else None)(kube.deployment_status(deployment)),
                    timeout=timeout, interval=2, what=f"deployment/{deployment} to finish rolling out")


def wait_statefulset_ready(kube: ClusterApi, name: str, *, timeout: float = 300) -> WorkloadStatus:
    return wait_for(lambda: (lambda s: s if s.ready == s.desired else None)(kube.statefulset_status(name)),
                    timeout=timeout, interval=2, what=f"statefulset/{name} to be ready")


@dataclass
class RolloutResult:
    old_pods: set[str]
    new_pods: set[str]
    status: WorkloadStatus


def rolling_restart(kube: ClusterApi, deployment: str, selector: str, *, timeout: float = 300) -> RolloutResult:
    """`kubectl rollout restart` and wait until every pod was replaced and the rollout completed."""
    old = {p.name for p in ready_pods(kube, selector)}
    kube.restart_deployment(deployment)

    def finished() -> RolloutResult | None:
        status = kube.deployment_status(deployment)
        current = {p.name for p in kube.list_pods(selector) if not p.terminating}
        if status.rolled_out and current and not (current & old):
            return RolloutResult(old, current, status)
        return None

    return wait_for(finished, timeout=timeout, interval=1, what=f"deployment/{deployment} to replace all pods")
