"""Chart-in-containers tier: the Helm chart rendered as users deploy it, its pods run as Docker
containers with exactly the rendered settings (taskpilot_dev.chart_pods / chart_runner).

Tests marked `docker` skip with one reason when no Docker engine answers; the translation checks
(helm only) always run. Images are built once per session and shared with tests/images
(taskpilot_dev.docker.app_image).
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from taskpilot_dev import chart_pods as cp
from taskpilot_dev import docker as dk
from taskpilot_dev.chart_runner import ChartRunner
from taskpilot_dev.paths import REPO_ROOT

HERE = Path(__file__).parent
_skip_reason: list[str | None] = []


def pytest_collection_modifyitems(config, items):
    ours = [i for i in items if i.get_closest_marker("docker") and Path(str(i.fspath)).parent == HERE]
    if ours and not _skip_reason:
        _skip_reason.append(dk.engine_unavailable_reason())
    if ours and _skip_reason[0]:
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=_skip_reason[0]))


def app_images(target: str | None) -> dict[str, str]:
    return {component: dk.app_image(component, target) for component in ("backend", "frontend")}


@pytest.fixture(scope="module")
def prod_stack():
    runner = ChartRunner(cp.plan(cp.prod_objects(app_images(None))), prefix=f"tp-prod-{secrets.token_hex(3)}")
    runner.up_seconds = runner.up()
    yield runner
    runner.down()


@pytest.fixture(scope="module")
def dev_stack():
    runner = ChartRunner(cp.plan(cp.dev_objects(app_images("dev"))), prefix=f"tp-dev-{secrets.token_hex(3)}")
    runner.up_seconds = runner.up(order=cp.TILT_ORDER)
    yield runner
    runner.down()


@pytest.fixture(scope="module")
def debug_stack():
    """`tilt up -- --debug`: the dev render with the chart's debug block on, as the Tiltfile sets it."""
    objects = cp.render(cp.DEV_VALUES, (*cp.image_values(app_images("dev")), "debug.enabled=true"))
    runner = ChartRunner(cp.plan(objects), prefix=f"tp-debug-{secrets.token_hex(3)}")
    runner.up_seconds = runner.up(order=cp.TILT_ORDER)
    yield runner
    runner.down()


@pytest.fixture(scope="session")
def setup_venv() -> Path:
    """A virtualenv made by ./setup.sh's own install_python_helpers (cached while its inputs match):
    Tilt's checks run with that interpreter, so they must need nothing else."""
    root = REPO_ROOT
    venv = root / ".cache" / "setup-venv"
    function = subprocess.run(
        ["sed", "-n", "/^install_python_helpers() {/,/^}/p", str(root / "setup.sh")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pip" in function, "setup.sh no longer defines install_python_helpers(); update this fixture"
    inputs = function + (root / "dev/requirements.txt").read_text() + (root / "dev/toolkit/pyproject.toml").read_text()
    stamp = hashlib.sha256(inputs.encode()).hexdigest()[:16]
    if (venv / ".stamp").exists() and (venv / ".stamp").read_text() == stamp:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    script = f'set -euo pipefail; source dev/lib/common.sh; VENV_DIR="{venv}"\n{function}\ninstall_python_helpers'
    proc = subprocess.run(["bash", "-c", script], cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"setup.sh's venv step failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    (venv / ".stamp").write_text(stamp)
    return venv
