"""The one doorway to a Kubernetes cluster: `ClusterApi`, on the official `kubernetes` client.

Pods, deployments, statefulsets, endpoints through the API; exec, port-forward and helm through the
CLIs (kubectl/helm from taskpilot_dev.tools), always with an explicit context and namespace, so
nothing ever acts on whatever the current context happens to be.
The procedures built on it (replace a pod, scale, roll out) are in taskpilot_dev.rollouts; the fake
API and CLIs the tests point it at are in taskpilot_dev.fakes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import yaml
from kubernetes import client, config

from taskpilot_dev.paths import REPO_ROOT

RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
# Contexts that name a cluster on this machine. Disruptive helpers (deleting pods, scaling) only
# run against these unless the user names another one explicitly. The Tiltfile's guard reads the same file.
LOCAL_CONTEXTS_FILE = REPO_ROOT / "dev" / "local-contexts.yaml"
_local_contexts = yaml.safe_load(LOCAL_CONTEXTS_FILE.read_text())
LOCAL_CONTEXTS = frozenset(_local_contexts["names"])
LOCAL_CONTEXT_PREFIXES = tuple(_local_contexts["prefixes"])

CommandRunner = Callable[[Sequence[str], float], str]


class ClusterError(RuntimeError):
    """A cluster call failed; the message says which call and why."""


def run_command(argv: Sequence[str], timeout: float) -> str:
    """Run a CLI, return stdout; raise with stderr on failure."""
    completed = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed ({completed.returncode}): {completed.stderr.strip()}")
    return completed.stdout


def default_kubeconfig() -> str:
    # Read KUBECONFIG now: the client library only looks at it once, at import time.
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def is_local_context(name: str | None, allowed: Iterable[str] = ()) -> bool:
    if not name:
        return False
    return (
        name in LOCAL_CONTEXTS
        or name in set(allowed)
        or any(name.startswith(prefix) and len(name) > len(prefix) for prefix in LOCAL_CONTEXT_PREFIXES)
    )


@dataclass(frozen=True)
class PodInfo:
    name: str
    uid: str
    phase: str
    ready: bool
    restarts: int
    terminating: bool
    labels: dict[str, str]
    owner_kind: str | None

    @property
    def is_job_pod(self) -> bool:
        return self.owner_kind == "Job" or self.phase == "Succeeded"


@dataclass(frozen=True)
class WorkloadStatus:
    name: str
    desired: int
    ready: int
    updated: int
    available: int
    generation: int
    observed_generation: int

    @property
    def rolled_out(self) -> bool:
        return (
            self.observed_generation >= self.generation
            and self.updated == self.desired
            and self.ready == self.desired
            and self.available == self.desired
        )


class PortForward:
    """`kubectl port-forward <target> :<port>` on 127.0.0.1; .url while open, close() to stop."""

    def __init__(self, argv: Sequence[str], timeout: float = 20.0) -> None:
        self.process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self._wait_for_port(timeout)

    def _wait_for_port(self, timeout: float) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
                if match and not found:
                    found.append(f"http://127.0.0.1:{match.group(1)}")

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not found:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else ""
                raise ClusterError(f"port-forward exited: {error.strip()}")
            time.sleep(0.05)
        if not found:
            self.close()
            raise ClusterError("port-forward did not report a local port in time")
        return found[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


class ClusterApi:
    """Namespace-scoped operations on one cluster, all pinned to one kube context."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        context: str,
        namespace: str,
        runner: CommandRunner = run_command,
        kubectl: str = "kubectl",
        helm: str = "helm",
    ) -> None:
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.context = context
        self.namespace = namespace
        self.runner = runner
        self.kubectl_bin = kubectl
        self.helm_bin = helm

    @classmethod
    def from_kubeconfig(
        cls, context: str | None, namespace: str, *, kubeconfig: str | None = None, **kwargs
    ) -> ClusterApi:
        """Context `context` (None: the current one). Raises config.ConfigException (and OSError) when
        the kubeconfig is missing or has no such context."""
        config_file = kubeconfig or default_kubeconfig()
        contexts, active = config.list_kube_config_contexts(config_file=config_file)
        name = context or (active or {}).get("name", "")
        if name not in {c["name"] for c in contexts}:
            raise config.ConfigException(f"context {name!r} not in kubeconfig {config_file}")
        api_client = config.new_client_from_config(config_file=config_file, context=name)
        return cls(api_client, context=name, namespace=namespace, **kwargs)

    @classmethod
    def local(
        cls,
        context: str | None,
        namespace: str,
        *,
        kubeconfig: str | None = None,
        allow_contexts: Iterable[str] = (),
        why: str = "this changes the cluster",
        **kwargs,
    ) -> ClusterApi:
        """Like from_kubeconfig, but refuse (ClusterError, before any request) a context that is
        not a local cluster and not in `allow_contexts`."""
        if context is None:
            _, active = config.list_kube_config_contexts(config_file=kubeconfig or default_kubeconfig())
            context = (active or {}).get("name", "")
        if not is_local_context(context, allow_contexts):
            raise ClusterError(
                f'kubectl context "{context}" is not a local cluster; {why}. '
                "Switch with `kubectl config use-context minikube` or pass --allow-context NAME."
            )
        return cls.from_kubeconfig(context, namespace, kubeconfig=kubeconfig, **kwargs)

    @classmethod
    def from_args(cls, args: argparse.Namespace, why: str) -> ClusterApi:
        """The local cluster named by the options `add_cluster_arguments` defined."""
        return cls.local(
            args.context, args.namespace, kubeconfig=args.kubeconfig, allow_contexts=args.allow_context, why=why
        )

    def _call(self, what: str, function: Callable, *args, **kwargs):
        try:
            return function(*args, _request_timeout=10, **kwargs)
        except client.ApiException as error:
            raise ClusterError(f"{what}: HTTP {error.status} {error.reason}") from None

    # -- reads ---------------------------------------------------------------------
    def namespace_exists(self, timeout: float = 5.0) -> bool:
        try:
            self.core.read_namespace(self.namespace, _request_timeout=timeout)
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def list_pods(self, selector: str | None = None) -> list[PodInfo]:
        pods = self._call(
            f"list pods in {self.namespace}",
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=selector or "",
        )
        return [_pod_info(pod) for pod in pods.items]

    def read_pod(self, name: str) -> PodInfo | None:
        """The pod, or None when it does not exist (404)."""
        try:
            return _pod_info(self.core.read_namespaced_pod(name, self.namespace, _request_timeout=10))
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise ClusterError(f"read pod {self.namespace}/{name}: HTTP {error.status} {error.reason}") from None

    def deployment_status(self, name: str) -> WorkloadStatus:
        return _workload_status(
            self._call(f"read deployment {name}", self.apps.read_namespaced_deployment, name, self.namespace)
        )

    def deployment_replicas(self, name: str) -> int:
        """spec.replicas through the scale subresource (what `kubectl scale` reads)."""
        scale = self._call(
            f"read {self.namespace}/{name}", self.apps.read_namespaced_deployment_scale, name, self.namespace
        )
        return scale.spec.replicas

    def statefulset_status(self, name: str) -> WorkloadStatus:
        return _workload_status(
            self._call(f"read statefulset {name}", self.apps.read_namespaced_stateful_set, name, self.namespace)
        )

    def statefulset_replicas(self, name: str) -> int:
        scale = self._call(
            f"read {self.namespace}/{name}", self.apps.read_namespaced_stateful_set_scale, name, self.namespace
        )
        return scale.spec.replicas

    def statefulset_claims(self, name: str, replicas: int) -> list[str]:
        """Names of the PVCs the StatefulSet's volumeClaimTemplates give pods 0..replicas-1."""
        statefulset = self._call(
            f"read statefulset {name}", self.apps.read_namespaced_stateful_set, name, self.namespace
        )
        templates = statefulset.spec.volume_claim_templates or []
        return [f"{t.metadata.name}-{name}-{ordinal}" for t in templates for ordinal in range(replicas)]

    def pvc_uid(self, name: str) -> str | None:
        """The claim's uid, or None when it does not exist (404)."""
        try:
            claim = self.core.read_namespaced_persistent_volume_claim(name, self.namespace, _request_timeout=10)
            return claim.metadata.uid if claim.metadata else None
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise ClusterError(f"read pvc {self.namespace}/{name}: HTTP {error.status} {error.reason}") from None

    def ready_endpoints(self, service: str) -> list[str]:
        """Names (or IPs) of the pods behind a Service that are ready to receive traffic ([] when the
        Service has no Endpoints object yet)."""
        try:
            endpoints = self.core.read_namespaced_endpoints(service, self.namespace, _request_timeout=10)
        except client.ApiException as error:
            if error.status == 404:
                return []
            raise ClusterError(f"read endpoints of {service}: HTTP {error.status} {error.reason}") from None
        ready = []
        for subset in endpoints.subsets or []:
            for address in subset.addresses or []:
                ready.append((address.target_ref and address.target_ref.name) or address.ip)
        return ready

    def service_url(self, service: str, namespace: str | None = None) -> str:
        """http://<ClusterIP>:<first port>: reachable from a cluster node, through kube-proxy."""
        spec = self._call(
            f"read service {service}", self.core.read_namespaced_service, service, namespace or self.namespace
        ).spec
        return f"http://{spec.cluster_ip}:{spec.ports[0].port}"

    # -- writes --------------------------------------------------------------------
    def delete_pod(self, name: str) -> None:
        self._call(f"delete pod {self.namespace}/{name}", self.core.delete_namespaced_pod, name, self.namespace)

    def restart_deployment(self, name: str) -> None:
        """What `kubectl rollout restart deployment/<name>` does: stamp the pod template."""
        stamp = dt.datetime.now(dt.UTC).isoformat()
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
        self._call(f"restart {name}", self.apps.patch_namespaced_deployment, name, self.namespace, body)

    def scale_deployment(self, name: str, replicas: int) -> None:
        """What `kubectl scale deployment/<name> --replicas=N` does (the scale subresource)."""
        self._call(
            f"scale {name}",
            self.apps.patch_namespaced_deployment_scale,
            name,
            self.namespace,
            {"spec": {"replicas": replicas}},
        )

    def scale_statefulset(self, name: str, replicas: int) -> None:
        self._call(
            f"scale {name}",
            self.apps.patch_namespaced_stateful_set_scale,
            name,
            self.namespace,
            {"spec": {"replicas": replicas}},
        )

    def delete_pvc(self, name: str) -> None:
        """Delete a claim (its volume goes with it under the usual Delete reclaim policy); a missing one is fine."""
        try:
            self.core.delete_namespaced_persistent_volume_claim(name, self.namespace, _request_timeout=10)
        except client.ApiException as error:
            if error.status != 404:
                raise ClusterError(f"delete pvc {self.namespace}/{name}: HTTP {error.status} {error.reason}") from None

    def helm_release_exists(self, release: str) -> bool:
        try:
            self.runner(
                [self.helm_bin, "--kube-context", self.context, "status", release, "--namespace", self.namespace], 60
            )
        except ClusterError:
            return False
        return True

    def helm_upgrade_reuse_values(
        self, release: str, chart: str, sets: dict[str, object], timeout: float = 600
    ) -> None:
        argv = [
            self.helm_bin,
            "--kube-context",
            self.context,
            "upgrade",
            release,
            chart,
            "--namespace",
            self.namespace,
            "--reuse-values",
        ]
        for key, value in sets.items():
            argv += ["--set", f"{key}={value}"]
        self.runner(argv, timeout)

    # -- commands in pods ----------------------------------------------------------
    def exec_in_pod(self, pod: str, command: Sequence[str], timeout: float = 60) -> str:
        argv = [self.kubectl_bin, "--context", self.context, "-n", self.namespace, "exec", pod, "--", *command]
        return self.runner(argv, timeout)

    def port_forward(self, target: str, remote_port: int, namespace: str | None = None) -> PortForward:
        argv = [
            self.kubectl_bin,
            "--context",
            self.context,
            "-n",
            namespace or self.namespace,
            "port-forward",
            "--address",
            "127.0.0.1",
            target,
            f":{remote_port}",
        ]
        return PortForward(argv)


def choose_context(contexts: list[str], current: str | None) -> tuple[str | None, str]:
    """For disruptive tests without an explicit context: `minikube`, or a current context that is
    clearly a local cluster; never a remote one."""
    if "minikube" in contexts:
        return "minikube", ""
    if is_local_context(current):
        return current, ""
    return None, (
        f"current context {current!r} is not a local cluster; set E2E_KUBE_CONTEXT={current} "
        "to run the disruptive cluster tests against it"
    ) if current else "kubeconfig has no contexts"


def connect(context: str | None, namespace: str, **kwargs) -> tuple[ClusterApi | None, str]:
    """(ClusterApi, "") for a reachable cluster that has the namespace, else (None, why not)."""
    config_file = default_kubeconfig()
    if not any(os.path.exists(path) for path in config_file.split(os.pathsep)):
        return None, f"no kubeconfig ({config_file} does not exist; ./setup.sh creates a minikube cluster)"
    try:
        if context is None:
            contexts, active = config.list_kube_config_contexts(config_file=config_file)
            context, reason = choose_context([c["name"] for c in contexts], (active or {}).get("name"))
            if context is None:
                return None, reason
        kube = ClusterApi.from_kubeconfig(context, namespace, **kwargs)
    except Exception as error:
        return None, f"no usable kubeconfig ({type(error).__name__}: {error})"
    try:
        if not kube.namespace_exists(timeout=5):
            return None, f"context {kube.context!r} has no namespace {namespace!r} (deploy with ./setup.sh)"
    except Exception as error:
        return None, f"context {kube.context!r} is unreachable ({type(error).__name__})"
    return kube, ""


def _pod_info(pod: client.V1Pod) -> PodInfo:
    statuses = pod.status.container_statuses or [] if pod.status else []
    conditions = {c.type: c.status for c in ((pod.status.conditions if pod.status else None) or [])}
    meta = pod.metadata
    if meta is None or meta.name is None or meta.uid is None:
        raise ClusterError("the API answered a pod without a name or uid")
    owners = meta.owner_references or []
    return PodInfo(
        name=meta.name,
        uid=meta.uid,
        phase=(pod.status.phase if pod.status else None) or "Unknown",
        ready=conditions.get("Ready") == "True",
        restarts=sum(s.restart_count or 0 for s in statuses),
        terminating=meta.deletion_timestamp is not None,
        labels=dict(meta.labels or {}),
        owner_kind=owners[0].kind if owners else None,
    )


def _workload_status(workload) -> WorkloadStatus:
    status = workload.status
    return WorkloadStatus(
        name=workload.metadata.name,
        desired=workload.spec.replicas if workload.spec.replicas is not None else 1,
        ready=status.ready_replicas or 0,
        updated=status.updated_replicas or 0,
        available=getattr(status, "available_replicas", None) or 0,
        generation=workload.metadata.generation or 0,
        observed_generation=status.observed_generation or 0,
    )


def add_cluster_arguments(parser: argparse.ArgumentParser, namespace: str, timeout: float) -> None:
    """The options every helper that acts on the cluster takes (Tilt passes its own context and namespace)."""
    parser.add_argument("--namespace", default=namespace, help="default: %(default)s")
    parser.add_argument("--timeout", type=float, default=timeout, help="seconds per wait (default: %(default)s)")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--allow-context", action="append", default=[], help="also accept this context as local")
