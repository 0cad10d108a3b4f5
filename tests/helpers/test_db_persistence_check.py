"""dev/db_persistence_check.py against the real backend, a real PostgreSQL that really restarts,
and the fake Kubernetes API (the pod's deletion restarts the database) — plus the real thing when a
cluster is reachable."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import psycopg
import pytest

from taskpilot_dev.api import TaskApi
from taskpilot_dev.cluster import ClusterApi
from taskpilot_dev.fakes.kube_api import FakeApiServer, FakeCluster
from taskpilot_dev.paths import REPO_ROOT
from taskpilot_dev.persistence import CHECK_EMAIL, CHECK_PASSWORD, MARKER_PREFIX
from taskpilot_dev.rollouts import NAMESPACE, POSTGRES_POD

SCRIPT = REPO_ROOT / "dev" / "db_persistence_check.py"


def run_script(*args, timeout=120):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, NO_COLOR="1"),
    )


def run_against(cluster, tmp_path, api_url, *args, context="kind-fake"):
    with FakeApiServer(cluster) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context=context)
        return run_script("--kubeconfig", str(kubeconfig), "--api-url", api_url, *args)


def marker_titles(api_url):
    with TaskApi(api_url) as api:
        api.login(CHECK_EMAIL, CHECK_PASSWORD)
        return [t["title"] for t in api.list_tasks() if t["title"].startswith(MARKER_PREFIX)]


def test_marker_survives_a_real_postgres_restart(tmp_path, restartable_postgres, backend_on_restartable_db):
    api_url, _ = backend_on_restartable_db
    restarts_before = restartable_postgres.restarts
    cluster = FakeCluster(on_pod_deleted=restartable_postgres.restart)  # what deleting the pod does
    result = run_against(cluster, tmp_path, api_url, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert cluster.error is None
    assert cluster.paths("DELETE") == [f"/api/v1/namespaces/{NAMESPACE}/pods/{POSTGRES_POD}"]
    assert restartable_postgres.restarts == restarts_before + 1
    out = result.stdout
    assert f"deleted pod {NAMESPACE}/{POSTGRES_POD}" in out
    assert "is back and Ready" in out and "survived the restart" in out and "PASSED" in out
    assert "\x1b[" not in out
    assert marker_titles(api_url) == [], "the marker task is cleaned up"


def test_lost_data_is_reported(tmp_path, restartable_postgres, backend_on_restartable_db):
    api_url, database_url = backend_on_restartable_db

    def restart_with_data_loss():
        restartable_postgres.restart()
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"DELETE FROM tasks WHERE title LIKE '{MARKER_PREFIX}%'")

    cluster = FakeCluster(on_pod_deleted=restart_with_data_loss)
    result = run_against(cluster, tmp_path, api_url, "--timeout", "60")
    assert cluster.error is None
    assert result.returncode == 1
    assert "data was NOT persisted" in result.stdout


def test_a_pod_that_never_comes_back_fails_after_the_timeout(tmp_path, backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    cluster = FakeCluster()
    cluster.recreate = False
    result = run_against(cluster, tmp_path, backend_url, "--timeout", "2")
    assert result.returncode == 1
    assert "was not back and Ready within 2s (pod gone, waiting for the StatefulSet to recreate it)" in result.stdout
    assert "cleaned up marker task" in result.stdout
    assert marker_titles(backend_url) == []


def test_a_non_local_context_is_refused_before_anything_is_deleted(tmp_path, backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    cluster = FakeCluster()
    result = run_against(cluster, tmp_path, backend_url, context="gke_acme_prod")
    assert result.returncode == 1
    assert 'kubectl context "gke_acme_prod" is not a local cluster' in result.stdout
    assert cluster.requests == []


def test_the_check_user_logs_in_on_later_runs(backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    with TaskApi(backend_url) as first, TaskApi(backend_url) as second:
        first.sign_in(CHECK_EMAIL, CHECK_PASSWORD)
        second.sign_in(CHECK_EMAIL, CHECK_PASSWORD)  # 409 on signup -> login
        assert second.me()["email"] == CHECK_EMAIL


def _context_args() -> list[str]:
    """The context CI's cluster tier names (E2E_KUBE_CONTEXT), allowed as a dev cluster; else the current one."""
    context = os.environ.get("E2E_KUBE_CONTEXT")
    return ["--context", context, "--allow-context", context] if context else []


def _reachable_cluster_reason() -> str | None:
    """None when a local cluster with the TaskPilot release and the backend forward is reachable."""
    context = os.environ.get("E2E_KUBE_CONTEXT")
    try:
        kube = ClusterApi.local(context, NAMESPACE, allow_contexts=[context] if context else [])
        if kube.read_pod(POSTGRES_POD) is None:
            return f"no pod {POSTGRES_POD} in the current context"
        httpx.get("http://localhost:8000/health", timeout=3).raise_for_status()
    except Exception as err:  # any missing piece means: no cluster to test against
        return f"no local cluster running TaskPilot AI with the backend on localhost:8000 ({err.__class__.__name__})"
    return None


@pytest.mark.cluster
def test_against_a_real_cluster():
    reason = _reachable_cluster_reason()
    if reason and os.environ.get("E2E_REQUIRE_CLUSTER") == "1":
        pytest.fail(f"E2E_REQUIRE_CLUSTER=1 but {reason}")
    if reason:
        pytest.skip(reason)
    result = run_script(*_context_args(), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
