"""The harness command line the browser tests and the frontend benchmark start servers through:
one JSON line once the server answers, everything torn down when stdin closes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx


def test_backend_answers_after_the_json_line_and_stops_when_stdin_closes(migrated_database, tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskpilot_dev.harness",
            "backend",
            "--database-url",
            migrated_database(),
            "--log-dir",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = json.loads(process.stdout.readline())["url"]
        assert httpx.get(f"{url}/health/ready", timeout=10).status_code == 200
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert list(tmp_path.glob("backend-*.log")), "the server log goes where it was asked to"
    with httpx.Client(timeout=2) as http:
        try:
            http.get(f"{url}/health")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("the backend still answers after the harness was released")


def test_a_backend_that_cannot_start_fails_the_command_with_its_log():
    with socket.socket() as taken:  # uvicorn cannot bind a port something else listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "taskpilot_dev.harness",
                "backend",
                "--database-url",
                "postgresql://x@127.0.0.1:1/x",
                "--port",
                str(taken.getsockname()[1]),
            ],
            input="",
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0 and result.stdout == ""
    assert "exited with" in result.stderr and "address already in use" in result.stderr.lower()
