"""Image tier fixtures: build each image once per session, one running stack per session.

Tests marked `docker` skip with one line when no Docker engine answers; the static checks
(hadolint, checkov, secrets baseline) always run.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make docker_stack importable

import docker_stack  # noqa: E402

_SKIP_REASON = None
_REASON_CHECKED = False


def _docker_skip_reason() -> str | None:
    global _SKIP_REASON, _REASON_CHECKED
    if not _REASON_CHECKED:
        _SKIP_REASON = docker_stack.engine_unavailable_reason()
        _REASON_CHECKED = True
    return _SKIP_REASON


def pytest_collection_modifyitems(config, items):
    docker_items = [i for i in items if i.get_closest_marker("docker") and Path(str(i.fspath)).parent == Path(__file__).parent]
    if docker_items and (reason := _docker_skip_reason()):
        for item in docker_items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def backend_image() -> str:
    return docker_stack.build_image(docker_stack.BACKEND_DOCKERFILE, docker_stack.BACKEND_TAG)


@pytest.fixture(scope="session")
def frontend_image() -> str:
    return docker_stack.build_image(docker_stack.FRONTEND_DOCKERFILE, docker_stack.FRONTEND_TAG)


@pytest.fixture(scope="session")
def stack(backend_image, frontend_image):
    running = docker_stack.Stack(backend_image=backend_image, frontend_image=frontend_image).up()
    yield running
    running.down()
