"""Fixtures for the dev/ helper tests: real PostgreSQL, the real backend, tiny local stand-ins.

The only fake is the Kubernetes API (fake_k8s.py), as the contracts allow.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (HERE, REPO / "dev"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import harness  # noqa: E402
import testdb  # noqa: E402


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory):
    url, stop = testdb.start_postgres(tmp_path_factory.mktemp("helpers-pg"))
    yield url
    stop()


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
def restartable_postgres(tmp_path_factory):
    pg = RestartablePostgres(tmp_path_factory.mktemp("restartable-pg"))
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def backend_on_restartable_db(restartable_postgres):
    url = harness.create_database(restartable_postgres.admin_url)
    harness.migrate(url)
    with harness.backend_server(url) as base_url:
        yield base_url, url


@contextlib.contextmanager
def http_server(handler_class):
    """Serve handler_class on 127.0.0.1 (free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PageHandler(BaseHTTPRequestHandler):
    """Answers GET / with a small HTML page (stands in for `next dev` where no frontend is built)."""

    status = 200

    def do_GET(self):  # noqa: N802
        body = b"<!doctype html><title>TaskPilot AI</title>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def page_url():
    with http_server(PageHandler) as url:
        yield url


def closed_port_url() -> str:
    """A URL nothing listens on."""
    return f"http://127.0.0.1:{harness.free_port()}"
