"""dev/scale_check.py against a fake Kubernetes API (scale subresource + Endpoints)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers_fake_k8s import FakeDeployment, write_kubeconfig

SCRIPT = Path(__file__).resolve().parents[2] / "dev" / "scale_check.py"


def run_script(kubeconfig, *args):
    return subprocess.run([sys.executable, str(SCRIPT), "--kubeconfig", str(kubeconfig), "--poll", "0.1", *args],
                          capture_output=True, text=True, timeout=120)


def test_scales_to_three_ready_endpoints_and_back(tmp_path):
    fake = FakeDeployment(replicas=1)
    with fake.serve() as url:
        result = run_script(write_kubeconfig(tmp_path / "kubeconfig", url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.history == [3, 1] and fake.ready_count == 1
    assert "backend-service: 3 Ready endpoints" in result.stdout and "PASSED" in result.stdout


def test_pods_that_never_become_ready_fail_and_are_scaled_back(tmp_path):
    fake = FakeDeployment(replicas=1, max_ready=2)
    with fake.serve() as url:
        result = run_script(write_kubeconfig(tmp_path / "kubeconfig", url), "--timeout", "2")
    assert result.returncode == 1
    assert "backend-service has 2 Ready endpoints, wanted 3 within 2s" in result.stdout
    assert fake.history == [3, 1], "the original replica count is restored after a failure"


def test_refuses_a_remote_context(tmp_path):
    fake = FakeDeployment()
    with fake.serve() as url:
        result = run_script(write_kubeconfig(tmp_path / "kubeconfig", url, context="prod-eu"))
    assert result.returncode == 1 and 'kubectl context "prod-eu" is not a local cluster' in result.stdout
    assert fake.requests == []
