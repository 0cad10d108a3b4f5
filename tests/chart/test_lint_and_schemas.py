"""`helm lint --strict` and kubernetes-validate --strict on every rendered document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import chart_support as cs
import pytest


def bundled_kubernetes_versions() -> list[str]:
    import kubernetes_validate

    schema_root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    versions = {m.group(1) for p in schema_root.iterdir() if (m := re.match(r"v(\d+\.\d+\.\d+)-local-strict$", p.name))}
    return sorted(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


NEWEST_KUBERNETES = bundled_kubernetes_versions()[-1]


@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_helm_lint_strict_passes(profile):
    values_files, set_values = cs.PROFILES[profile]
    args = ["lint", "--strict", str(cs.CHART_DIR)]
    for values_file in values_files:
        args += ["--values", str(cs.CHART_DIR / values_file)]
    for assignment in set_values:
        args += ["--set", assignment]
    proc = cs.run_helm(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


def test_lint_strict_fails_on_a_broken_chart(tmp_path):
    """The lint check can fail: a chart copy with an invalid version is rejected."""
    import shutil

    copy = tmp_path / "taskpilot-ai"
    shutil.copytree(cs.CHART_DIR, copy)
    (copy / "Chart.yaml").write_text((copy / "Chart.yaml").read_text().replace("version: 0.1.0", "version: not-semver"))
    proc = cs.run_helm("lint", "--strict", str(copy))
    assert proc.returncode != 0
    assert "version" in (proc.stdout + proc.stderr)


def test_bundled_versions_include_1_30():
    assert "1.30.0" in bundled_kubernetes_versions()
    assert NEWEST_KUBERNETES != "1.30.0"


@pytest.mark.parametrize("kube_version", ["1.30.0", NEWEST_KUBERNETES])
@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_every_document_passes_kubernetes_validate_strict(profile, kube_version, rendered_text, rendered):
    proc = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", kube_version, str(rendered_text[profile])],
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    passed = re.findall(r"passed for resource (\S+) against version", output)
    assert len(passed) == len(rendered[profile]), output  # every document was checked, none silently skipped


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}, "bogusField": 1})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
