"""The chart on a real cluster, as the plain Helm path deployed it (tests/cluster/tier.sh): the
release and its `helm test`, where config and secrets go, and ./port-forward.sh through real
`kubectl port-forward`. Cluster behaviour under disruption is tests/e2e/test_cluster.py's job."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time

import httpx
import pytest
import yaml

from taskpilot_dev.paths import REPO_ROOT
from taskpilot_dev.rollouts import APP_LABELS, ready_pods

pytestmark = pytest.mark.cluster


def _kubectl(cluster, *args: str, timeout: float = 60) -> str:
    return cluster.runner([cluster.kubectl_bin, "--context", cluster.context, "-n", cluster.namespace, *args], timeout)


def _secret_values(cluster) -> dict[str, str]:
    secret = yaml.safe_load(_kubectl(cluster, "get", "secret", "taskpilot-ai-secret", "-o", "yaml"))
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items() if value}


def test_release_is_deployed_and_its_helm_tests_pass(cluster):
    helm = [cluster.helm_bin, "--kube-context", cluster.context, "-n", cluster.namespace]
    status = yaml.safe_load(cluster.runner([*helm, "status", "taskpilot-ai", "-o", "yaml"], 60))
    assert status["info"]["status"] == "deployed"
    assert "Phase:          Succeeded" in cluster.runner([*helm, "test", "taskpilot-ai", "--timeout", "3m"], 240)


def test_pod_specs_carry_no_secret_value(cluster):
    secrets = _secret_values(cluster)
    assert {"JWT_SECRET", "DB_PASSWORD"} <= set(secrets)
    pods = _kubectl(cluster, "get", "pods", "-o", "yaml")
    leaked = [key for key, value in secrets.items() if value in pods]
    assert leaked == []


def test_config_and_secret_values_reach_the_containers(cluster):
    config = yaml.safe_load(_kubectl(cluster, "get", "configmap", "taskpilot-ai-config", "-o", "yaml"))["data"]
    secrets = _secret_values(cluster)
    pod = ready_pods(cluster, APP_LABELS["backend"])[0].name
    env = dict(line.split("=", 1) for line in cluster.exec_in_pod(pod, ["env"]).splitlines() if "=" in line)
    for key in ("DB_HOST", "DB_NAME", "APP_ENV", "LOG_LEVEL"):
        assert env[key] == config[key], key
    for key in ("JWT_SECRET", "DB_PASSWORD"):
        assert env[key] == secrets[key], key


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def test_port_forward_script_serves_the_app_on_3000_and_8000(cluster):
    env = dict(os.environ, KUBE_CONTEXT=cluster.context, TASKPILOT_NAMESPACE=cluster.namespace, NO_COLOR="1")
    script = subprocess.Popen(
        [str(REPO_ROOT / "port-forward.sh")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            _answers("http://localhost:8000/health") and _answers("http://localhost:3000/")
        ):
            assert script.poll() is None, script.stdout.read().decode()
            time.sleep(0.5)
        assert _answers("http://localhost:8000/health") and _answers("http://localhost:3000/")
    finally:
        os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=30)
