"""What a prod backend tells strangers: a process in prod mode started with the image's own uvicorn flags
(docker/Dockerfile.backend CMD) names no host and no server software, and serves no API docs unless
API_DOCS turns them on. Dev (and the in-process document the tests and the frontend types use) keeps them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from taskpilot_dev import harness

DOC_PATHS = ("/docs", "/redoc", "/openapi.json")


@pytest.fixture(scope="module")
def prod_server(database_url: str) -> Iterator[str]:
    with harness.backend_server(database_url, env={"APP_ENV": "prod"}, server_args=harness.image_server_args()) as url:
        yield url


def test_prod_responses_name_no_host_and_no_server_software(prod_server):
    host = socket.gethostname()
    with httpx.Client(base_url=prod_server, timeout=10) as http:
        responses = [http.get("/health"), http.get("/api/tasks"), http.get("/no/such/route")]
        instance_ids = {response.headers["x-instance-id"] for response in responses}
    for response in responses:
        assert "server" not in response.headers, response.headers
        assert host not in response.headers.values(), response.headers
    (instance_id,) = instance_ids  # still one stable id per process, so replicas can be told apart
    assert instance_id and instance_id != host


def test_prod_serves_no_api_docs(prod_server):
    with httpx.Client(base_url=prod_server, timeout=10) as http:
        for path in DOC_PATHS:
            assert http.get(path).status_code == 404, path


def test_api_docs_value_turns_them_on_and_the_document_is_always_built():
    secret = "x" * 40
    prod = create_app(Settings(app_env="prod", jwt_secret=secret))
    assert "/api/tasks" in prod.openapi()["paths"]  # what the type-parity test and the contract tier read
    assert not {route.path for route in prod.routes if hasattr(route, "path")} & set(DOC_PATHS)
    opted_in = create_app(Settings(app_env="prod", jwt_secret=secret, api_docs=True))
    dev = create_app(Settings(app_env="dev", jwt_secret=secret))
    for application in (opted_in, dev):
        assert set(DOC_PATHS) <= {route.path for route in application.routes if hasattr(route, "path")}
