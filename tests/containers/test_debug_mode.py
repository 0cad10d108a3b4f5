"""`tilt up -- --debug` on the dev render: a debugger can attach to both apps, which still serve.

Tilt forwards these container ports to localhost; the runner publishes them the same way."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

pytestmark = pytest.mark.docker
BACKEND, FRONTEND = "taskpilot-ai-backend", "taskpilot-ai-frontend"


def dap_request(port: int, command: str, arguments: dict, timeout: float = 30) -> dict:
    """One Debug Adapter Protocol request; returns its response (events before it are skipped)."""
    body = json.dumps({"seq": 1, "type": "request", "command": command, "arguments": arguments}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                buffer += conn.recv(65536) or pytest.fail(f"debug adapter closed the connection: {buffer!r}")
            header, buffer = buffer.split(b"\r\n\r\n", 1)
            length = next(
                int(line.split(b":", 1)[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(buffer) < length:
                buffer += conn.recv(65536) or pytest.fail("debug adapter closed the connection mid-message")
            message, buffer = json.loads(buffer[:length]), buffer[length:]
            if message.get("type") == "response" and message.get("request_seq") == 1:
                return message


def test_debugpy_answers_the_dap_initialize_handshake(debug_stack):
    pod = debug_stack.ready_pods(BACKEND)[0]
    response = dap_request(
        pod.host_ports[5678],
        "initialize",
        {"adapterID": "debugpy", "clientID": "taskpilot-tests", "pathFormat": "path"},
    )
    assert response["success"] is True, response
    assert response["command"] == "initialize" and "supportsConfigurationDoneRequest" in response["body"]
    # The app under the debugger still serves.
    assert httpx.get(pod.url() + "/health", timeout=20).status_code == 200


def test_node_inspector_is_on_the_process_that_runs_the_app(debug_stack):
    pod = debug_stack.ready_pods(FRONTEND)[0]
    targets = httpx.get(f"http://127.0.0.1:{pod.host_ports[9229]}/json/list", timeout=20).json()
    assert targets and all(t["webSocketDebuggerUrl"].startswith("ws://") for t in targets), targets
    assert any("start-server" in t.get("url", "") for t in targets), targets
    assert httpx.get(pod.url() + "/", timeout=120).status_code == 200
