"""Checkov on the rendered dev and prod manifests — no failures beyond checkov-skips.yaml."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from taskpilot_dev import tools

SKIPS = yaml.safe_load((Path(__file__).parent / "checkov-skips.yaml").read_text())


def test_every_skip_has_a_one_line_reason():
    for section in ("all", "dev", "prod"):
        for check_id, reason in (SKIPS[section] or {}).items():
            assert re.fullmatch(r"CKV2?_K8S_\d+", check_id), check_id
            assert isinstance(reason, str) and len(reason) > 20 and "\n" not in reason, check_id


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_checkov_finds_nothing_beyond_the_documented_skips(profile, rendered_text):
    proc = subprocess.run(
        [
            tools.checkov_bin(),
            "--framework",
            "kubernetes",
            "--compact",
            "--output",
            "json",
            "--file",
            str(rendered_text[profile]),
        ],
        capture_output=True,
        text=True,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 50  # checkov really ran the Kubernetes checks on these resources
    allowed = {**(SKIPS["all"] or {}), **(SKIPS[profile] or {})}
    unexpected = sorted({f for f in failed if f[0] not in allowed})
    assert unexpected == [], f"checkov findings not in checkov-skips.yaml: {unexpected}"
    stale = sorted(set(SKIPS[profile] or {}) - {check_id for check_id, _ in failed})
    assert stale == [], f"skips for {profile} that no longer fire (remove them): {stale}"
    if profile == "prod":  # the shared list must be needed by prod too, else it belongs under dev
        assert sorted(set(SKIPS["all"]) - {check_id for check_id, _ in failed}) == []
