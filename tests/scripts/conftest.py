"""Run the repo's shell scripts against the fake CLIs (taskpilot_dev.fakes.cli) in a sealed PATH.

PATH = <fake bin> : <system bin>, where <system bin> holds symlinks to every executable of the real
PATH except the faked tools, so the real kubectl/docker on this machine can never be reached.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskpilot_dev.fakes.cli import FAKED_TOOLS, FakeCliSet
from taskpilot_dev.paths import REPO_ROOT

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
        return [
            " ".join([c["tool"], *c["argv"]])
            for c in self.calls
            if any(word in MUTATING.get(c["tool"], ()) for word in c["argv"])
        ]

    def argvs(self, tool: str | None = None) -> list[list[str]]:
        return [c["argv"] for c in self.calls if tool is None or c["tool"] == tool]


class CliWorld(FakeCliSet):
    """The fake tools first on a sealed PATH; `run` executes a repo script in that world."""

    def __init__(self, root: Path, system_bin: Path) -> None:
        super().__init__(root)
        self.system_bin = system_bin

    @property
    def fake_bin(self) -> Path:
        return self.bin_dir

    def production_context(self, *, current: bool = True) -> None:
        """A real-looking remote cluster that must never be touched."""
        self.state["contexts"]["prod-eks"] = {
            "namespaces": ["default", "taskpilot"],
            "releases": {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"},
        }
        if current:
            self.state["current_context"] = "prod-eks"

    def env(self, extra: dict | None = None) -> dict:
        return super().env(
            {
                "PATH": f"{self.bin_dir}{os.pathsep}{self.system_bin}",
                "HOME": str(self.root / "home"),
                "VENV_DIR": str(self.root / "venv"),
                "LANG": "C.UTF-8",
                "FRONTEND_PORT": "39781",
                "BACKEND_PORT": "39782",
                **(extra or {}),
            }
        )

    def run(
        self, script: str, *args: str, env: dict | None = None, input: str | None = None, timeout: float = 60
    ) -> Result:
        (self.root / "home").mkdir(exist_ok=True)
        self.save()
        completed = subprocess.run(
            [str(REPO_ROOT / script), *args],
            cwd=REPO_ROOT,
            env=self.env(env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr, self.calls(), self.load())


@pytest.fixture
def world(tmp_path, system_bin) -> CliWorld:
    return CliWorld(tmp_path, system_bin)
