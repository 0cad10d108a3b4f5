"""Run the repo's shell scripts against fake CLIs (tests/scripts/fake_cli.py) in a sealed PATH.

PATH = <fake bin> : <system bin>, where <system bin> holds symlinks to every executable of the real
PATH except the faked tools, so the real kubectl/docker on this machine can never be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_CLI = Path(__file__).with_name("fake_cli.py")
FAKED_TOOLS = ("minikube", "kubectl", "helm", "docker", "tilt", "python3")
HIDDEN_FROM_SYSTEM = {*FAKED_TOOLS, "python", "pip", "pip3", "tilt", "kind", "pip3.11"}


@pytest.fixture(scope="session")
def system_bin(tmp_path_factory) -> Path:
    """Symlinks to the real PATH's executables minus the faked tools."""
    target = tmp_path_factory.mktemp("sysbin")
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        if not directory or not Path(directory).is_dir() or ".venv" in directory:
            continue
        for entry in Path(directory).iterdir():
            name = entry.name
            if name in HIDDEN_FROM_SYSTEM or name.startswith("python3") or (target / name).exists():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                (target / name).symlink_to(entry)
    return target


MUTATING = {
    "minikube": {"start", "stop", "delete", "addons", "image"},
    "kubectl": {"create", "delete", "apply", "wait", "port-forward", "rollout", "scale", "patch"},
    "helm": {"upgrade", "install", "uninstall", "rollback"},
    "docker": {"build", "push", "rm", "rmi"},
    "tilt": {"up", "ci", "down"},
    "python3": {"-m"},
    "venv-pip": {"install"},
}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict]
    state: dict

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def mutations(self) -> list[str]:
        """The calls that change something, as 'tool argv...' strings, in order."""
        return [" ".join([c["tool"], *c["argv"]]) for c in self.calls
                if any(word in MUTATING.get(c["tool"], ()) for word in c["argv"])]

    def argvs(self, tool: str | None = None) -> list[list[str]]:
        return [c["argv"] for c in self.calls if tool is None or c["tool"] == tool]


@dataclass
class CliWorld:
    root: Path
    system_bin: Path
    state: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fake_bin = self.root / "fakebin"
        self.fake_bin.mkdir()
        for tool in FAKED_TOOLS:
            self.add_tool(tool)
        self.state.update(minikube="absent", current_context=None, contexts={}, docker_daemon=True,
                          docker_ncpu=8, docker_mem_bytes=16 * 1024**3, port_forward_seconds=0.2, fail=[])

    # -- arranging the world -------------------------------------------------
    def add_tool(self, tool: str) -> None:
        path = self.fake_bin / tool
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{FAKE_CLI}" {tool} "$@"\n')
        path.chmod(0o755)

    def remove_tool(self, tool: str) -> None:
        (self.fake_bin / tool).unlink()

    def running_minikube(self, *, namespace: bool = False, release: bool = False) -> None:
        self.state["minikube"] = "running"
        namespaces = ["default", "kube-system"] + (["taskpilot"] if namespace or release else [])
        releases = {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"} if release else {}
        self.state["contexts"]["minikube"] = {"namespaces": namespaces, "releases": releases}
        self.state["current_context"] = "minikube"

    def production_context(self, *, current: bool = True) -> None:
        """A real-looking remote cluster that must never be touched."""
        self.state["contexts"]["prod-eks"] = {
            "namespaces": ["default", "taskpilot"],
            "releases": {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"},
        }
        if current:
            self.state["current_context"] = "prod-eks"

    # -- acting ----------------------------------------------------------------
    def env(self, extra: dict | None = None) -> dict:
        env = {
            "PATH": f"{self.fake_bin}{os.pathsep}{self.system_bin}",
            "HOME": str(self.root / "home"),
            "FAKE_STATE": str(self.root / "state.json"),
            "FAKE_LOG": str(self.root / "calls.jsonl"),
            "VENV_DIR": str(self.root / "venv"),
            "LANG": "C.UTF-8",
            "FRONTEND_PORT": "39781",
            "BACKEND_PORT": "39782",
        }
        env.update(extra or {})
        return env

    def run(self, script: str, *args: str, env: dict | None = None, input: str | None = None,
            timeout: float = 60) -> Result:
        (self.root / "home").mkdir(exist_ok=True)
        state_file = self.root / "state.json"
        state_file.write_text(json.dumps(self.state))
        log = self.root / "calls.jsonl"
        log.write_text("")
        completed = subprocess.run(
            [str(REPO_ROOT / script), *args], cwd=REPO_ROOT, env=self.env(env), input=input,
            capture_output=True, text=True, timeout=timeout,
        )
        self.state = json.loads(state_file.read_text())
        calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        return Result(completed.returncode, completed.stdout, completed.stderr, calls, self.state)


@pytest.fixture
def world(tmp_path, system_bin) -> CliWorld:
    return CliWorld(root=tmp_path, system_bin=system_bin)


