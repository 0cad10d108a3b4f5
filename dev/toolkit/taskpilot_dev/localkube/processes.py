"""Start, watch and stop the cluster's component processes.

Each component runs detached in its own session with its log in <state>/logs/<name>.log and its
pid in <state>/run/<name>.pid, so `status` and `down` find it from any later shell.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .layout import Layout


class ComponentError(RuntimeError):
    """A component did not come up; the message carries the tail of its log."""


@dataclass
class Component:
    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 90.0


def log_tail(layout: Layout, name: str, lines: int = 25) -> str:
    path = layout.logs / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _pid_file(layout: Layout, name: str) -> Path:
    return layout.run / f"{name}.pid"


def pid_of(layout: Layout, name: str) -> int | None:
    """The component's pid while it runs, else None."""
    try:
        pid = int(_pid_file(layout, name).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    # A zombie (or a reused pid) is not our component.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return None if stat.rsplit(")", 1)[1].split()[0] == "Z" else pid


def start(layout: Layout, component: Component) -> None:
    """Start the component unless it runs already, and wait until it is ready."""
    if pid_of(layout, component.name) is None:
        layout.logs.mkdir(parents=True, exist_ok=True)
        layout.run.mkdir(parents=True, exist_ok=True)
        with open(layout.logs / f"{component.name}.log", "ab") as log:
            process = subprocess.Popen(
                component.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **component.env},
            )
        _pid_file(layout, component.name).write_text(str(process.pid))
    deadline = time.monotonic() + component.timeout
    while time.monotonic() < deadline:
        if pid_of(layout, component.name) is None:
            raise ComponentError(
                f"{component.name} exited during start-up; last lines of {layout.logs}/{component.name}.log:\n"
                + log_tail(layout, component.name)
            )
        if component.ready():
            return
        time.sleep(0.3)
    raise ComponentError(
        f"{component.name} was not ready within {component.timeout:.0f} s; last lines of its log:\n"
        + log_tail(layout, component.name)
    )


def stop(layout: Layout, name: str, grace: float = 20.0) -> bool:
    """SIGTERM the component's whole session, then SIGKILL what is left; True when it was running."""
    pid = pid_of(layout, name)
    _pid_file(layout, name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
