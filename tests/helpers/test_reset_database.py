"""dev/reset_database.py (and the cluster helpers' context handling) against the fake Kubernetes API,
the fake kubectl, a real PostgreSQL database and the real backend.

Every test runs with a kubeconfig whose *current* context is a remote-looking cluster ("prod-eks",
its own fake API server) while the helper is told to use the local one: the remote server must
never see a request.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from taskpilot_dev import harness
from taskpilot_dev.api import ApiError, TaskApi
from taskpilot_dev.fakes.cli import FakeCliSet
from taskpilot_dev.fakes.kube_api import FakeApiServer, FakeCluster, write_kubeconfig
from taskpilot_dev.paths import REPO_ROOT
from taskpilot_dev.postgres import create_database, drop_database

RESET = REPO_ROOT / "dev" / "reset_database.py"
SCALE = REPO_ROOT / "dev" / "scale_check.py"
LOCAL, REMOTE, NAMESPACE = "kind-dev", "prod-eks", "team-a"
STATEFULSET = "taskpilot-ai-postgresql"


@pytest.fixture
def database(postgres_admin_url):
    url = create_database(postgres_admin_url)
    harness.migrate(url)
    yield url
    drop_database(postgres_admin_url, url)


@pytest.fixture
def backend(database):
    with harness.backend_server(database) as url:
        yield url


def kubectl_fakes(tmp_path, database_url):
    """The fake kubectl, knowing the local context; `exec ... -- alembic upgrade head` runs the real
    migrations against the test database (what the command does inside the backend pod)."""
    clis = FakeCliSet(tmp_path / "clis", tools=("kubectl",))
    clis.state["contexts"] = {
        LOCAL: {"namespaces": [NAMESPACE], "releases": {}},
        REMOTE: {"namespaces": [NAMESPACE], "releases": {}},
    }
    clis.state["current_context"] = REMOTE
    clis.state["exec"] = {
        "alembic upgrade head": [
            sys.executable,
            "-c",
            f"from taskpilot_dev.harness import migrate; migrate({database_url!r}); print('at head')",
        ]
    }
    clis.save()
    return clis


def run(script, tmp_path, local, *args, clis=None, input=None):
    remote = FakeCluster(namespace=NAMESPACE)
    with FakeApiServer(local) as local_server, FakeApiServer(remote) as remote_server:
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig", {LOCAL: local_server, REMOTE: remote_server}, current=REMOTE
        )
        env = dict(os.environ, NO_COLOR="1")
        if clis is not None:
            env.update(clis.env(), PATH=f"{clis.bin_dir}{os.pathsep}{env['PATH']}")
        proc = subprocess.run(
            [sys.executable, str(script), "--kubeconfig", str(kubeconfig), "--poll", "0.1", *args],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            input=input,
        )
    return proc, remote


def test_reset_recreates_the_volume_reruns_migrations_and_waits_for_the_app(
    tmp_path, postgres_admin_url, database, backend
):
    with TaskApi(backend) as api:
        api.signup("before-reset@example.com")
        api.create_task("written before the reset")
    name = urlsplit(database).path.lstrip("/")

    def volume_lost():  # a new volume: PostgreSQL starts on an empty data directory
        drop_database(postgres_admin_url, database)
        create_database(postgres_admin_url, name)

    cluster = FakeCluster(namespace=NAMESPACE, on_volume_deleted=volume_lost)
    old_claim = cluster.claims[f"data-{STATEFULSET}-0"]["uid"]
    clis = kubectl_fakes(tmp_path, database)
    proc, remote = run(
        RESET,
        tmp_path,
        cluster,
        "--context",
        LOCAL,
        "--namespace",
        NAMESPACE,
        "--api-url",
        backend,
        "--yes",
        "--timeout",
        "60",
        clis=clis,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert cluster.error is None
    assert remote.requests == [], "the current (remote) context was never called"
    scales = [
        body["spec"]["replicas"]
        for method, path, body in cluster.requests
        if method == "PATCH" and path.endswith(f"/statefulsets/{STATEFULSET}/scale")
    ]
    assert scales == [0, 1]
    assert cluster.paths("DELETE") == [f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/data-{STATEFULSET}-0"]
    assert cluster.claims[f"data-{STATEFULSET}-0"]["uid"] != old_claim, "a fresh claim"
    (migration,) = [c for c in clis.calls() if "exec" in c["argv"]]
    assert migration["context"] == LOCAL and migration["argv"][migration["argv"].index("-n") + 1] == NAMESPACE
    assert migration["argv"][-4:] == ["--", "alembic", "upgrade", "head"]
    assert "DONE: the app is back after" in out and "at head" in out
    # the data is gone, the schema is back: the old user is unknown, a new one works
    assert httpx.get(backend + "/health/ready", timeout=10).status_code == 200
    with TaskApi(backend) as api:
        with pytest.raises(ApiError) as unknown:
            api.login("before-reset@example.com")
        assert unknown.value.status == 401
        api.signup("after-reset@example.com")
        assert api.list_tasks() == []


def test_reset_asks_and_does_nothing_unconfirmed(tmp_path):
    cluster = FakeCluster(namespace=NAMESPACE)
    proc, remote = run(RESET, tmp_path, cluster, "--context", LOCAL, "--namespace", NAMESPACE, input="")
    assert proc.returncode == 2 and "not confirmed" in proc.stdout
    assert cluster.requests == [] and remote.requests == []


@pytest.mark.parametrize("script", [RESET, SCALE])
def test_cluster_helpers_refuse_a_remote_context_without_calling_it(tmp_path, script):
    cluster = FakeCluster(namespace=NAMESPACE)
    proc, remote = run(
        script,
        tmp_path,
        cluster,
        "--context",
        REMOTE,
        "--namespace",
        NAMESPACE,
        "--yes" if script == RESET else "--replicas=2",
    )
    assert proc.returncode == 1 and f'kubectl context "{REMOTE}" is not a local cluster' in proc.stdout
    assert cluster.requests == [] and remote.requests == []


def test_scale_check_acts_on_the_context_and_namespace_it_is_given_not_the_current_one(tmp_path):
    cluster = FakeCluster(namespace=NAMESPACE, ready_delay=0.2)
    proc, remote = run(SCALE, tmp_path, cluster, "--context", LOCAL, "--namespace", NAMESPACE, "--replicas", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert remote.requests == []
    assert any(path.startswith(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/") for path in cluster.paths("PATCH"))
