"""The cluster tests' code paths (taskpilot_e2e/kube.py + cluster.py + load.py) against a fake
Kubernetes API server on 127.0.0.1 and a fake kubectl/helm runner — no cluster needed."""

from __future__ import annotations

import http.server
import itertools
import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from taskpilot_e2e import cluster as ops
from taskpilot_e2e.fake_kube import FakeApiServer, FakeCluster
from taskpilot_e2e.kube import RESTARTED_AT_ANNOTATION, ClusterApi, choose_context, connect
from taskpilot_e2e.load import instance_spread, load_while

FAST = {"timeout": 15}


@pytest.fixture
def fake():
    return FakeCluster(ready_delay=0.3, termination_delay=0.2)


@pytest.fixture
def kube(fake):
    server = FakeApiServer(fake)
    yield ClusterApi(server.api_client(), context="minikube", namespace="taskpilot", runner=fake.run_command,
                     kubectl="kubectl", helm="helm")
    server.close()


def paths(fake, method):
    return [path for m, path, _ in fake.requests if m == method]


def test_healthy_release_has_no_pod_problems_and_job_pods_are_ignored(kube):
    assert ops.pod_problems(kube) == []


def test_unready_and_missing_pods_are_reported_by_name(kube, fake):
    fake.stuck = True
    fake.workloads["taskpilot-ai-frontend"].replicas = 0
    for name in [n for n, p in fake.pods.items() if p.app == "taskpilot-frontend"]:
        del fake.pods[name]
    fake.workloads["taskpilot-ai-backend"].replicas = 2  # second backend pod never becomes Ready
    problems = ops.pod_problems(kube)
    assert "no pod for frontend (app=taskpilot-frontend)" in problems
    assert any(p.startswith("taskpilot-ai-backend-") and "ready=False" in p for p in problems)


def test_replace_pod_deletes_the_postgresql_pod_and_waits_for_a_new_ready_one(kube, fake):
    old_uid = fake.pods["taskpilot-ai-postgresql-0"].uid
    new = ops.replace_pod(kube, ops.APP_LABELS["postgresql"], **FAST)
    assert new.name == "taskpilot-ai-postgresql-0" and new.uid != old_uid and new.ready
    assert paths(fake, "DELETE") == ["/api/v1/namespaces/taskpilot/pods/taskpilot-ai-postgresql-0"]
    assert ops.wait_statefulset_ready(kube, ops.POSTGRES_STATEFULSET, **FAST).ready == 1


def test_replace_pod_refuses_an_ambiguous_selector(kube, fake):
    fake.workloads["taskpilot-ai-backend"].replicas = 2
    ops.wait_ready_endpoints(kube, "backend-service", 2, **FAST)
    with pytest.raises(AssertionError, match="expected exactly one ready pod"):
        ops.replace_pod(kube, ops.APP_LABELS["backend"], **FAST)
    assert paths(fake, "DELETE") == []


def test_scaling_uses_helm_upgrade_reuse_values_when_a_release_exists(kube, fake):
    method = ops.scale_app(kube, "helm/taskpilot-ai", backend=3, frontend=3)
    assert method == "helm upgrade --reuse-values"
    assert fake.commands[-1] == ["helm", "--kube-context", "minikube", "upgrade", "taskpilot-ai", "helm/taskpilot-ai",
                                 "--namespace", "taskpilot", "--reuse-values",
                                 "--set", "backend.replicas=3", "--set", "frontend.replicas=3"]
    assert len(ops.wait_ready_endpoints(kube, "backend-service", 3, **FAST)) == 3
    assert len(ops.wait_ready_endpoints(kube, "frontend-service", 3, **FAST)) == 3
    assert ops.wait_rolled_out(kube, ops.BACKEND_DEPLOYMENT, **FAST).ready == 3


def test_scaling_without_a_release_patches_the_scale_subresource(kube, fake):
    fake.helm_release = False
    method = ops.scale_app(kube, "helm/taskpilot-ai", backend=2, frontend=3)
    assert method.startswith("kubectl scale")
    assert paths(fake, "PATCH") == ["/apis/apps/v1/namespaces/taskpilot/deployments/taskpilot-ai-backend/scale",
                                    "/apis/apps/v1/namespaces/taskpilot/deployments/taskpilot-ai-frontend/scale"]
    assert len(ops.wait_ready_endpoints(kube, "backend-service", 2, **FAST)) == 2
    assert not any("upgrade" in c for c in fake.commands)


def test_rolling_restart_stamps_the_template_and_waits_for_all_new_pods(kube, fake):
    fake.workloads["taskpilot-ai-backend"].replicas = 3
    ops.wait_rolled_out(kube, ops.BACKEND_DEPLOYMENT, **FAST)
    result = ops.rolling_restart(kube, ops.BACKEND_DEPLOYMENT, ops.APP_LABELS["backend"], **FAST)
    assert len(result.old_pods) == 3 and len(result.new_pods) == 3
    assert not result.old_pods & result.new_pods
    assert result.status.rolled_out
    (patch,) = [body for m, _, body in fake.requests if m == "PATCH"]
    assert RESTARTED_AT_ANNOTATION in patch["spec"]["template"]["metadata"]["annotations"]


def test_a_stuck_rollout_times_out_naming_the_deployment(kube, fake):
    fake.stuck = True
    with pytest.raises(TimeoutError, match="deployment/taskpilot-ai-backend to replace all pods"):
        ops.rolling_restart(kube, ops.BACKEND_DEPLOYMENT, ops.APP_LABELS["backend"], timeout=2)


def test_dns_lookup_runs_in_the_pod_with_pinned_context(kube, fake):
    answers = ops.resolve_in_cluster(kube, "taskpilot-ai-backend-1", ["backend-service", "nope-service"])
    argv = fake.commands[-1]
    assert argv[:7] == ["kubectl", "--context", "minikube", "-n", "taskpilot", "exec", "taskpilot-ai-backend-1"]
    assert argv[7:9] == ["--", "python"]
    assert answers["backend-service"].startswith("10.96.")
    assert answers["nope-service"].startswith("FAILED")


def test_dns_lookup_script_really_resolves_names():
    """The one-liner sent into the pod works (run here with localhost and an unknown name)."""
    import subprocess

    command = ops.dns_lookup_command(["localhost", "no-such-host.invalid"])
    output = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(" ", 1) for line in output.splitlines())
    assert lines["localhost"] in ("127.0.0.1", "::1")
    assert lines["no-such-host.invalid"].startswith("FAILED")


def test_connect_explains_why_there_is_no_cluster(tmp_path, monkeypatch, fake):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    kube, reason = connect(None, "taskpilot")
    assert kube is None and reason.startswith("no kubeconfig")

    server = FakeApiServer(fake)
    try:
        config = tmp_path / "config"
        config.write_text(textwrap.dedent(f"""\
            apiVersion: v1
            kind: Config
            current-context: minikube
            clusters: [{{name: minikube, cluster: {{server: "{server.url}"}}}}]
            users: [{{name: minikube, user: {{token: fake}}}}]
            contexts: [{{name: minikube, context: {{cluster: minikube, user: minikube}}}}]
        """))
        monkeypatch.setenv("KUBECONFIG", str(config))
        kube, reason = connect(None, "taskpilot")
        assert reason == "" and kube.context == "minikube"
        kube, reason = connect(None, "elsewhere")
        assert kube is None and "has no namespace 'elsewhere'" in reason
    finally:
        server.close()
    kube, reason = connect(None, "taskpilot")  # server gone
    assert kube is None and "is unreachable" in reason


def test_disruptive_tests_never_pick_a_remote_current_context(tmp_path, monkeypatch, fake):
    assert choose_context(["prod-eks", "minikube"], "prod-eks") == ("minikube", "")
    assert choose_context(["kind-ci"], "kind-ci") == ("kind-ci", "")
    context, reason = choose_context(["prod-eks"], "prod-eks")
    assert context is None and "set E2E_KUBE_CONTEXT=prod-eks" in reason
    server = FakeApiServer(fake)  # a reachable cluster that has the namespace: still not chosen
    try:
        config = tmp_path / "config"
        config.write_text(textwrap.dedent(f"""\
            apiVersion: v1
            kind: Config
            current-context: prod-eks
            clusters: [{{name: prod, cluster: {{server: "{server.url}"}}}}]
            users: [{{name: prod, user: {{token: fake}}}}]
            contexts: [{{name: prod-eks, context: {{cluster: prod, user: prod}}}}]
        """))
        monkeypatch.setenv("KUBECONFIG", str(config))
        kube, reason = connect(None, "taskpilot")
        assert kube is None and "is not a local cluster" in reason
        assert fake.requests == []
        kube, reason = connect("prod-eks", "taskpilot")  # explicit E2E_KUBE_CONTEXT: allowed
        assert reason == "" and kube.context == "prod-eks"
    finally:
        server.close()


def test_port_forward_reports_the_local_url_and_stops(tmp_path, kube):
    fake_kubectl = tmp_path / "kubectl"
    fake_kubectl.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, time, pathlib
        pathlib.Path("{tmp_path}/argv").write_text(" ".join(sys.argv[1:]))
        print("Forwarding from 127.0.0.1:45123 -> 8000", flush=True)
        time.sleep(60)
    """))
    fake_kubectl.chmod(0o755)
    kube.kubectl_bin = str(fake_kubectl)
    forward = kube.port_forward("pod/taskpilot-ai-backend-1", 8000)
    try:
        assert forward.url == "http://127.0.0.1:45123"
        argv = (tmp_path / "argv").read_text()
        assert argv == "--context minikube -n taskpilot port-forward --address 127.0.0.1 pod/taskpilot-ai-backend-1 :8000"
    finally:
        forward.close()
    assert forward.process.poll() is not None


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Answers as one of three 'pods'; every 7th request fails with 503."""

    counter = itertools.count(1)

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        n = next(self.counter)
        status = 503 if n % 7 == 0 else 200
        self.send_response(status)
        self.send_header("X-Instance-Id", f"pod-{n % 3}")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def flaky_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/health"
    server.shutdown()
    server.server_close()


def test_load_counts_every_request_and_every_failure(flaky_url):
    stop_after = threading.Event()
    result, report = load_while(lambda: stop_after.wait(2.0) or "done", flaky_url, clients=5)
    assert result == "done"
    assert report.total > 20
    assert len(report.failures) == pytest.approx(report.total / 7, abs=2)
    assert all(f == "HTTP 503" for f in report.failures)
    assert set(report.instances) == {"pod-0", "pod-1", "pod-2"}
    assert f"{report.total} requests, {len(report.failures)} failed" in report.summary()


def test_spread_sees_each_instance(flaky_url):
    spread = instance_spread(flaky_url, requests=12)
    assert spread.total == 12 and set(spread.instances) == {"pod-0", "pod-1", "pod-2"}
    assert os.path.basename(Path(flaky_url).name) == "health"
