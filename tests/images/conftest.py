"""Image tier fixtures: build each image once per session, one running stack per session.

Tests marked `docker` skip with one line when no Docker engine answers; the static checks
(hadolint, checkov, secrets baseline) always run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from taskpilot_dev import docker as ds

_SKIP_REASON = None
_REASON_CHECKED = False


def _docker_skip_reason() -> str | None:
    global _SKIP_REASON, _REASON_CHECKED
    if not _REASON_CHECKED:
        _SKIP_REASON = ds.engine_unavailable_reason()
        _REASON_CHECKED = True
    return _SKIP_REASON


def pytest_collection_modifyitems(config, items):
    docker_items = [
        i for i in items if i.get_closest_marker("docker") and Path(str(i.fspath)).parent == Path(__file__).parent
    ]
    if docker_items and (reason := _docker_skip_reason()):
        for item in docker_items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def backend_image() -> str:
    return ds.app_image("backend")


@pytest.fixture(scope="session")
def frontend_image() -> str:
    return ds.app_image("frontend")


@pytest.fixture(scope="session")
def stack(backend_image, frontend_image):
    running = ds.Stack(backend_image=backend_image, frontend_image=frontend_image).up()
    yield running
    running.down()
