"""Fixtures for the chart tests (helpers live in chart_support.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parents[1] / "dev"):  # standalone runs too, without the root pytest.ini
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import chart_support  # noqa: E402
import k8s_tools  # noqa: E402


@pytest.fixture(scope="session")
def helm() -> str:
    return k8s_tools.helm_bin()


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
        path.write_text(k8s_tools.render_chart_text(values_files, set_values))
        paths[profile] = path
    return paths
