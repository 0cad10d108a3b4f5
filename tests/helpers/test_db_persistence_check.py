"""dev/db_persistence_check.py against the real backend, a real PostgreSQL that really restarts,
and a fake Kubernetes API (pod get/delete) — plus the real thing when a cluster is reachable."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests

import db_persistence_check as check
from helpers_fake_k8s import FakeCluster, write_kubeconfig

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "dev" / "db_persistence_check.py"


def run_script(*args, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, NO_COLOR="1"))


def marker_titles(api_url):
    api = check.TaskApi(api_url)
    api.authenticate()
    return [t["title"] for t in api.session.get(api_url + "/api/tasks", timeout=10).json()
            if t["title"].startswith("persistence-check")]


def test_marker_survives_a_real_postgres_restart(tmp_path, restartable_postgres, backend_on_restartable_db):
    api_url, _ = backend_on_restartable_db

    def restart_postgres():  # what deleting the pod does to the database process
        restartable_postgres.stop()
        restartable_postgres.start()

    restarts_before = restartable_postgres.restarts
    cluster = FakeCluster(on_delete=restart_postgres)
    with cluster.serve() as k8s_url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", k8s_url)
        result = run_script("--kubeconfig", str(kubeconfig), "--api-url", api_url, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert cluster.error is None
    assert cluster.deletes == 1 and restartable_postgres.restarts == restarts_before + 1
    out = result.stdout
    assert "deleted pod taskpilot/taskpilot-ai-postgresql-0" in out
    assert "is back and Ready" in out and "survived the restart" in out and "PASSED" in out
    assert "\x1b[" not in out
    assert marker_titles(api_url) == [], "the marker task is cleaned up"


def test_lost_data_is_reported(tmp_path, restartable_postgres, backend_on_restartable_db):
    api_url, database_url = backend_on_restartable_db

    def restart_with_data_loss():
        restartable_postgres.stop()
        restartable_postgres.start()
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("DELETE FROM tasks WHERE title LIKE 'persistence-check%'")

    cluster = FakeCluster(on_delete=restart_with_data_loss)
    with cluster.serve() as k8s_url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", k8s_url)
        result = run_script("--kubeconfig", str(kubeconfig), "--api-url", api_url, "--timeout", "60")
    assert cluster.error is None
    assert result.returncode == 1
    assert "data was NOT persisted" in result.stdout


def test_a_pod_that_never_comes_back_fails_after_the_timeout(tmp_path, backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    cluster = FakeCluster(comes_back=False)
    with cluster.serve() as k8s_url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", k8s_url)
        result = run_script("--kubeconfig", str(kubeconfig), "--api-url", backend_url, "--timeout", "2")
    assert result.returncode == 1
    assert "was not back and Ready within 2s (pod gone, waiting for the StatefulSet to recreate it)" in result.stdout
    assert "cleaned up marker task" in result.stdout
    assert marker_titles(backend_url) == []


def test_a_non_local_context_is_refused_before_anything_is_deleted(tmp_path, backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    cluster = FakeCluster()
    with cluster.serve() as k8s_url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", k8s_url, context="gke_acme_prod")
        result = run_script("--kubeconfig", str(kubeconfig), "--api-url", backend_url)
    assert result.returncode == 1
    assert 'kubectl context "gke_acme_prod" is not a local cluster' in result.stdout
    assert cluster.requests == []


def test_wait_for_replacement_ignores_the_terminating_pod_and_a_not_ready_successor(tmp_path):
    cluster = FakeCluster(terminating_for=0.5, ready_after=0.8)
    with cluster.serve() as k8s_url:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", k8s_url)
        api = check.core_api(str(kubeconfig), None, [])
        old_uid = check.pod_uid(api, "taskpilot", cluster.pod)
        api.delete_namespaced_pod(cluster.pod, "taskpilot")
        new_uid = check.wait_for_replacement(api, "taskpilot", cluster.pod, old_uid, timeout=10, poll=0.05)
    assert new_uid != old_uid and new_uid == cluster.uid and cluster.ready


def test_the_check_user_logs_in_on_later_runs(backend_on_restartable_db):
    backend_url, _ = backend_on_restartable_db
    first, second = check.TaskApi(backend_url), check.TaskApi(backend_url)
    first.authenticate()
    second.authenticate()  # 409 on signup -> login
    assert requests.get(backend_url + "/api/auth/me", headers=second.session.headers, timeout=10).json()["email"] \
        == check.CHECK_EMAIL


def _reachable_cluster_reason() -> str | None:
    """None when a local cluster with the TaskPilot release and the backend forward is reachable."""
    try:
        api = check.core_api(None, None, [])
        api.read_namespaced_pod("taskpilot-ai-postgresql-0", "taskpilot", _request_timeout=3)
        requests.get("http://localhost:8000/health", timeout=3).raise_for_status()
    except Exception as err:  # any missing piece means: no cluster to test against
        return f"no local cluster running TaskPilot AI with the backend on localhost:8000 ({err.__class__.__name__})"
    return None


@pytest.mark.cluster
def test_against_a_real_cluster():
    reason = _reachable_cluster_reason()
    if reason:
        pytest.skip(reason)
    result = run_script(timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
