"""The real thing: `uvicorn main:app` from backend/ configured only by environment variables."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx

from taskpilot_dev import harness

GRACEFUL_EXIT_CODES = (0, -15)


def _parts_env(database_url: str) -> dict[str, str]:
    """The chart's way: DB_* parts, no DATABASE_URL."""
    url = urlsplit(database_url)
    return {
        "DATABASE_URL": "",
        "DB_HOST": url.hostname or "127.0.0.1",
        "DB_PORT": str(url.port or 5432),
        "DB_NAME": url.path.lstrip("/"),
        "DB_USER": url.username or "",
        "DB_PASSWORD": url.password or "",
    }


def test_uvicorn_from_env_serves_the_api_and_logs_json(database_url):
    backend = harness.start_backend(database_url, env=_parts_env(database_url))
    try:
        with httpx.Client(base_url=backend.url, timeout=10) as http:
            assert http.get("/health").json() == {"status": "ok"}
            assert http.get("/health/ready").status_code == 200
            signup = http.post("/api/auth/signup", json={"email": "proc@example.com", "password": "password123"})
            assert signup.status_code == 201
            token = signup.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "req-42"}
            created = http.post("/api/tasks", json={"title": "from a real server"}, headers=headers)
            assert created.status_code == 201
            task_id = created.json()["id"]
            assert http.patch(f"/api/tasks/{task_id}", json={"completed": True}, headers=headers).json()["completed"]
            assert [t["id"] for t in http.get("/api/tasks", headers=headers).json()] == [task_id]
            assert http.delete(f"/api/tasks/{task_id}", headers=headers).status_code == 204
            assert created.headers["x-instance-id"] == socket.gethostname()
    finally:
        # uvicorn re-raises the SIGTERM it handled after a clean shutdown, hence -15.
        assert backend.stop() in GRACEFUL_EXIT_CODES
    assert "Application shutdown complete" in backend.log()
    request_lines = [
        json.loads(line) for line in backend.log().splitlines() if line.startswith("{") and '"request"' in line
    ]
    request_lines = [entry for entry in request_lines if entry.get("msg") == "request"]
    # Exactly one JSON line per request (the health polling during startup adds some /health lines).
    non_startup = [
        (entry["method"], entry["path"], entry["status"]) for entry in request_lines if entry["path"] != "/health"
    ]
    assert non_startup == [
        ("GET", "/health/ready", 200),
        ("POST", "/api/auth/signup", 201),
        ("POST", "/api/tasks", 201),
        ("PATCH", f"/api/tasks/{task_id}", 200),
        ("GET", "/api/tasks", 200),
        ("DELETE", f"/api/tasks/{task_id}", 204),
    ]
    tagged = [entry for entry in request_lines if entry["request_id"] == "req-42"]
    assert len(tagged) == 4
    for entry in request_lines:
        assert {"method", "path", "status", "duration_ms", "request_id"} <= set(entry)
    assert {k: tagged[0][k] for k in ("method", "path", "status")} == {
        "method": "POST",
        "path": "/api/tasks",
        "status": 201,
    }
    assert all(line.startswith("{") for line in backend.log().splitlines() if "GET /" in line or "POST /" in line)


def test_readiness_is_503_when_database_is_unreachable(database_url):
    closed_port = harness.free_port()
    with harness.backend_server(f"postgresql://nobody:nothing@127.0.0.1:{closed_port}/none") as url:
        assert httpx.get(url + "/health", timeout=10).json() == {"status": "ok"}
        ready = httpx.get(url + "/health/ready", timeout=20)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        # A request that needs the database fails cleanly, as JSON, without a stack trace.
        signup = httpx.post(
            url + "/api/auth/signup", json={"email": "x@example.com", "password": "password123"}, timeout=20
        )
        assert signup.status_code == 503
        assert signup.json() == {"detail": "Service not ready (Database unreachable); retry shortly"}
        assert int(signup.headers["Retry-After"]) > 0


def test_graceful_shutdown_drains_and_finishes_in_flight_requests(database_url):
    backend = harness.start_backend(database_url, env={"SHUTDOWN_DRAIN_SECONDS": "3"})
    host, port = "127.0.0.1", int(backend.url.rsplit(":", 1)[1])
    with httpx.Client(base_url=backend.url, timeout=10) as http:
        token = http.post("/api/auth/signup", json={"email": "drain@example.com", "password": "password123"}).json()[
            "access_token"
        ]
        assert http.get("/health/ready").status_code == 200

    # An in-flight request: headers sent now, body only after SIGTERM.
    body = json.dumps({"title": "finished during shutdown"}).encode()
    in_flight = socket.create_connection((host, port))
    in_flight.sendall(
        (
            f"POST /api/tasks HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
    )
    time.sleep(0.3)
    backend.terminate()

    statuses: list[int] = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not statuses:
        try:
            statuses.append(httpx.get(backend.url + "/health/ready", timeout=2).status_code)
        except httpx.TransportError:
            time.sleep(0.05)
    assert statuses == [503], "readiness must flip to 503 as soon as draining starts"
    assert httpx.get(backend.url + "/health", timeout=2).status_code == 200  # still alive while draining

    in_flight.sendall(body)
    response = _read_http_response(in_flight)
    assert response.startswith(b"HTTP/1.1 201"), response[:200]
    assert b"finished during shutdown" in response

    assert backend.process.wait(timeout=30) in GRACEFUL_EXIT_CODES
    backend.stop()
    assert "SIGTERM: draining" in backend.log()


def _read_http_response(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    sock.close()
    return head + b"\r\n\r\n" + rest
