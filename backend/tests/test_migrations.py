"""Alembic migrations on a fresh database: upgrade head, downgrade base, upgrade again."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import psycopg

from app.core.readiness import shipped_revisions
from taskpilot_dev import harness


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_upgrade_downgrade_upgrade(database_admin_url):
    url = harness.create_database(database_admin_url)
    try:
        harness.migrate(url, "0001_users_tasks")
        assert {"users", "tasks", "alembic_version"} <= _tables(url)
        harness.migrate(url)  # head (includes later revisions)
        with psycopg.connect(url) as connection:
            indexes = {
                row[0] for row in connection.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'")
            }
        assert "ix_tasks_user_created" in indexes
        result = harness.alembic(url, "downgrade", "base")
        assert result.returncode == 0, result.stderr
        assert _tables(url) <= {"alembic_version"}
        harness.migrate(url)
        assert {"users", "tasks"} <= _tables(url)
    finally:
        harness.drop_database(database_admin_url, url)


def test_app_never_creates_tables(database_admin_url):
    """An unmigrated database stays empty when the app starts and serves requests; it is not ready."""
    url = harness.create_database(database_admin_url)
    try:
        with harness.backend_server(url) as base_url:
            response = httpx.get(base_url + "/health/ready", timeout=10)
            assert response.status_code == 503
            assert "not migrated" in response.json()["detail"]
        assert _tables(url) == set()
    finally:
        harness.drop_database(database_admin_url, url)


def test_ready_only_at_the_shipped_head_or_newer(database_admin_url):
    url = harness.create_database(database_admin_url)
    head, _ = shipped_revisions()
    try:
        harness.migrate(url, "0002_assistant")
        with harness.backend_server(url) as base_url:
            behind = httpx.get(base_url + "/health/ready", timeout=10)
            assert behind.status_code == 503
            assert head in behind.json()["detail"] and "0002_assistant" in behind.json()["detail"]
            harness.migrate(url)
            assert httpx.get(base_url + "/health/ready", timeout=10).status_code == 200
            # A revision this image does not know came from a newer image (rolling upgrade): stay ready.
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("UPDATE alembic_version SET version_num = 'from_a_newer_image'")
            assert httpx.get(base_url + "/health/ready", timeout=10).status_code == 200
    finally:
        harness.drop_database(database_admin_url, url)


def _assert_not_ready_answer(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.method, response.request.url, response.text)
    assert int(response.headers["Retry-After"]) > 0
    assert set(response.json()) == {"detail"} and "not ready" in response.json()["detail"]


def test_every_api_route_answers_503_until_the_schema_is_at_head(database_admin_url):
    """A client that reaches the pod directly (a port-forward of a pod that is not Ready) gets 503 with
    Retry-After on every API route, never a 500 from a missing table; liveness stays up throughout."""
    url = harness.create_database(database_admin_url)
    try:
        with harness.backend_server(url) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
            operations = [
                (method.upper(), path.replace("{", "").replace("}", ""))  # any value for a path parameter
                for path, item in http.get("/openapi.json").json()["paths"].items()
                for method in item
                if path.startswith("/api/") and path != "/api/health"
            ]
            assert ("POST", "/api/auth/signup") in operations and len(operations) >= 10
            for method, path in [*operations, ("POST", "/mcp")]:
                _assert_not_ready_answer(http.request(method, path, json={}))
            for liveness in ("/health", "/api/health"):
                assert http.get(liveness).status_code == 200
            harness.migrate(url)
            # The gate opens by itself (no readiness probe needed) within its recheck interval.
            deadline = time.monotonic() + 10
            signup = {"email": "early@example.com", "password": "correct-horse-battery"}
            while (answer := http.post("/api/auth/signup", json=signup)).status_code == 503:
                _assert_not_ready_answer(answer)
                assert time.monotonic() < deadline, "the API stayed closed after the migrations"
                time.sleep(0.1)
            assert answer.status_code == 201, answer.text
    finally:
        harness.drop_database(database_admin_url, url)


def test_traffic_is_never_routed_to_a_backend_that_would_fail(database_admin_url):
    """What a Service does during install/upgrade/tilt up: route only while /health/ready says 200.

    The backend starts before its migrations (as with a post-install hook or a Tilt Job). Before the
    schema exists the API answers 503; readiness must never say 200 while that can happen.
    """
    url = harness.create_database(database_admin_url)
    try:
        with harness.backend_server(url) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
            signup = {"password": "correct-horse-battery"}
            _assert_not_ready_answer(http.post("/api/auth/signup", json={**signup, "email": "early@example.com"}))
            migrator = threading.Thread(target=harness.migrate, args=(url,))
            migrator.start()
            outcomes = []
            for number in range(400):
                if http.get("/health/ready").status_code == 200:  # the Service would route this one
                    email = f"routed{number}@example.com"
                    outcomes.append(http.post("/api/auth/signup", json={**signup, "email": email}).status_code)
                    http.cookies.clear()  # each signup is a new visitor, not a cookie-authenticated write
                    if len(outcomes) >= 3:
                        break
                time.sleep(0.02)
            migrator.join()
            assert outcomes == [201, 201, 201]
    finally:
        harness.drop_database(database_admin_url, url)


def test_migrations_run_under_an_advisory_lock(database_admin_url):
    """A second run waits for the lock holder, then finds the schema at head (no colliding CREATEs)."""
    url = harness.create_database(database_admin_url)
    try:
        lock_key = 7_310_452_001
        with psycopg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
            waiting = subprocess.Popen(
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=harness.BACKEND_DIR,
                env=harness.backend_env({"DATABASE_URL": url}),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            time.sleep(3)
            assert waiting.poll() is None, waiting.communicate()[0]
            assert "users" not in _tables(url)
            holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
        output, _ = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, output
        assert {"users", "tasks", "login_failures", "assistant_turns"} <= _tables(url)
    finally:
        harness.drop_database(database_admin_url, url)


def test_concurrent_migrations_on_a_fresh_database_both_succeed(database_admin_url):
    url = harness.create_database(database_admin_url)
    errors: list[Exception] = []

    def migrate() -> None:
        try:
            harness.migrate(url)
        except Exception as error:
            errors.append(error)

    try:
        runs = [threading.Thread(target=migrate) for _ in range(3)]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        assert errors == []
        assert {"users", "tasks", "login_failures", "assistant_turns"} <= _tables(url)
    finally:
        harness.drop_database(database_admin_url, url)
