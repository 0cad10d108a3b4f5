"""A PostgreSQL restart (its pod replaced on the same volume) costs no request once it is back.

Every idle pooled connection breaks at once when the server restarts. The account/assistant
sessions pre-ping; the hot-path pool notices the server's goodbye waiting on the socket at checkout
and replaces the connection, so clients never see the stale ones (before: one 503 per connection).
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from taskpilot_dev import harness
from taskpilot_dev.api import TaskApi, unique_email
from taskpilot_dev.postgres import PostgresServer

pytestmark = pytest.mark.slow
CONCURRENT_READERS = 8  # enough to grow the hot-path pool past its startup size


@pytest.fixture
def private_postgres():
    # Directly under /tmp: the postgres user must reach it (pytest's basetemp is mode 0700).
    base = Path(tempfile.mkdtemp(prefix="taskpilot-restart-pg-"))
    server = PostgresServer(base)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_no_request_fails_after_a_database_restart(private_postgres):
    url = harness.create_database(private_postgres.url)
    harness.migrate(url)
    with harness.backend_server(url) as base_url, TaskApi(base_url) as api:
        user = api.signup(unique_email("restart"))
        api.create_task("survives the restart")

        def list_tasks(_: int) -> int:
            return httpx.get(f"{base_url}/api/tasks", headers=user.headers, timeout=10).status_code

        with ThreadPoolExecutor(CONCURRENT_READERS) as readers:
            assert set(readers.map(list_tasks, range(CONCURRENT_READERS * 4))) == {200}

        private_postgres.stop()
        private_postgres.start()

        statuses = [api.request("GET", "/api/tasks").status_code for _ in range(CONCURRENT_READERS + 2)]
        assert statuses == [200] * len(statuses)
        # Accounts go through the other pool: the first login after the restart already works.
        assert (
            api.request("POST", "/api/auth/login", json={"email": user.email, "password": user.password}).status_code
            == 200
        )
        assert [t["title"] for t in api.list_tasks()] == ["survives the restart"]
