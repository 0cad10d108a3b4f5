"""The production render (values.yaml + values-prod.yaml, prod images) running as containers:
readiness, the request path through the Services, durability, real-time across replicas, drains."""

from __future__ import annotations

import time

import httpx
import pytest

from taskpilot_dev import api, load, sse
from taskpilot_dev import docker as dk

pytestmark = pytest.mark.docker

BACKEND, FRONTEND, POSTGRES = "taskpilot-ai-backend", "taskpilot-ai-frontend", "taskpilot-ai-postgresql"


def test_every_workload_is_ready_with_the_rendered_replicas(prod_stack):
    for workload in prod_stack.chart.workloads:
        pods = [p for p in prod_stack.pods if p.workload is workload]
        if workload.kind == "Job":
            assert [p.phase for p in pods] == ["Succeeded"], prod_stack.events
        else:
            ready = prod_stack.ready_pods(workload.name)
            assert len(ready) == workload.replicas, (workload.name, prod_stack.events)
            assert all(p.restarts == 0 for p in pods), (workload.name, [p.exit_codes for p in pods], prod_stack.events)
    assert len(prod_stack.ready_pods(BACKEND)) >= 2  # more than one replica behind backend-service


def test_pods_run_with_the_rendered_security_context(prod_stack):
    backend = prod_stack.ready_pods(BACKEND)[0]
    info = dk.inspect(backend.name)
    host = info["HostConfig"]
    assert info["Config"]["User"] == "1000:1000" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == backend.container.memory and host["NanoCpus"] == int(backend.container.cpus * 1e9)
    writable = prod_stack.exec(backend, "sh", "-c", "touch /app/x 2>&1; touch /tmp/x && stat -c '%g %a' /tmp")
    assert b"Read-only file system" in writable.stdout and writable.stdout.split()[-2:] == [b"1000", b"2777"]


def test_services_answer_under_their_cluster_names(prod_stack):
    frontend = prod_stack.ready_pods(FRONTEND)[0]
    script = (
        "Promise.all(process.argv.slice(1).map(u => fetch(u).then(r => r.status)))"
        ".then(s => console.log(s.join(' '))).catch(e => { console.error(e); process.exit(1) })"
    )
    urls = [
        "http://backend-service/health",
        "http://backend-service.taskpilot.svc.cluster.local/health",
        "http://frontend-service/",
        "http://frontend-service.taskpilot.svc.cluster.local/",
    ]
    out = prod_stack.exec(frontend, "node", "-e", script, *urls)
    assert out.stdout.split() == [b"200"] * 4, out.stderr
    backend = prod_stack.ready_pods(BACKEND)[0]
    probe = "import socket,sys; [socket.create_connection((h, 5432), timeout=5).close() for h in sys.argv[1:]]"
    out = prod_stack.exec(
        backend, "python", "-c", probe, "postgresql-service", "postgresql-service.taskpilot.svc.cluster.local"
    )
    assert out.returncode == 0, out.stderr


def test_signup_and_tasks_through_frontend_backend_and_postgresql_services(prod_stack):
    with api.TaskApi(prod_stack.service_url("frontend-service")) as client:
        email = api.unique_email("chart")
        signup = client.http.post("/api/auth/signup", json={"email": email, "password": api.PASSWORD})
        assert signup.status_code == 201, signup.text
        assert "secure" in signup.headers["set-cookie"].lower()  # prod: the session cookie is HTTPS-only
        client.login(email)  # bearer from here on: plain HTTP carries no Secure cookie
        task = client.create_task("through the services", "chart")
        assert [t["id"] for t in client.list_tasks()] == [task["id"]]
        assert client.update_task(task["id"], completed=True)["completed"] is True
    stored = psql(prod_stack, f"select title, completed from tasks where id = {task['id']}")
    assert stored == "through the services|t"


def psql(stack, sql: str) -> str:
    pod = stack.ready_pods(POSTGRES)[0]
    out = stack.exec(pod, "sh", "-c", 'psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc "$0"', sql)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode().strip()


def test_rows_survive_a_kill_9_of_the_database_container(prod_stack):
    client = api.TaskApi(prod_stack.service_url("frontend-service"))
    client.signup(api.unique_email("chart-durable"))
    ids = [client.create_task(f"durable {i}")["id"] for i in range(5)]
    database = prod_stack.ready_pods(POSTGRES)[0]
    volume = next(
        m["Name"] for m in dk.inspect(database.name)["Mounts"] if m["Destination"] == "/var/lib/postgresql/data"
    )
    dk.docker("kill", "-s", "KILL", database.name)
    # the kubelet recreates the container (restartPolicy Always, back-off) on the same claim
    deadline = time.monotonic() + 90
    while not (database.restarts and database.ready) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert database.ready and database.restarts == 1, prod_stack.events
    assert (
        next(m["Name"] for m in dk.inspect(database.name)["Mounts"] if m["Destination"] == "/var/lib/postgresql/data")
        == volume
    )
    assert psql(prod_stack, f"select count(*) from tasks where id in ({','.join(map(str, ids))})") == "5"
    # Readiness checks the database, so both backends left the Service meanwhile (the frontend answers
    # 502 with no endpoints, the backend 503 while its pool reconnects); they return within a period.
    prod_stack.wait_ready(BACKEND, timeout=60)
    deadline = time.monotonic() + 30
    while (resp := client.request("GET", "/api/tasks")).status_code in (502, 503) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert resp.status_code == 200, f"{resp.status_code} {resp.text[:300]}"
    assert sorted(t["id"] for t in resp.json()) == sorted(ids)
    client.close()


def _live_stream(url: str, headers: dict, within: float = 30) -> sse.EventStream:
    """An event stream that said `ready`. Like the browser, reopen it while the backend answers 503:
    after a database restart its listener reconnects on its own schedule (a few seconds)."""
    deadline = time.monotonic() + within
    while True:
        stream = sse.EventStream(url, headers=headers)
        try:
            stream.wait_for(lambda e: e.get("type") == "ready", timeout=10)
            return stream
        except AssertionError:
            stream.close()
            if stream.status != 503 or time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_an_event_written_on_one_replica_reaches_a_subscriber_on_the_other(prod_stack):
    listener, writer = prod_stack.ready_pods(BACKEND)[:2]
    user = api.signup(writer.url(), "chart-realtime")
    with _live_stream(listener.url(), user.headers) as stream:
        task = httpx.post(
            f"{writer.url()}/api/tasks", json={"title": "across replicas"}, headers=user.headers, timeout=30
        ).json()
        created = stream.wait_for(lambda e: e.get("type") == "created" and e.get("task_id") == task["id"])
        assert created["task"]["title"] == "across replicas"


def test_draining_a_backend_replica_under_load_fails_no_request(prod_stack):
    base = prod_stack.service_url("backend-service")
    user = api.signup(base, "chart-drain")
    victim = prod_stack.ready_pods(BACKEND)[0]

    def drain():
        time.sleep(2)  # the clients are spread over both replicas first
        started = time.monotonic()
        replacement = prod_stack.delete_pod(victim)  # out of the endpoints, preStop sleep, SIGTERM, drain
        drained_in = time.monotonic() - started
        prod_stack.wait_ready(BACKEND, timeout=120)
        time.sleep(2)
        return replacement, drained_in

    (replacement, drained_in), report = load.load_while(drain, f"{base}/api/tasks", clients=8, headers=user.headers)
    assert report.failures == [], report.summary() + f": {report.failures[:5]}"
    assert report.total > 50 and len(report.instances) >= 2, report.summary()
    assert replacement.ready and victim.phase == "Deleted"
    assert victim.exit_code == 0 and drained_in < victim.workload.pod.grace_seconds, (
        f"the replica did not stop cleanly on SIGTERM (exit {victim.exit_code} after {drained_in:.1f}s)"
    )
