"""A tiny fake of the Kubernetes API in the real REST shapes: GET/DELETE of one pod (and, for
scale_check, one Deployment's scale subresource plus its Service's Endpoints).

Deleting the pod plays the StatefulSet controller: the old pod lingers briefly (terminating),
then is gone (404) while `on_delete` runs (the tests restart a real PostgreSQL there), then a
new pod with a new uid appears, NotReady first and Ready after `ready_after` seconds.
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POD_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/?]+)")


class FakeCluster:
    def __init__(self, namespace="taskpilot", pod="taskpilot-ai-postgresql-0", on_delete=None,
                 comes_back=True, terminating_for=0.3, ready_after=0.5):
        self.namespace, self.pod = namespace, pod
        self.on_delete = on_delete or (lambda: None)
        self.comes_back, self.terminating_for, self.ready_after = comes_back, terminating_for, ready_after
        self.uid, self.ready, self.present = str(uuid.uuid4()), True, True
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def pod_json(self) -> dict:
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": self.pod, "namespace": self.namespace, "uid": self.uid,
                         "labels": {"app": "taskpilot-postgresql"}},
            "spec": {"containers": [{"name": "postgresql", "image": "postgres:15-alpine"}]},
            "status": {"phase": "Running" if self.ready else "Pending",
                       "conditions": [{"type": "Ready", "status": "True" if self.ready else "False"}]},
        }

    def _replace_pod(self) -> None:
        """The StatefulSet controller's part, run after a delete."""
        try:
            time.sleep(self.terminating_for)
            with self.lock:
                self.present = False
            self.on_delete()
            if not self.comes_back:
                return
            with self.lock:
                self.uid, self.ready, self.present = str(uuid.uuid4()), False, True
            time.sleep(self.ready_after)
            with self.lock:
                self.ready = True
        except BaseException as err:  # surfaced by the test
            self.error = err

    def handle(self, method: str, path: str) -> tuple[int, dict]:
        self.requests.append((method, path))
        match = POD_PATH.match(path)
        if not match or (match["ns"], match["name"]) != (self.namespace, self.pod):
            return 404, _status(404, "NotFound", f"{path} not found")
        with self.lock:
            if not self.present:
                return 404, _status(404, "NotFound", f'pods "{self.pod}" not found')
            body = self.pod_json()
            if method == "DELETE":
                body["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                threading.Thread(target=self._replace_pod, daemon=True).start()
        return 200, body

    def serve(self):
        return _Server(self)

    @property
    def deletes(self) -> int:
        return sum(1 for method, _ in self.requests if method == "DELETE")


def _status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
            "message": message, "code": code}


class _Server:
    """Context manager: serve the fake on 127.0.0.1 and yield its base URL."""

    def __init__(self, cluster: FakeCluster):
        cluster_ref = cluster

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method, request_body=None):
                if hasattr(cluster_ref, "handle_body"):
                    code, body = cluster_ref.handle_body(method, self.path, request_body)
                else:
                    code, body = cluster_ref.handle(method, self.path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._reply("GET")

            def do_DELETE(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)  # DeleteOptions body
                self._reply("DELETE")

            def do_PATCH(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._reply("PATCH", json.loads(self.rfile.read(length) or b"null"))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def write_kubeconfig(path: Path, server_url: str, context: str = "kind-fake") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "fake", "cluster": {"server": server_url}}],
        "users": [{"name": "fake", "user": {"token": "fake-token"}}],
        "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake", "namespace": "taskpilot"}}],
    }))
    return path


SCALE_PATH = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)/scale")
ENDPOINTS_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/endpoints/(?P<name>[^/?]+)")


class FakeDeployment(FakeCluster):
    """One Deployment's scale subresource and its Service's Endpoints, converging after `settle` s.

    `max_ready` caps the Ready endpoints (e.g. pods that never pass their readiness probe).
    """

    def __init__(self, namespace="taskpilot", deployment="taskpilot-ai-backend", service="backend-service",
                 replicas=1, settle=0.3, max_ready=None):
        super().__init__(namespace=namespace)
        self.deployment, self.service = deployment, service
        self.replicas, self.ready_count = replicas, replicas
        self.settle, self.max_ready = settle, max_ready
        self.history: list[int] = []

    def _converge(self, wanted):
        time.sleep(self.settle)
        with self.lock:
            if self.replicas == wanted:
                self.ready_count = wanted if self.max_ready is None else min(wanted, self.max_ready)

    def handle_body(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        self.requests.append((method, path))
        scale = SCALE_PATH.match(path)
        if scale and (scale["ns"], scale["name"]) == (self.namespace, self.deployment):
            with self.lock:
                if method == "PATCH":
                    self.replicas = int(body["spec"]["replicas"])
                    self.history.append(self.replicas)
                    threading.Thread(target=self._converge, args=(self.replicas,), daemon=True).start()
                return 200, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                             "metadata": {"name": self.deployment, "namespace": self.namespace},
                             "spec": {"replicas": self.replicas}, "status": {"replicas": self.ready_count}}
        endpoints = ENDPOINTS_PATH.match(path)
        if endpoints and (endpoints["ns"], endpoints["name"]) == (self.namespace, self.service):
            with self.lock:
                addresses = [{"ip": f"10.0.0.{i + 1}"} for i in range(self.ready_count)]
            return 200, {"apiVersion": "v1", "kind": "Endpoints",
                         "metadata": {"name": self.service, "namespace": self.namespace},
                         "subsets": [{"addresses": addresses, "ports": [{"port": 8000}]}] if addresses else []}
        return 404, _status(404, "NotFound", f"{path} not found")
