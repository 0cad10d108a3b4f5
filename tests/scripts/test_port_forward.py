"""port-forward.sh against a fake kubectl: both forwards, restarts on drop, Ctrl-C stops both."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from taskpilot_dev.paths import REPO_ROOT


def forward_calls(result):
    return [c for c in result.calls if "port-forward" in c["argv"]]


def test_dropped_forwards_are_restarted_then_given_up(world):
    world.running_minikube(release=True)
    result = world.run("port-forward.sh", "--max-restarts", "2", "--frontend-port", "39791", "--backend-port", "39792")
    assert result.returncode == 1
    targets = [c["argv"][-2] + " " + c["argv"][-1] for c in forward_calls(result)]
    frontend = targets.count("svc/frontend-service 39791:80")
    backend = targets.count("svc/backend-service 39792:80")
    assert frontend + backend == len(targets)
    # the first supervisor to give up (after 1 start + 2 restarts) ends the script and its partner
    assert max(frontend, backend) == 3 and 1 <= min(frontend, backend) <= 3
    assert all(c["context"] == "minikube" for c in forward_calls(result))
    assert "forward dropped (restart 1); restarting in 1s" in result.stderr
    assert "dropped 3 time(s); giving up" in result.stderr


def process_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # a zombie waiting for its reaper is gone too


def start_in_a_terminal(argv, env):
    """Start a script as an interactive shell starts a foreground job: its own process group and the
    default SIGINT disposition. A test runner started in the background (CI, `cmd &`, nohup) ignores
    SIGINT, and an ignored signal is inherited: bash then cannot trap INT at all ("signals ignored upon
    entry to the shell cannot be trapped"), so Ctrl-C would be lost whatever the script does."""
    return subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.fixture(params=["default", "ignored"])
def runner_sigint(request):
    """The test runner's own SIGINT disposition: default (a terminal) or ignored (a background CI job)."""
    if request.param == "default":
        yield request.param
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield request.param
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_both_forwards(world, runner_sigint):
    world.running_minikube(release=True)
    world.state["port_forward_seconds"] = 60
    world.save()
    process = start_in_a_terminal([str(REPO_ROOT / "port-forward.sh")], world.env())
    deadline = time.monotonic() + 30
    forwards = []
    while time.monotonic() < deadline and len(forwards) < 2:
        time.sleep(0.2)
        forwards = [c for c in world.calls() if "port-forward" in c["argv"]]
    assert len(forwards) == 2, "both forwards should have started"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "port forwards stopped" in stdout
    assert "Frontend: http://localhost:39781" in stdout and "Backend:  http://localhost:39782" in stdout
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(process_gone(f["pid"]) for f in forwards):
        time.sleep(0.2)
    assert all(process_gone(f["pid"]) for f in forwards), "kubectl port-forward children must not outlive the script"


def test_busy_local_port_is_reported(world):
    world.running_minikube(release=True)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = world.run("port-forward.sh", "--frontend-port", str(port))
    assert result.returncode == 1
    assert f"localhost:{port} is already in use" in result.stderr
    assert forward_calls(result) == []


def test_without_a_cluster_says_to_run_setup(world):
    result = world.run("port-forward.sh")
    assert result.returncode == 1
    assert "kube context 'minikube' not found" in result.stderr
    assert "./setup.sh" in result.stderr
    assert forward_calls(result) == []


def test_non_numeric_port_is_rejected(world):
    result = world.run("port-forward.sh", "--frontend-port", "http")
    assert result.returncode == 2
    assert "--frontend-port needs a number" in result.stderr
    assert os.path.exists(REPO_ROOT / "port-forward.sh")
