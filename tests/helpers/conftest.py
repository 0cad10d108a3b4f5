"""Fixtures for the dev/ helper tests: real PostgreSQL, the real backend, tiny local stand-ins.

The only fake is the Kubernetes API (taskpilot_dev.fakes.kube_api), as the contracts allow.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from taskpilot_dev import harness
from taskpilot_dev.fakes.pages import PageHandler, http_server
from taskpilot_dev.postgres import PostgresServer


@pytest.fixture(scope="session")
def backend_url(migrated_database):
    """The real backend (uvicorn) on a fresh, migrated database."""
    with harness.backend_server(migrated_database()) as base_url:
        yield base_url


class RestartablePostgres(PostgresServer):
    """A private PostgreSQL whose restarts keep data and port, like a StatefulSet pod with its PVC
    (never the shared TEST_DATABASE_URL server: that one must not be restarted)."""

    def __init__(self, base: Path):
        super().__init__(base)
        self.admin_url = self.start()
        self.restarts = 0

    def restart(self) -> None:
        self.stop()
        self.start()
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
