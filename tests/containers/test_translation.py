"""The translator reads the chart the way it is deployed and refuses what it cannot reproduce (helm only)."""

from __future__ import annotations

import ast
import base64
import copy

import pytest

from taskpilot_dev import chart_pods as cp
from taskpilot_dev import tilt_sync

TILT_IMAGE_VALUES = ("backend.image.repository=taskpilot-backend", "frontend.image.repository=taskpilot-frontend")
PROD_SECRETS = ("secrets.jwtSecret=" + "j" * 40, "secrets.databasePassword=test-db-password")


@pytest.fixture(scope="module")
def dev_render():
    return cp.render(cp.DEV_VALUES, TILT_IMAGE_VALUES)


def _tiltfile_helm_call() -> ast.Call:
    tree = ast.parse((tilt_sync.REPO_ROOT / "Tiltfile").read_text())
    return next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "helm")


def test_renders_with_the_values_files_the_tiltfile_passes():
    values = next(k.value for k in _tiltfile_helm_call().keywords if k.arg == "values")
    literal = ast.literal_eval(values.left if isinstance(values, ast.BinOp) else values)
    assert tuple(path.rsplit("/", 1)[1] for path in literal) == cp.DEV_VALUES


def test_every_workload_of_the_dev_and_prod_renders_translates(dev_render):
    dev = cp.plan(dev_render)
    prod = cp.plan(cp.render(cp.PROD_VALUES, PROD_SECRETS))
    for chart in (dev, prod):
        assert {w.kind for w in chart.workloads} == {"Deployment", "StatefulSet", "Job"}
        assert {s.name for s in chart.services} == {"frontend-service", "backend-service", "postgresql-service"}
    assert prod.workload("taskpilot-ai-backend").replicas >= 2
    assert "CronJob/taskpilot-ai-backup" in prod.passive  # validated, not scheduled
    # helm test pods are dropped, as Tilt's helm() drops them
    assert not [o for o in dev_render if o["kind"] == "Pod"]


def test_env_comes_from_the_rendered_configmap_and_secret(dev_render):
    backend = cp.plan(dev_render).workload("taskpilot-ai-backend").pod.containers[0]
    config = next(o for o in dev_render if o["kind"] == "ConfigMap")["data"]
    assert backend.env["DB_HOST"] == config["DB_HOST"] == "postgresql-service"
    secret = next(o for o in dev_render if o["kind"] == "Secret")["data"]
    assert backend.env["DB_PASSWORD"] == base64.b64decode(secret["DB_PASSWORD"]).decode()  # secretKeyRef
    assert backend.env["SHUTDOWN_DRAIN_SECONDS"] == config["SHUTDOWN_DRAIN_SECONDS"]


def test_kubernetes_variable_expansion():
    assert cp._expand("$(A)-$$(A)-$(MISSING)", {"A": "x"}) == "x-$(A)-$(MISSING)"


@pytest.mark.parametrize(
    "mutate, complaint",
    [
        (lambda spec: spec.update(hostNetwork=True), "hostNetwork"),
        (lambda spec: spec["containers"][0].update(stdin=True), "stdin"),
        (lambda spec: spec["containers"][0]["readinessProbe"].update(grpc={"port": 8000}), "grpc"),
        (lambda spec: spec["containers"][0]["securityContext"]["capabilities"].update(add=["NET_ADMIN"]), "add"),
        (lambda spec: spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "hostPath"),
        (lambda spec: spec.update(enableServiceLinks=True), "enableServiceLinks"),
        (lambda spec: spec["containers"][0].update(imagePullPolicy="Always"), "imagePullPolicy"),
    ],
    ids=[
        "pod-field",
        "container-field",
        "probe-handler",
        "capability-add",
        "volume-type",
        "service-links",
        "pull-always",
    ],
)
def test_a_field_the_runner_does_not_implement_fails_loudly(dev_render, mutate, complaint):
    objects = copy.deepcopy(dev_render)
    backend = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("backend"))
    mutate(backend["spec"]["template"]["spec"])
    with pytest.raises(cp.UnsupportedField, match=complaint):
        cp.plan(objects)


def test_an_unknown_kind_fails_loudly(dev_render):
    with pytest.raises(cp.UnsupportedField, match="DaemonSet"):
        cp.plan([*dev_render, {"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {}}])


def test_live_update_steps_come_from_the_tiltfile():
    updates = tilt_sync.tiltfile_live_updates()
    backend, frontend = updates["taskpilot-backend"], updates["taskpilot-frontend"]
    assert backend.syncs == [("backend/", "/app/")] and frontend.syncs == [("frontend/", "/app/")]
    assert tilt_sync.container_path(backend, "backend/app/api/health.py") == "/app/app/api/health.py"
    assert any("pip install -r" in cmd for cmd, _ in backend.runs)
    assert "frontend/package-lock.json" in frontend.fall_back_on
    with pytest.raises(tilt_sync.NeedsRebuild):
        tilt_sync.live_update(None, None, backend, {"backend/alembic/env.py": None})
    with pytest.raises(tilt_sync.NeedsRebuild):
        tilt_sync.live_update(None, None, frontend, {"frontend/package-lock.json": None})
