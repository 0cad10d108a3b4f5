"""Cluster acceptance: pods Ready, DNS, the front door, persistence, scaling, zero-drop rolling restart.

Needs the current kube context (or E2E_KUBE_CONTEXT) with TaskPilot in namespace taskpilot; every
test here skips with one reason otherwise (CI's cluster tier sets E2E_REQUIRE_CLUSTER=1, so there
it fails instead). HTTP goes through the app's front door (see `app_url`), and the load of the
rolling restart straight through the backend Service, so kube-proxy alone balances it and no proxy
retries a failed request. Tests run in file order and leave the replica counts as they found them.
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


def test_front_door_serves_pages_and_proxies_the_api(app_url):
    page = httpx.get(f"{app_url}/", timeout=30, follow_redirects=True)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    health = httpx.get(f"{app_url}/api/health", timeout=30)
    assert health.status_code == 200
    assert health.headers.get("X-Instance-Id"), "answered by a backend process, through the frontend's proxy"


def test_tasks_survive_postgresql_pod_deletion(cluster, app_url, report):
    user = api.signup(app_url, "persist")
    titles = [f"persisted {n}" for n in range(3)]
    for title in titles:
        assert (
            httpx.post(f"{app_url}/api/tasks", json={"title": title}, headers=user.headers, timeout=30).status_code
            == 201
        )
    backends_before = {(p.name, p.restarts) for p in ready_pods(cluster, APP_LABELS["backend"])}
    new_pod = replace_pod(cluster, single_ready_pod(cluster, APP_LABELS["postgresql"]).name)
    wait_statefulset_ready(cluster, POSTGRES_STATEFULSET)

    def tasks_back():
        response = httpx.get(f"{app_url}/api/tasks", headers=user.headers, timeout=10)
        return response.json() if response.status_code == 200 else None

    tasks = wait_for(tasks_back, timeout=180, interval=2, what="the API to answer after the PostgreSQL restart")
    assert sorted(t["title"] for t in tasks) == titles
    # The same backend pods serve again, none restarted: they reconnect to the new database pod.
    assert {(p.name, p.restarts) for p in ready_pods(cluster, APP_LABELS["backend"])} == backends_before
    login = httpx.post(f"{app_url}/api/auth/login", json={"email": user.email, "password": api.PASSWORD}, timeout=30)
    assert login.status_code == 200
    report(f"persistence: PostgreSQL pod replaced by {new_pod.name}; {len(tasks)} tasks and the account survived")


@pytest.fixture(scope="module")
def scaled_to_three(cluster, chart, report):
    before = {name: cluster.deployment_status(name).desired for name in (BACKEND_DEPLOYMENT, FRONTEND_DEPLOYMENT)}
    pods_before = {p.name for p in ready_pods(cluster, APP_LABELS["backend"])}
    method = scale_app(cluster, chart, backend=3, frontend=3)
    report(f"scaling: {method} backend/frontend {before[BACKEND_DEPLOYMENT]}/{before[FRONTEND_DEPLOYMENT]} -> 3/3")
    try:
        for deployment in before:
            wait_rolled_out(cluster, deployment)
        yield method, pods_before
    finally:
        scale_app(cluster, chart, backend=before[BACKEND_DEPLOYMENT], frontend=before[FRONTEND_DEPLOYMENT])
        for deployment in before:
            wait_rolled_out(cluster, deployment)


def test_scaling_gives_three_ready_endpoints_each(cluster, scaled_to_three):
    backend = wait_ready_endpoints(cluster, "backend-service", 3)
    frontend = wait_ready_endpoints(cluster, "frontend-service", 3)
    assert len(set(backend)) == 3 and len(set(frontend)) == 3
    # Only the replica count changed: the pods that served before keep serving (no needless rollout).
    _, pods_before = scaled_to_three
    assert pods_before <= set(backend)


def test_requests_spread_over_the_backend_pods(cluster, backend_service_url, scaled_to_three, report):
    pods = {p.name for p in ready_pods(cluster, APP_LABELS["backend"])}
    spread = instance_spread(f"{backend_service_url}/api/health", requests=60)
    report(f"spread: {spread.summary()}")
    assert spread.failures == []
    # X-Instance-Id names each backend process (an opaque id in prod): one per pod.
    assert len(spread.instances) == len(pods) == 3, "every backend pod should have answered some of 60 requests"


def test_real_time_across_two_backend_pods(cluster, scaled_to_three, pod_forwards):
    first, second = sorted(p.name for p in ready_pods(cluster, APP_LABELS["backend"]))[:2]
    writer, listener = pod_forwards(first, 8000), pod_forwards(second, 8000)
    writer_id, listener_id = (
        httpx.get(f"{url}/health", timeout=10).headers["X-Instance-Id"] for url in (writer, listener)
    )
    assert writer_id != listener_id
    user = api.signup(writer, "podsse")
    with EventStream(listener, headers=user.headers) as stream:
        ready = stream.wait_for(lambda e: e.get("type") == "ready")
        assert ready["instance"] == listener_id
        task = httpx.post(f"{writer}/api/tasks", json={"title": "pod to pod"}, headers=user.headers, timeout=10)
        assert task.headers["X-Instance-Id"] == writer_id
        stream.wait_for(lambda e: e.get("type") == "created" and e.get("task_id") == task.json()["id"])


def test_rolling_restart_under_load_drops_nothing(cluster, backend_service_url, scaled_to_three, report):
    writer = api.signup(backend_service_url, "rollout")
    result, load = load_while(
        lambda: rolling_restart(cluster, BACKEND_DEPLOYMENT, APP_LABELS["backend"]),
        f"{backend_service_url}/api/tasks",
        clients=LOAD_CLIENTS,
        headers=writer.headers,
        write_url=f"{backend_service_url}/api/tasks",
    )
    report(f"rolling restart under {LOAD_CLIENTS} clients: {load.summary()}")
    report(f"rolling restart replaced {sorted(result.old_pods)} with {sorted(result.new_pods)}")
    assert load.total > LOAD_CLIENTS, "the load loop should have kept running through the rollout"
    assert load.failures == [], f"{len(load.failures)} of {load.total} requests failed: {load.failures[:5]}"
    # Each process has its own id: more ids than old pods means new pods took traffic before the end.
    assert len(load.instances) > len(result.old_pods), "new pods should have taken traffic before the end"
