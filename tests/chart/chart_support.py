"""Helpers for the chart tests: real helm renders of helm/taskpilot-ai and lookups into them."""

from __future__ import annotations

import subprocess

import yaml

from taskpilot_dev import tools

CHART_DIR = tools.CHART_DIR
RELEASE = tools.RELEASE_NAME
NAMESPACE = tools.NAMESPACE

# A prod render needs secrets (the chart refuses to invent them); ≥32 chars as the backend demands.
PROD_SECRETS = (
    "secrets.jwtSecret=prod-test-jwt-secret-0123456789abcdef0123",
    "secrets.databasePassword=prod-test-db-password",
    "secrets.openaiApiKey=sk-test-not-a-real-key",
)
# `helm template` cannot look up the cluster, so the chart refuses to generate secrets there: the
# default profile gives them explicitly (as a GitOps render would).
DEFAULT_SECRETS = (
    "secrets.jwtSecret=default-test-jwt-secret-0123456789abcdef01",
    "secrets.databasePassword=default-test-db-password",
)
PROFILES = {
    "default": ((), DEFAULT_SECRETS),
    "dev": (("values-dev.yaml",), ()),
    "prod": (("values-prod.yaml",), PROD_SECRETS),
}


def run_helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tools.helm_bin(), *args], capture_output=True, text=True)


def template_args(profile: str, extra_set: tuple[str, ...] = ()) -> list[str]:
    values_files, set_values = PROFILES[profile]
    return tools.helm_template_args(values_files, (*set_values, *extra_set))[1:]


def render(profile: str, *extra_set: str) -> list[dict]:
    values_files, set_values = PROFILES[profile]
    return tools.render_chart(values_files, (*set_values, *extra_set))


def find(docs: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(obj: dict) -> dict:
    """The pod spec of a Pod, Deployment, StatefulSet, Job or CronJob."""
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


POD_KINDS = {"Pod", "Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet", "ReplicaSet"}


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] in POD_KINDS]


def container(obj: dict, name: str) -> dict:
    matches = [c for c in pod_spec(obj)["containers"] if c["name"] == name]
    assert len(matches) == 1, f"{obj['kind']}/{obj['metadata']['name']} has no single container {name}"
    return matches[0]


def load_values(name: str = "values.yaml") -> dict:
    return yaml.safe_load((CHART_DIR / name).read_text())
