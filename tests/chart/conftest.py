"""Fixtures for the chart tests (helpers live in chart_support.py)."""

from __future__ import annotations

from pathlib import Path

import chart_support
import pytest

from taskpilot_dev import tools


@pytest.fixture(scope="session")
def helm() -> str:
    return tools.helm_bin()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Documents of the default, dev and prod renders (kube-version 1.30.0)."""
    return {profile: chart_support.render(profile) for profile in chart_support.PROFILES}


@pytest.fixture(scope="session")
def rendered_text(tmp_path_factory) -> dict[str, Path]:
    """The raw YAML streams, written to files for CLI validators."""
    out = tmp_path_factory.mktemp("rendered")
    paths = {}
    for profile, (values_files, set_values) in chart_support.PROFILES.items():
        path = out / f"{profile}.yaml"
        path.write_text(tools.render_chart_text(values_files, set_values))
        paths[profile] = path
    return paths
