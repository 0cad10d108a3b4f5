"""dev/scale_check.py against the fake Kubernetes API (scale subresource + Endpoints)."""

from __future__ import annotations

import subprocess
import sys

from taskpilot_dev.fakes.kube_api import FakeApiServer, FakeCluster
from taskpilot_dev.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "dev" / "scale_check.py"
BACKEND = "taskpilot-ai-backend"


def run_script(cluster, tmp_path, *args, context="kind-fake"):
    with FakeApiServer(cluster) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context=context)
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--kubeconfig", str(kubeconfig), "--poll", "0.1", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )


def scale_history(cluster):
    return [
        body["spec"]["replicas"]
        for method, path, body in cluster.requests
        if method == "PATCH" and path.endswith(f"/deployments/{BACKEND}/scale")
    ]


def test_scales_to_three_ready_endpoints_and_back(tmp_path):
    cluster = FakeCluster(ready_delay=0.3)
    result = run_script(cluster, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert scale_history(cluster) == [3, 1] and cluster.workloads[BACKEND].replicas == 1
    assert "backend-service: 3 Ready endpoints" in result.stdout and "PASSED" in result.stdout


def test_pods_that_never_become_ready_fail_and_are_scaled_back(tmp_path):
    cluster = FakeCluster()
    cluster.workloads[BACKEND].max_ready = 2
    result = run_script(cluster, tmp_path, "--timeout", "2")
    assert result.returncode == 1
    assert "backend-service has 2 Ready endpoints, wanted 3 within 2s" in result.stdout
    assert scale_history(cluster) == [3, 1], "the original replica count is restored after a failure"


def test_refuses_a_remote_context(tmp_path):
    cluster = FakeCluster()
    result = run_script(cluster, tmp_path, context="prod-eu")
    assert result.returncode == 1 and 'kubectl context "prod-eu" is not a local cluster' in result.stdout
    assert cluster.requests == []
