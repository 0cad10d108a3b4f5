"""Cluster acceptance: pods Ready, DNS, ingress, persistence, scaling, zero-drop rolling restart.

Needs the current kube context (or E2E_KUBE_CONTEXT) with TaskPilot in namespace taskpilot; every
test here skips with one reason otherwise. HTTP goes through the ingress (a forward to the
ingress-nginx controller unless E2E_INGRESS_URL is set), because it balances over all backend pods
and keeps working while pods are replaced. The logic lives in taskpilot_dev.rollouts and is tested
against the fake API in tests/toolkit. Tests run in file order and leave the replica
counts as they found them.
"""

from __future__ import annotations

import httpx
import pytest

from taskpilot_dev import api
from taskpilot_dev.load import instance_spread, load_while
from taskpilot_dev.rollouts import (
    APP_LABELS,
    BACKEND_DEPLOYMENT,
    FRONTEND_DEPLOYMENT,
    POSTGRES_STATEFULSET,
    SERVICES,
    pod_problems,
    ready_pods,
    replace_pod,
    resolve_in_cluster,
    rolling_restart,
    scale_app,
    single_ready_pod,
    wait_for,
    wait_ready_endpoints,
    wait_rolled_out,
    wait_statefulset_ready,
)
from taskpilot_dev.sse import EventStream

pytestmark = pytest.mark.cluster
LOAD_CLIENTS = 20


def test_all_pods_running_and_ready(cluster):
    assert pod_problems(cluster) == []


def test_services_resolve_through_cluster_dns(cluster):
    backend_pod = ready_pods(cluster, APP_LABELS["backend"])[0].name
    names = [*SERVICES, f"backend-service.{cluster.namespace}.svc.cluster.local"]
    answers = resolve_in_cluster(cluster, backend_pod, names)
    assert set(answers) == set(names)
    failed = {name: answer for name, answer in answers.items() if answer.startswith("FAILED")}
    assert failed == {}


def test_ingress_routes_frontend_and_api(ingress):
    page = httpx.get(f"{ingress}/", timeout=30, follow_redirects=True)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    health = httpx.get(f"{ingress}/api/health", timeout=30)
    assert health.status_code == 200
    assert health.headers.get("X-Instance-Id", "").startswith(BACKEND_DEPLOYMENT)


def test_tasks_survive_postgresql_pod_deletion(cluster, ingress, report):
    user = api.signup(ingress, "persist")
    titles = [f"persisted {n}" for n in range(3)]
    for title in titles:
        assert (
            httpx.post(f"{ingress}/api/tasks", json={"title": title}, headers=user.headers, timeout=30).status_code
            == 201
        )
    new_pod = replace_pod(cluster, single_ready_pod(cluster, APP_LABELS["postgresql"]).name)
    wait_statefulset_ready(cluster, POSTGRES_STATEFULSET)

    def tasks_back():
        response = httpx.get(f"{ingress}/api/tasks", headers=user.headers, timeout=10)
        return response.json() if response.status_code == 200 else None

    tasks = wait_for(tasks_back, timeout=180, interval=2, what="the API to answer after the PostgreSQL restart")
    assert sorted(t["title"] for t in tasks) == titles
    login = httpx.post(f"{ingress}/api/auth/login", json={"email": user.email, "password": api.PASSWORD}, timeout=30)
    assert login.status_code == 200
    report(f"persistence: PostgreSQL pod replaced by {new_pod.name}; {len(tasks)} tasks and the account survived")


@pytest.fixture(scope="module")
def scaled_to_three(cluster, chart, report):
    before = {name: cluster.deployment_status(name).desired for name in (BACKEND_DEPLOYMENT, FRONTEND_DEPLOYMENT)}
    method = scale_app(cluster, chart, backend=3, frontend=3)
    report(f"scaling: {method} backend/frontend {before[BACKEND_DEPLOYMENT]}/{before[FRONTEND_DEPLOYMENT]} -> 3/3")
    try:
        for deployment in before:
            wait_rolled_out(cluster, deployment)
        yield method
    finally:
        scale_app(cluster, chart, backend=before[BACKEND_DEPLOYMENT], frontend=before[FRONTEND_DEPLOYMENT])
        for deployment in before:
            wait_rolled_out(cluster, deployment)


def test_scaling_gives_three_ready_endpoints_each(cluster, scaled_to_three):
    backend = wait_ready_endpoints(cluster, "backend-service", 3)
    frontend = wait_ready_endpoints(cluster, "frontend-service", 3)
    assert len(set(backend)) == 3 and len(set(frontend)) == 3


def test_requests_spread_over_the_backend_pods(cluster, ingress, scaled_to_three, report):
    pods = {p.name for p in ready_pods(cluster, APP_LABELS["backend"])}
    spread = instance_spread(f"{ingress}/api/health", requests=60)
    report(f"spread: {spread.summary()}")
    assert spread.failures == []
    assert set(spread.instances) == pods, "every backend pod should have answered some of 60 requests"


def test_real_time_across_two_backend_pods(cluster, scaled_to_three, pod_forwards):
    first, second = sorted(p.name for p in ready_pods(cluster, APP_LABELS["backend"]))[:2]
    writer, listener = pod_forwards(first, 8000), pod_forwards(second, 8000)
    user = api.signup(writer, "podsse")
    with EventStream(listener, headers=user.headers) as stream:
        ready = stream.wait_for(lambda e: e.get("type") == "ready")
        assert ready["instance"] == second
        task = httpx.post(f"{writer}/api/tasks", json={"title": "pod to pod"}, headers=user.headers, timeout=10)
        assert task.headers["X-Instance-Id"] == first
        stream.wait_for(lambda e: e.get("type") == "created" and e.get("task_id") == task.json()["id"])


def test_rolling_restart_under_load_drops_nothing(cluster, ingress, scaled_to_three, report):
    result, load = load_while(
        lambda: rolling_restart(cluster, BACKEND_DEPLOYMENT, APP_LABELS["backend"]),
        f"{ingress}/api/health",
        clients=LOAD_CLIENTS,
    )
    report(f"rolling restart under {LOAD_CLIENTS} clients: {load.summary()}")
    report(f"rolling restart replaced {sorted(result.old_pods)} with {sorted(result.new_pods)}")
    assert load.total > LOAD_CLIENTS, "the load loop should have kept running through the rollout"
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:5]}"
    assert set(load.instances) & result.new_pods, "new pods should have taken traffic before the end"
