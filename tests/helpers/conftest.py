"""Fixtures for the dev/ helper tests: real PostgreSQL, the real backend, tiny local stand-ins.

The only fake is the Kubernetes API (helpers_fake_k8s.py), as the contracts allow.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (HERE, REPO / "dev"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import harness  # noqa: E402
from helper_servers import PageHandler, http_server  # noqa: E402
import testdb  # noqa: E402


@pytest.fixture(scope="session")
def admin_url():
    """TEST_DATABASE_URL (./dev/test.sh) or a private throwaway PostgreSQL under /tmp."""
    base = Path(tempfile.mkdtemp(prefix="taskpilot-helpers-pg-"))  # see restartable_postgres
    url, stop = testdb.start_postgres(base)
    yield url
    stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def backend_url(admin_url):
    """The real backend (uvicorn) on a fresh, migrated database."""
    url = harness.create_database(admin_url)
    harness.migrate(url)
    with harness.backend_server(url) as base_url:
        yield base_url


class RestartablePostgres:
    """A private PostgreSQL whose restarts keep data and port, like a StatefulSet pod with its PVC."""

    def __init__(self, base: Path):
        self.base = base
        saved = os.environ.pop("TEST_DATABASE_URL", None)  # the shared server must never be restarted
        try:
            self.admin_url, self._stop = testdb.start_postgres(base)
        finally:
            if saved is not None:
                os.environ["TEST_DATABASE_URL"] = saved
        self.port = urlparse(self.admin_url).port
        self.restarts = 0

    def stop(self) -> None:
        testdb.stop_postgres(self.base)

    def start(self) -> None:
        data_dir = self.base / "pgdata"
        options = f"-p {self.port} -k {self.base} {testdb.SERVER_OPTIONS}"
        result = testdb._run_as_owner(
            [testdb.pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(self.base / "postgres.log"),
             "-o", options, "-w", "-t", "60", "start"], data_dir)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL restart failed: {result.stderr}")
        self.restarts += 1


@pytest.fixture(scope="module")
def restartable_postgres():
    # Directly under /tmp, not pytest's basetemp: every pytest session on the machine resets
    # /tmp/pytest-of-<user> to mode 0700, which would lock the postgres user out mid-test.
    base = Path(tempfile.mkdtemp(prefix="taskpilot-restartable-pg-"))
    pg = RestartablePostgres(base)
    yield pg
    pg.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def backend_on_restartable_db(restartable_postgres):
    url = harness.create_database(restartable_postgres.admin_url)
    harness.migrate(url)
    with harness.backend_server(url) as base_url:
        yield base_url, url


@pytest.fixture
def page_url():
    """A local page server standing in for `next dev` (the healthcheck only needs GET / -> 200)."""
    with http_server(PageHandler) as url:
        yield url
