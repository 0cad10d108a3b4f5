"""What the checks and the cluster tests do to a running release, as small functions over
ClusterApi: wait for things, replace a pod, scale, roll out. The same code runs against a real
cluster (Tilt's checks, tests/e2e) and against the fake API (tests/toolkit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .cluster import ClusterApi, ClusterError, PodInfo, WorkloadStatus

RELEASE = "taskpilot-ai"
NAMESPACE = "taskpilot"
BACKEND_DEPLOYMENT = f"{RELEASE}-backend"
FRONTEND_DEPLOYMENT = f"{RELEASE}-frontend"
POSTGRES_STATEFULSET = f"{RELEASE}-postgresql"
POSTGRES_POD = f"{POSTGRES_STATEFULSET}-0"
APP_LABELS = {
    "frontend": "app=taskpilot-frontend",
    "backend": "app=taskpilot-backend",
    "postgresql": "app=taskpilot-postgresql",
}
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
        except Exception as error:
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
    script = (
        "import socket,sys\n"
        "for n in sys.argv[1:]:\n"
        "    try: print(n, socket.gethostbyname(n))\n"
        "    except OSError as e: print(n, 'FAILED', e)\n"
    )
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


def wait_for_replacement(kube: ClusterApi, name: str, old_uid: str, *, timeout: float, poll: float = 1.0) -> PodInfo:
    """Wait until pod `name` exists again with a uid other than old_uid and is Ready (a StatefulSet
    pod keeps its name across a restart, so only the uid tells the new one apart)."""
    deadline = time.monotonic() + timeout
    state = "waiting for the old pod to go"
    while time.monotonic() < deadline:
        current = kube.read_pod(name)
        if current is None:
            state = "pod gone, waiting for the StatefulSet to recreate it"
        elif current.uid == old_uid:
            state = "old pod still terminating"
        elif current.ready:
            return current
        else:
            state = f"new pod {current.uid[:8]} not Ready yet"
        time.sleep(poll)
    raise ClusterError(f"pod {name} was not back and Ready within {timeout:g}s ({state})")


def single_ready_pod(kube: ClusterApi, selector: str) -> PodInfo:
    pods = ready_pods(kube, selector)
    if len(pods) != 1:
        raise ClusterError(f"expected exactly one ready pod for {selector}, found {[p.name for p in pods]}")
    return pods[0]


def replace_pod(
    kube: ClusterApi,
    name: str,
    *,
    timeout: float = 300,
    poll: float = 1.0,
    log: Callable[[str], None] = lambda message: None,
) -> PodInfo:
    """Delete pod `name` and wait until its controller has a new one Ready under the same name."""
    old = kube.read_pod(name)
    if old is None:
        raise ClusterError(f"pod {kube.namespace}/{name} does not exist")
    kube.delete_pod(name)
    log(f"deleted pod {kube.namespace}/{name} (uid {old.uid[:8]})")
    new = wait_for_replacement(kube, name, old.uid, timeout=timeout, poll=poll)
    log(f"pod {name} is back and Ready (uid {new.uid[:8]})")
    return new


def scale_app(kube: ClusterApi, chart: str, *, backend: int, frontend: int, release: str = RELEASE) -> str:
    """`helm upgrade --reuse-values --set ...replicas` when a Helm release exists (./setup.sh --no-tilt);
    Tilt applies the chart without a release, so there the deployments are scaled directly."""
    if kube.helm_release_exists(release):
        kube.helm_upgrade_reuse_values(release, chart, {"backend.replicas": backend, "frontend.replicas": frontend})
        return "helm upgrade --reuse-values"
    kube.scale_deployment(BACKEND_DEPLOYMENT, backend)
    kube.scale_deployment(FRONTEND_DEPLOYMENT, frontend)
    return "kubectl scale (no Helm release: deployed by Tilt)"


def wait_ready_endpoints(
    kube: ClusterApi, service: str, count: int, *, timeout: float = 300, poll: float = 2.0
) -> list[str]:
    """Wait until exactly `count` pods are ready behind `service`."""
    deadline = time.monotonic() + timeout
    while True:
        ready = kube.ready_endpoints(service)
        if len(ready) == count:
            return ready
        if time.monotonic() >= deadline:
            raise ClusterError(f"{service} has {len(ready)} Ready endpoints, wanted {count} within {timeout:g}s")
        time.sleep(poll)


def scale_and_back(
    kube: ClusterApi,
    deployment: str,
    service: str,
    replicas: int,
    *,
    timeout: float,
    poll: float = 1.0,
    log: Callable[[str], None] = lambda message: None,
) -> None:
    """Scale `deployment` to `replicas`, wait for that many Ready endpoints behind `service`, and scale
    back to where it was (also when the wait failed)."""
    before = kube.deployment_replicas(deployment)
    log(f"{deployment}: {before} replica(s); scaling to {replicas}")
    kube.scale_deployment(deployment, replicas)
    try:
        wait_ready_endpoints(kube, service, replicas, timeout=timeout, poll=poll)
        log(f"{service}: {replicas} Ready endpoints")
    finally:
        kube.scale_deployment(deployment, before)
        log(f"scaling {deployment} back to {before}")
    wait_ready_endpoints(kube, service, before, timeout=timeout, poll=poll)
    log(f"{service}: back to {before} Ready endpoint(s)")


def wait_rolled_out(kube: ClusterApi, deployment: str, *, timeout: float = 300) -> WorkloadStatus:
    return wait_for(
        lambda: (lambda s: s if s.rolled_out else None)(kube.deployment_status(deployment)),
        timeout=timeout,
        interval=2,
        what=f"deployment/{deployment} to finish rolling out",
    )


def wait_statefulset_ready(kube: ClusterApi, name: str, *, timeout: float = 300) -> WorkloadStatus:
    return wait_for(
        lambda: (lambda s: s if s.ready == s.desired else None)(kube.statefulset_status(name)),
        timeout=timeout,
        interval=2,
        what=f"statefulset/{name} to be ready",
    )


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


def wait_stack_deployed(kube: ClusterApi, timeout: float = 600) -> None:
    """PostgreSQL Ready and both app Deployments rolled out."""
    wait_statefulset_ready(kube, POSTGRES_STATEFULSET, timeout=timeout)
    for deployment in (BACKEND_DEPLOYMENT, FRONTEND_DEPLOYMENT):
        wait_rolled_out(kube, deployment, timeout=timeout)
