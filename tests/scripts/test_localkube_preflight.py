"""`./dev/kube.sh up` names a stopped Docker engine before it starts anything, instead of failing halfway."""

from __future__ import annotations

import os
from pathlib import Path

from taskpilot_dev.localkube.components import missing_host_tools


def _docker_answering(tmp_path: Path, exit_code: int) -> str:
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    fake.chmod(0o755)
    return f"{tmp_path}{os.pathsep}{os.environ['PATH']}"


def test_a_stopped_engine_is_a_missing_prerequisite(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _docker_answering(tmp_path, 1))
    docker_lines = [line for line in missing_host_tools() if line.startswith("docker:")]
    assert docker_lines == [
        "docker: installed, but no engine answers: start it (`dockerd &` or `systemctl start docker`)"
    ]


def test_a_running_engine_is_not_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _docker_answering(tmp_path, 0))
    assert not [line for line in missing_host_tools() if line.startswith("docker:")]
