"""The production frontend build's /api relay under hostile requests, against a stub backend that records
what reaches it. What the unit tests (frontend/tests/proxy.test.ts) cannot show: Next.js's own decoding
and request handling around the relay (it answered 500 for `/api/%ff` and TRACE, and double-decoded).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from taskpilot_dev import harness
from taskpilot_dev.fakes.pages import http_server


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_DELETE = do_TRACE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def stub_backend() -> Iterator[str]:
    with http_server(_Recorder) as url:
        yield url


@pytest.fixture(scope="module")
def frontend(stub_backend: str) -> Iterator[str]:
    with harness.frontend_server(stub_backend) as url:
        yield url


def _request(
    base_url: str, method: str, path: str, headers: dict[str, str] | None = None, source: str | None = None
) -> tuple[int, dict, bytes]:
    """One request, from the loopback address `source` when given (the socket peer the frontend sees)."""
    bind = (source, 0) if source else None
    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=15, source_address=bind)
    try:
        connection.request(method, path, headers=headers or {})  # the path goes out exactly as written
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_path_is_decoded_once(frontend):
    _Recorder.seen.clear()
    status, _, _ = _request(frontend, "GET", "/api/t%2561sks")
    assert status == 200
    assert _Recorder.seen[-1]["path"] == "/api/t%2561sks"  # not /api/tasks


@pytest.mark.parametrize("path", ["/api/%ff", "/api/%", "/api/tasks%ff", "/api/tasks/%e9"])
def test_malformed_percent_encoding_is_400_and_never_relayed(frontend, path):
    _Recorder.seen.clear()
    status, _, body = _request(frontend, "GET", path)
    assert status == 400, body
    assert json.loads(body) == {"detail": "Malformed percent-encoding in the API path"}
    assert _Recorder.seen == []


@pytest.mark.parametrize("path", ["/api/tasks", "/"])
def test_trace_is_405_and_never_relayed(frontend, path):
    _Recorder.seen.clear()
    status, headers, body = _request(frontend, "TRACE", path)
    assert status == 405, body
    assert headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert json.loads(body) == {"detail": "Method Not Allowed"}
    assert _Recorder.seen == []


def test_a_clients_forwarding_headers_do_not_reach_the_backend(frontend):
    _Recorder.seen.clear()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"}
    _request(frontend, "GET", "/api/tasks", forged)
    seen = {name.lower(): value for name, value in _Recorder.seen[-1]["headers"].items()}
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == urlsplit(frontend).netloc


def test_only_a_trusted_proxys_forwarding_headers_are_passed_on(stub_backend):
    """One trust decision for every forwarding header: the socket peer must be in TRUSTED_PROXIES."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example", "X-Forwarded-For": "198.51.100.7"}
    ingress, client = "127.0.0.9", "127.0.0.10"
    with harness.frontend_server(stub_backend, env={"TRUSTED_PROXIES": f"{ingress}/32"}) as relay:
        _Recorder.seen.clear()
        _request(relay, "GET", "/api/tasks", forwarded, source=ingress)
        _request(relay, "GET", "/api/tasks", forwarded, source=client)
    from_ingress, from_client = (
        {name.lower(): value for name, value in seen["headers"].items()} for seen in _Recorder.seen
    )
    assert (from_ingress["x-forwarded-proto"], from_ingress["x-forwarded-host"]) == ("https", "app.example")
    assert from_ingress["x-forwarded-for"] == "198.51.100.7"
    assert (from_client["x-forwarded-proto"], from_client["x-forwarded-host"]) == ("http", urlsplit(relay).netloc)
    assert from_client["x-forwarded-for"] == client
