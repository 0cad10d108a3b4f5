"""The fake Kubernetes API: a small HTTP server on 127.0.0.1 speaking the real REST shapes.

It serves the calls ClusterApi makes — namespace read, pod list/read/delete, deployment read/patch,
deployment and statefulset scale read/patch, statefulset read, PVC read/delete, endpoints read — with
a toy controller behind them:
deleted pods are replaced (a StatefulSet pod under the same name, after an optional hook such as
restarting a real PostgreSQL), deployments roll (new pods become Ready after `ready_delay`, old ones
then terminate), endpoints list Ready pods, a StatefulSet scaled to 0 stops its pod, a deleted PVC
goes once no pod uses it (after an optional hook such as wiping a real database) and scaling back up
creates a fresh one. The real kubernetes client talks to it, so request paths,
bodies and response parsing are all exercised.

    cluster = FakeCluster()
    with FakeApiServer(cluster) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context="minikube")
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import client


@dataclass
class FakePod:
    name: str
    app: str
    owner_kind: str
    template: str = ""
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    ready_at: float = 0.0
    deleting_at: float | None = None
    phase: str = "Running"
    never_ready: bool = False

    def ready(self, now: float, stuck: bool) -> bool:
        return (
            self.phase == "Running"
            and now >= self.ready_at
            and not self.never_ready
            and not (stuck and self.ready_at > 0)
        )


@dataclass
class FakeWorkload:
    name: str
    app: str
    replicas: int
    kind: str = "Deployment"
    generation: int = 1
    annotations: dict[str, str] = field(default_factory=dict)
    max_ready: int | None = None  # pods beyond this many never pass their readiness probe
    replacing: bool = False  # a StatefulSet pod is gone and the on_pod_deleted hook is still running

    @property
    def template(self) -> str:
        return json.dumps(self.annotations, sort_keys=True)


class FakeCluster:
    """State + toy controller of the TaskPilot release. `reconcile()` runs before every API answer.

    on_pod_deleted: called (on a thread) once a deleted StatefulSet pod is gone and before its
    replacement appears — what a pod restart does to the process inside it.
    recreate: False makes the StatefulSet controller never bring a deleted pod back.
    on_volume_deleted: called (on a thread) once a deleted PVC is gone and before a new pod (with a
    new, empty claim) appears — what losing the volume does to the database on it.
    stuck: new pods never become Ready (a broken rollout).
    """

    def __init__(
        self,
        namespace: str = "taskpilot",
        ready_delay: float = 0.3,
        termination_delay: float = 0.3,
        on_pod_deleted: Callable[[], None] | None = None,
        on_volume_deleted: Callable[[], None] | None = None,
    ) -> None:
        self.namespace = namespace
        self.namespaces = {"default", "kube-system", namespace}
        self.ready_delay, self.termination_delay = ready_delay, termination_delay
        self.on_pod_deleted = on_pod_deleted
        self.on_volume_deleted = on_volume_deleted
        self.recreate = True
        self.stuck = False
        self.error: BaseException | None = None  # raised by on_pod_deleted
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, object]] = []
        self._ids = itertools.count(1)
        self.workloads = {
            "taskpilot-ai-frontend": FakeWorkload("taskpilot-ai-frontend", "taskpilot-frontend", 1),
            "taskpilot-ai-backend": FakeWorkload("taskpilot-ai-backend", "taskpilot-backend", 1),
            "taskpilot-ai-postgresql": FakeWorkload(
                "taskpilot-ai-postgresql", "taskpilot-postgresql", 1, kind="StatefulSet"
            ),
        }
        self.services = {
            "frontend-service": "taskpilot-frontend",
            "backend-service": "taskpilot-backend",
            "postgresql-service": "taskpilot-postgresql",
        }
        self.pods: dict[str, FakePod] = {}
        # PVC name -> {"uid", "deleting"}: the StatefulSet's volumeClaimTemplates claim ("data")
        self.claims: dict[str, dict] = {}
        self.pods["taskpilot-ai-migrations-x1"] = FakePod(
            "taskpilot-ai-migrations-x1", "taskpilot-migrations", "Job", phase="Succeeded"
        )
        for workload in self.workloads.values():
            for _ in range(workload.replicas):
                self._create_pod(workload, ready_now=True)
            if workload.kind == "StatefulSet":
                self.claims[self._claim_name(workload)] = {"uid": str(uuid.uuid4()), "deleting": False}

    def paths(self, method: str) -> list[str]:
        """Request paths of one HTTP method, in order."""
        return [path for m, path, _ in self.requests if m == method]

    # -- controller -------------------------------------------------------------
    def _create_pod(self, workload: FakeWorkload, ready_now: bool = False) -> FakePod:
        name = f"{workload.name}-0" if workload.kind == "StatefulSet" else f"{workload.name}-{next(self._ids):05x}"
        live = len(self._live(workload))
        pod = FakePod(
            name,
            workload.app,
            "ReplicaSet" if workload.kind == "Deployment" else "StatefulSet",
            workload.template,
            ready_at=0.0 if ready_now else time.monotonic() + self.ready_delay,
            never_ready=workload.max_ready is not None and live >= workload.max_ready,
        )
        self.pods[name] = pod
        return pod

    def _live(self, workload: FakeWorkload) -> list[FakePod]:
        return [p for p in self.pods.values() if p.app == workload.app and p.deleting_at is None]

    def _claim_name(self, workload: FakeWorkload) -> str:
        return f"data-{workload.name}-0"

    def _run_hook(self, workload: FakeWorkload, hook: Callable[[], None] | None = None) -> None:
        try:
            if hook is not None:
                hook()
        except BaseException as error:
            self.error = error
        finally:
            with self.lock:
                workload.replacing = False

    def reconcile(self) -> None:
        now = time.monotonic()
        for name, pod in list(self.pods.items()):
            if pod.deleting_at is not None and now >= pod.deleting_at:
                del self.pods[name]
                workload = next((w for w in self.workloads.values() if w.app == pod.app), None)
                if workload is not None and workload.kind == "StatefulSet":
                    workload.replacing = True
                    threading.Thread(target=self._run_hook, args=(workload, self.on_pod_deleted), daemon=True).start()
        for workload in self.workloads.values():
            live = self._live(workload)
            if workload.kind == "StatefulSet":
                claim = self._claim_name(workload)
                if workload.replicas == 0:
                    for pod in live:
                        pod.deleting_at = now + self.termination_delay
                if (
                    self.claims.get(claim, {}).get("deleting")
                    and f"{workload.name}-0" not in self.pods
                    and not workload.replacing
                ):  # pvc-protection: gone once no pod uses it
                    del self.claims[claim]
                    workload.replacing = True
                    threading.Thread(
                        target=self._run_hook, args=(workload, self.on_volume_deleted), daemon=True
                    ).start()
                if (
                    self.recreate
                    and workload.replicas > 0
                    and not workload.replacing
                    and not live
                    and f"{workload.name}-0" not in self.pods
                ):
                    self.claims.setdefault(claim, {"uid": str(uuid.uuid4()), "deleting": False})
                    self._create_pod(workload)
                continue
            new = [p for p in live if p.template == workload.template]
            old = [p for p in live if p.template != workload.template]
            for _ in range(workload.replicas - len(new)):
                new.append(self._create_pod(workload))
            for extra in new[workload.replicas :]:
                extra.deleting_at = now + self.termination_delay
            if sum(p.ready(now, self.stuck) for p in new[: workload.replicas]) == workload.replicas:
                for pod in old:
                    pod.deleting_at = now + self.termination_delay

    def terminate(self, name: str) -> FakePod | None:
        pod = self.pods.get(name)
        if pod is not None and pod.deleting_at is None:
            pod.deleting_at = time.monotonic() + self.termination_delay
        return pod

    def scale(self, workload: FakeWorkload, replicas: int) -> None:
        workload.replicas, workload.generation = replicas, workload.generation + 1

    # -- JSON views (the shapes the real API returns, trimmed) -----------------
    def pod_json(self, pod: FakePod) -> dict:
        now = time.monotonic()
        ready = pod.ready(now, self.stuck)
        metadata = {
            "name": pod.name,
            "namespace": self.namespace,
            "uid": pod.uid,
            "labels": {"app": pod.app},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": pod.owner_kind, "name": pod.app, "uid": "o"}],
        }
        if pod.deleting_at is not None:
            metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {"containers": [{"name": pod.app.removeprefix("taskpilot-")}]},
            "status": {
                "phase": pod.phase,
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [
                    {
                        "name": pod.app.removeprefix("taskpilot-"),
                        "ready": ready,
                        "restartCount": 0,
                        "image": f"{pod.app}:dev",
                        "imageID": "sha256:0",
                    }
                ],
            },
        }

    def workload_json(self, workload: FakeWorkload) -> dict:
        now = time.monotonic()
        live = self._live(workload)
        ready = sum(p.ready(now, self.stuck) for p in live)
        updated = sum(p.template == workload.template for p in live)
        selector = {"matchLabels": {"app": workload.app}}
        template = {
            "metadata": {"labels": {"app": workload.app}, "annotations": workload.annotations},
            "spec": {"containers": [{"name": workload.app}]},
        }
        spec = {"replicas": workload.replicas, "selector": selector, "template": template}
        if workload.kind == "StatefulSet":
            spec["serviceName"] = "postgresql-service"
            spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]
        return {
            "apiVersion": "apps/v1",
            "kind": workload.kind,
            "metadata": {"name": workload.name, "namespace": self.namespace, "generation": workload.generation},
            "spec": spec,
            "status": {
                "replicas": len(live),
                "readyReplicas": ready,
                "updatedReplicas": updated,
                "availableReplicas": ready,
                "observedGeneration": workload.generation,
            },
        }

    def scale_json(self, workload: FakeWorkload) -> dict:
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": workload.name, "namespace": self.namespace},
            "spec": {"replicas": workload.replicas},
            "status": {"replicas": len(self._live(workload))},
        }

    def endpoints_json(self, service: str) -> dict:
        now = time.monotonic()
        app = self.services[service]
        addresses = [
            {"ip": f"10.244.0.{i + 10}", "targetRef": {"kind": "Pod", "name": p.name, "namespace": self.namespace}}
            for i, p in enumerate(self.pods.values())
            if p.app == app and p.deleting_at is None and p.ready(now, self.stuck)
        ]
        subsets = [{"addresses": addresses, "ports": [{"port": 8000}]}] if addresses else []
        return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": service}, "subsets": subsets}


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, what: str) -> None:
        self._send(
            404,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "message": f"{what} not found",
                "code": 404,
            },
        )

    def _handle(self, method: str) -> None:
        cluster = self.cluster
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body: Any = json.loads(self.rfile.read(length) or b"null") if length else None  # any JSON, as sent
        with cluster.lock:
            cluster.requests.append((method, url.path, body))
            cluster.reconcile()
            ns = cluster.namespace
            if method == "GET" and (m := re.fullmatch(r"/api/v1/namespaces/([^/]+)", url.path)):
                if m.group(1) in cluster.namespaces:
                    return self._send(200, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": m.group(1)}})
                return self._not_found(f'namespaces "{m.group(1)}"')
            if method == "GET" and url.path == f"/api/v1/namespaces/{ns}/pods":
                selector = parse_qs(url.query).get("labelSelector", [""])[0]
                pods = [p for p in cluster.pods.values() if not selector or selector == f"app={p.app}"]
                return self._send(
                    200,
                    {
                        "apiVersion": "v1",
                        "kind": "PodList",
                        "metadata": {},
                        "items": [cluster.pod_json(p) for p in pods],
                    },
                )
            if method in ("GET", "DELETE") and (m := re.fullmatch(rf"/api/v1/namespaces/{ns}/pods/([^/]+)", url.path)):
                pod = cluster.terminate(m.group(1)) if method == "DELETE" else cluster.pods.get(m.group(1))
                return self._send(200, cluster.pod_json(pod)) if pod else self._not_found(f'pods "{m.group(1)}"')
            if m := re.fullmatch(
                rf"/apis/apps/v1/namespaces/{ns}/(deployments|statefulsets)/([^/]+)(/scale)?", url.path
            ):
                kind = "Deployment" if m.group(1) == "deployments" else "StatefulSet"
                workload = cluster.workloads.get(m.group(2))
                if workload is None or workload.kind != kind:
                    return self._not_found(f'{m.group(1)} "{m.group(2)}"')
                if m.group(3):
                    if method == "PATCH":
                        cluster.scale(workload, body["spec"]["replicas"])
                        cluster.reconcile()
                    if method in ("GET", "PATCH"):
                        return self._send(200, cluster.scale_json(workload))
                else:
                    if method == "PATCH":
                        annotations = (
                            body.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
                        )
                        workload.annotations.update(annotations)
                        workload.generation += 1
                        cluster.reconcile()
                    if method in ("GET", "PATCH"):
                        return self._send(200, cluster.workload_json(workload))
            if method in ("GET", "DELETE") and (
                m := re.fullmatch(rf"/api/v1/namespaces/{ns}/persistentvolumeclaims/([^/]+)", url.path)
            ):
                claim = cluster.claims.get(m.group(1))
                if claim is None:
                    return self._not_found(f'persistentvolumeclaims "{m.group(1)}"')
                if method == "DELETE":
                    claim["deleting"] = True
                    cluster.reconcile()
                metadata = {"name": m.group(1), "namespace": ns, "uid": claim["uid"]}
                if claim["deleting"]:
                    metadata.update(
                        deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["kubernetes.io/pvc-protection"]
                    )
                return self._send(
                    200,
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": metadata,
                        "spec": {"accessModes": ["ReadWriteOnce"]},
                        "status": {"phase": "Bound"},
                    },
                )
            if method == "GET" and (m := re.fullmatch(rf"/api/v1/namespaces/{ns}/endpoints/([^/]+)", url.path)):
                if m.group(1) in cluster.services:
                    return self._send(200, cluster.endpoints_json(m.group(1)))
                return self._not_found(f'endpoints "{m.group(1)}"')
        self._send(405, {"kind": "Status", "message": f"fake API: unsupported {method} {url.path}", "code": 405})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


class FakeApiServer:
    """Serve a FakeCluster on 127.0.0.1 (until close() / the end of a `with` block)."""

    def __init__(self, cluster: FakeCluster) -> None:
        handler = type("Handler", (_Handler,), {"cluster": cluster})
        self.cluster = cluster
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def api_client(self) -> client.ApiClient:
        """A real kubernetes ApiClient for this server."""
        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def write_kubeconfig(self, path: Path, context: str = "minikube", current: bool = True) -> Path:
        """A kubeconfig whose context `context` points here (current unless current=False)."""
        return write_kubeconfig(path, {context: self}, current=context if current else "")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_kubeconfig(path: Path, servers: dict[str, FakeApiServer], current: str) -> Path:
    """A kubeconfig with one context per fake server (e.g. a local one and a "remote" one that must
    never be called), `current` being kubectl's current context."""
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": current,
                "clusters": [{"name": name, "cluster": {"server": server.url}} for name, server in servers.items()],
                "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                "contexts": [
                    {"name": name, "context": {"cluster": name, "user": "fake", "namespace": server.cluster.namespace}}
                    for name, server in servers.items()
                ],
            }
        )
    )
    return path
