"""Secrets that cannot lock the app out: no silent rotation on blind renders, kept on uninstall,
published dev/test values refused in prod, and a pod-restart checksum that reveals nothing."""

from __future__ import annotations

import hashlib
import json

import chart_support as cs
import pytest

from taskpilot_dev import tools

FULL = cs.RELEASE  # release `taskpilot-ai` already contains the chart name


def _template(*set_values: str, values_files: tuple[str, ...] = ()):
    return cs.run_helm(*tools.helm_template_args(values_files, set_values)[1:])


@pytest.mark.parametrize(
    "missing",
    [
        (),  # neither given
        ("secrets.jwtSecret=explicit-jwt-secret-0123456789abcdef0123",),  # only the database password missing
        ("secrets.databasePassword=explicit-db-password",),  # only the JWT secret missing
    ],
)
def test_a_blind_render_refuses_to_generate_secrets(missing):
    """`helm template` (Tilt without fixed values, GitOps) cannot see the Secret it would otherwise keep."""
    proc = _template(*missing)
    assert proc.returncode != 0
    assert "existingSecret" in proc.stderr and "secrets.jwtSecret" in proc.stderr
    assert "secrets.databasePassword" in proc.stderr


def test_explicit_secrets_or_an_existing_secret_render_blind():
    assert cs.find(cs.render("default"), "Secret", f"{FULL}-secret")
    docs = cs.render("default", "existingSecret=managed", "secrets.jwtSecret=", "secrets.databasePassword=")
    assert not [d for d in docs if d["kind"] == "Secret"]


@pytest.mark.parametrize("profile", ["default", "dev", "prod"])
def test_the_secret_survives_helm_uninstall(rendered, profile):
    secret = cs.find(rendered[profile], "Secret", f"{FULL}-secret")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


@pytest.mark.parametrize(
    "published",
    [
        "secrets.jwtSecret=dev-only-jwt-secret-change-me-0123456789abcdef",
        "secrets.jwtSecret=test-only-jwt-secret-that-is-long-enough-0123456789",
        "secrets.databasePassword=dev-only-db-password",
    ],
)
def test_prod_refuses_secrets_published_in_the_repo(published):
    proc = _template(*cs.PROD_SECRETS, published, values_files=("values-prod.yaml",))
    assert proc.returncode != 0
    name = published.split("=", 1)[0]
    assert f"{name} is a dev/test value published" in proc.stderr


def test_dev_values_are_refused_when_switched_to_prod():
    proc = _template("backend.config.appEnv=prod", values_files=("values-dev.yaml",))
    assert proc.returncode != 0 and "published in the TaskPilot repository" in proc.stderr


def test_chart_and_backend_refuse_the_same_published_secrets():
    from app.core.config import PUBLISHED_SECRETS

    helpers = (cs.CHART_DIR / "templates" / "_validate.tpl").read_text()
    for value in PUBLISHED_SECRETS:
        assert f'"{value}"' in helpers, value


def _plain_hashes(values: list[str]) -> set[str]:
    """Unkeyed hashes an observer of the annotation could test guesses against."""
    candidates = [*values, "".join(values), json.dumps(values)]
    return {hashlib.sha256(c.encode()).hexdigest() for c in candidates}


def test_secret_checksum_is_keyed_and_still_rolls_pods_on_change():
    def checksum(*extra: str) -> str:
        backend = cs.find(cs.render("prod", *extra), "Deployment", f"{FULL}-backend")
        return backend["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]

    base = checksum()
    assert base not in _plain_hashes([s.split("=", 1)[1] for s in cs.PROD_SECRETS])
    # The old annotation: sha256 of the secrets values as JSON. Recompute it to show it is gone.
    values = {
        "databasePassword": "prod-test-db-password",
        "generate": False,
        "jwtSecret": "prod-test-jwt-secret-0123456789abcdef0123",
        "openaiApiKey": "sk-test-not-a-real-key",
    }
    old = hashlib.sha256(
        json.dumps({"existingSecret": "", "secrets": values}, separators=(",", ":"), sort_keys=True).encode()
    ).hexdigest()
    assert base != old
    assert checksum("secrets.databasePassword=another-db-password") != base
    assert checksum("secrets.openaiApiKey=sk-another") != base
    assert checksum() == base
