"""`tilt up -- --debug` on a live cluster with the real Tilt: a debugger can attach to both apps
through Tilt's own port forwards, and the Tilt UI's "Reset database" button empties the data.

Runs `tilt` itself, like test_tilt_cycle.py, and stops it afterwards (the stack stays up).
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config

from taskpilot_dev import api
from taskpilot_dev.rollouts import wait_for, wait_stack_deployed

pytestmark = [pytest.mark.cluster, pytest.mark.tilt_cycle]
BACKEND, FRONTEND = "http://localhost:8000", "http://localhost:3000"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def debug_session(cluster, tilt, tmp_path_factory):
    with tilt.up(tmp_path_factory.mktemp("tilt") / "tilt-debug.log", "--debug"):
        wait_stack_deployed(cluster)
        wait_for(
            lambda: _answers(f"{BACKEND}/health") and _answers(f"{FRONTEND}/"),
            timeout=600, interval=2, what="Tilt's forwards to the debug stack",
        )  # fmt: skip
        yield tilt


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


def test_debugpy_answers_dap_initialize_on_5678(debug_session):
    arguments = {"adapterID": "debugpy", "clientID": "taskpilot-tests", "pathFormat": "path"}
    response = wait_for(lambda: _try_dap(5678, arguments), timeout=120, interval=2, what="debugpy on localhost:5678")
    assert response["success"] is True, response
    assert "supportsConfigurationDoneRequest" in response["body"]
    assert _answers(f"{BACKEND}/health"), "the app under the debugger still serves"


def _try_dap(port: int, arguments: dict) -> dict | None:
    try:
        return dap_request(port, "initialize", arguments)
    except OSError:
        return None


def _inspector_targets() -> list[dict] | None:
    try:
        return httpx.get("http://127.0.0.1:9229/json/list", timeout=20).json() or None
    except httpx.HTTPError:  # the forward may be up before `next dev` opened the inspector
        return None


def test_node_inspector_is_on_the_process_that_runs_the_app_on_9229(debug_session):
    targets = wait_for(_inspector_targets, timeout=120, interval=2, what="the Node inspector on localhost:9229")
    assert all(t["webSocketDebuggerUrl"].startswith("ws://") for t in targets), targets
    assert any("start-server" in t.get("url", "") + t.get("title", "") for t in targets), targets


def _click(tilt, button: str) -> None:
    """What the Tilt UI does on a click: stamp the UIButton's status through Tilt's own API server."""
    tilt_config = next(p for p in (Path.home() / ".tilt-dev/config", Path.home() / ".windmill/config") if p.exists())
    api_client = config.new_client_from_config(config_file=str(tilt_config), context=f"tilt-{tilt.port}")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    client.CustomObjectsApi(api_client).patch_cluster_custom_object_status(
        "tilt.dev", "v1alpha1", "uibuttons", button, {"status": {"lastClickedAt": now}}
    )


def test_reset_database_button_empties_the_data(debug_session):
    user = api.signup(BACKEND, "reset")
    with api.TaskApi(BACKEND) as session:
        session.login(user.email, api.PASSWORD)
        session.create_task("gone after the reset")
    _click(debug_session, "reset-database")

    def user_gone() -> bool | None:
        try:
            response = httpx.post(
                f"{BACKEND}/api/auth/login", json={"email": user.email, "password": api.PASSWORD}, timeout=10
            )
        except httpx.HTTPError:
            return None
        return True if response.status_code == 401 else None

    wait_for(user_gone, timeout=600, interval=3, what="the reset to drop the account")
    fresh = api.signup(BACKEND, "after-reset")
    with api.TaskApi(BACKEND) as session:
        session.login(fresh.email, api.PASSWORD)
        assert session.list_tasks() == []
