"""taskpilot_dev.cluster + rollouts + load against the fake Kubernetes API on 127.0.0.1 and the fake
kubectl/helm: every call the cluster tests and Tilt's checks make, without a cluster."""

from __future__ import annotations

import http.server
import itertools
import subprocess
import sys
import threading

import pytest

from taskpilot_dev import rollouts as ops
from taskpilot_dev.cluster import RESTARTED_AT_ANNOTATION, ClusterApi, ClusterError, choose_context, connect
from taskpilot_dev.fakes.kube_api import FakeApiServer
from taskpilot_dev.load import instance_spread, load_while

FAST = {"timeout": 15}


def argv_of(clis, tool):
    return [c["argv"] for c in clis.calls() if c["tool"] == tool]


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
    pod = ops.single_ready_pod(kube, ops.APP_LABELS["postgresql"])
    new = ops.replace_pod(kube, pod.name, poll=0.05, **FAST)
    assert new.name == "taskpilot-ai-postgresql-0" and new.uid != old_uid and new.ready
    assert fake.paths("DELETE") == ["/api/v1/namespaces/taskpilot/pods/taskpilot-ai-postgresql-0"]
    assert ops.wait_statefulset_ready(kube, ops.POSTGRES_STATEFULSET, **FAST).ready == 1


def test_replacement_ignores_the_terminating_pod_and_a_not_ready_successor(kube, fake):
    fake.termination_delay, fake.ready_delay = 0.5, 0.8
    seen = []
    old_uid = fake.pods[ops.POSTGRES_POD].uid
    new = ops.replace_pod(kube, ops.POSTGRES_POD, timeout=10, poll=0.05, log=seen.append)
    assert new.uid != old_uid and new.ready
    assert seen[0].startswith("deleted pod taskpilot/taskpilot-ai-postgresql-0") and "is back and Ready" in seen[1]


def test_a_pod_that_never_comes_back_names_the_state_it_was_stuck_in(kube, fake):
    fake.recreate = False
    with pytest.raises(ClusterError, match=r"not back and Ready within 1s \(pod gone, waiting for the StatefulSet"):
        ops.replace_pod(kube, ops.POSTGRES_POD, timeout=1, poll=0.05)


def test_single_ready_pod_refuses_an_ambiguous_selector(kube, fake):
    fake.workloads["taskpilot-ai-backend"].replicas = 2
    ops.wait_ready_endpoints(kube, "backend-service", 2, poll=0.1, **FAST)
    with pytest.raises(ClusterError, match="expected exactly one ready pod"):
        ops.single_ready_pod(kube, ops.APP_LABELS["backend"])
    assert fake.paths("DELETE") == []


def test_scaling_uses_helm_upgrade_reuse_values_when_a_release_exists(kube, fake, clis):
    method = ops.scale_app(kube, "helm/taskpilot-ai", backend=3, frontend=3)
    assert method == "helm upgrade --reuse-values"
    assert argv_of(clis, "helm")[-1] == [
        "--kube-context",
        "minikube",
        "upgrade",
        "taskpilot-ai",
        "helm/taskpilot-ai",
        "--namespace",
        "taskpilot",
        "--reuse-values",
        "--set",
        "backend.replicas=3",
        "--set",
        "frontend.replicas=3",
    ]
    assert len(ops.wait_ready_endpoints(kube, "backend-service", 3, poll=0.1, **FAST)) == 3
    assert len(ops.wait_ready_endpoints(kube, "frontend-service", 3, poll=0.1, **FAST)) == 3
    assert ops.wait_rolled_out(kube, ops.BACKEND_DEPLOYMENT, **FAST).ready == 3


def test_scaling_without_a_release_patches_the_scale_subresource(kube, fake, clis):
    clis.state["contexts"]["minikube"]["releases"] = {}
    clis.save()
    method = ops.scale_app(kube, "helm/taskpilot-ai", backend=2, frontend=3)
    assert method.startswith("kubectl scale")
    assert fake.paths("PATCH") == [
        "/apis/apps/v1/namespaces/taskpilot/deployments/taskpilot-ai-backend/scale",
        "/apis/apps/v1/namespaces/taskpilot/deployments/taskpilot-ai-frontend/scale",
    ]
    assert len(ops.wait_ready_endpoints(kube, "backend-service", 2, poll=0.1, **FAST)) == 2
    assert not any("upgrade" in argv for argv in argv_of(clis, "helm"))


def test_scale_and_back_restores_the_replicas_also_after_a_failure(kube, fake):
    fake.workloads["taskpilot-ai-backend"].max_ready = 2  # the third pod never passes its probe
    with pytest.raises(ClusterError, match="backend-service has 2 Ready endpoints, wanted 3 within 1s"):
        ops.scale_and_back(kube, ops.BACKEND_DEPLOYMENT, "backend-service", 3, timeout=1, poll=0.1)
    scales = [
        body["spec"]["replicas"]
        for method, path, body in fake.requests
        if method == "PATCH" and path.endswith("/scale")
    ]
    assert scales == [3, 1]


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


def test_dns_lookup_runs_in_the_pod_with_pinned_context(kube, clis):
    answers = ops.resolve_in_cluster(kube, "taskpilot-ai-backend-1", ["backend-service", "nope-service"])
    argv = argv_of(clis, "kubectl")[-1]
    assert clis.calls()[-1]["context"] == "minikube"
    assert argv[:5] == ["--context", "minikube", "-n", "taskpilot", "exec"]
    assert argv[5:8] == ["taskpilot-ai-backend-1", "--", "python"]
    assert answers["backend-service"].startswith("10.96.")
    assert answers["nope-service"].startswith("FAILED")


def test_dns_lookup_script_really_resolves_names():
    """The one-liner sent into the pod works (run here with localhost and an unknown name)."""
    command = ops.dns_lookup_command(["localhost", "no-such-host.invalid"])
    output = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(" ", 1) for line in output.splitlines())
    assert lines["localhost"] in ("127.0.0.1", "::1")
    assert lines["no-such-host.invalid"].startswith("FAILED")


def test_connect_explains_why_there_is_no_cluster(tmp_path, monkeypatch, fake):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    kube, reason = connect(None, "taskpilot")
    assert kube is None and reason.startswith("no kubeconfig")

    with FakeApiServer(fake) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "config", context="minikube")))
        kube, reason = connect(None, "taskpilot")
        assert reason == "" and kube.context == "minikube"
        kube, reason = connect(None, "elsewhere")
        assert kube is None and "has no namespace 'elsewhere'" in reason
    kube, reason = connect(None, "taskpilot")  # server gone
    assert kube is None and "is unreachable" in reason


def test_disruptive_tests_never_pick_a_remote_current_context(tmp_path, monkeypatch, fake):
    assert choose_context(["prod-eks", "minikube"], "prod-eks") == ("minikube", "")
    assert choose_context(["kind-ci"], "kind-ci") == ("kind-ci", "")
    context, reason = choose_context(["prod-eks"], "prod-eks")
    assert context is None and "set E2E_KUBE_CONTEXT=prod-eks" in reason
    with FakeApiServer(fake) as server:  # a reachable cluster that has the namespace: still not chosen
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "config", context="prod-eks")))
        kube, reason = connect(None, "taskpilot")
        assert kube is None and "is not a local cluster" in reason
        assert fake.requests == []
        kube, reason = connect("prod-eks", "taskpilot")  # explicit E2E_KUBE_CONTEXT: allowed
        assert reason == "" and kube.context == "prod-eks"


def test_checks_refuse_a_remote_context_before_any_request(tmp_path, fake):
    with FakeApiServer(fake) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "config", context="gke_acme_prod")
        with pytest.raises(ClusterError, match='context "gke_acme_prod" is not a local cluster; it deletes a pod'):
            ClusterApi.local(None, "taskpilot", kubeconfig=str(kubeconfig), why="it deletes a pod")
        kube = ClusterApi.local(None, "taskpilot", kubeconfig=str(kubeconfig), allow_contexts=["gke_acme_prod"])
        assert fake.requests == []
        assert kube.read_pod(ops.POSTGRES_POD).ready


def test_port_forward_reports_the_local_url_and_stops(kube, clis):
    clis.state["port_forward_seconds"] = 60
    clis.save()
    forward = kube.port_forward("pod/taskpilot-ai-backend-1", 8000)
    try:
        assert forward.url.startswith("http://127.0.0.1:") and not forward.url.endswith(":")
        (call,) = [c for c in clis.calls() if "port-forward" in c["argv"]]
        assert call["context"] == "minikube"
        assert call["argv"][2:] == [
            "-n",
            "taskpilot",
            "port-forward",
            "--address",
            "127.0.0.1",
            "pod/taskpilot-ai-backend-1",
            ":8000",
        ]
    finally:
        forward.close()
    assert forward.process.poll() is not None


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    """Answers as one of three 'pods'; every 7th request fails with 503."""

    counter = itertools.count(1)

    def log_message(self, *args):
        pass

    def do_GET(self):
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
