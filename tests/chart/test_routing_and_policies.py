"""Routing: ingress routes, NetworkPolicies, NOTES.txt."""

from __future__ import annotations

import chart_support as cs
import pytest

FULL = cs.RELEASE


def ingress_routes(docs):
    ingress = cs.find(docs, "Ingress", f"{FULL}-ingress")
    (rule,) = ingress["spec"]["rules"]
    return (
        ingress,
        rule,
        {
            p["path"]: (p["pathType"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
            for p in rule["http"]["paths"]
        },
    )


@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_ingress_routes_api_to_backend_and_root_to_frontend(rendered, profile):
    ingress, rule, routes = ingress_routes(rendered[profile])
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert routes == {
        "/api": ("Prefix", "backend-service", 80),
        "/mcp": ("Prefix", "backend-service", 80),
        "/": ("Prefix", "frontend-service", 80),
    }
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    expected_host = {"default": None, "dev": "localhost", "prod": "taskpilot.example.com"}[profile]
    assert rule.get("host") == expected_host


def test_ingress_host_class_and_toggle_are_values():
    _, rule, _ = ingress_routes(cs.render("default", "ingress.host=todo.local"))
    assert rule["host"] == "todo.local"
    assert not [d for d in cs.render("default", "ingress.enabled=false") if d["kind"] == "Ingress"]
    ingress = cs.find(cs.render("default", "ingress.className=traefik"), "Ingress", f"{FULL}-ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"


def test_prod_ingress_serves_tls():
    ingress = cs.find(cs.render("prod"), "Ingress", f"{FULL}-ingress")
    assert ingress["spec"]["tls"] == [{"secretName": "taskpilot-tls", "hosts": ["taskpilot.example.com"]}]


def _policies(docs):
    return {d["metadata"]["name"].removeprefix(f"{FULL}-"): d for d in docs if d["kind"] == "NetworkPolicy"}


def _allowed_ports(rules):
    return {p["port"] for rule in rules for p in rule.get("ports", [])}


@pytest.mark.parametrize("profile,enabled", [("default", False), ("dev", False), ("prod", True)])
def test_network_policy_toggle(rendered, profile, enabled):
    assert bool(_policies(rendered[profile])) is enabled


def test_prod_network_policies_allow_only_the_documented_flows(rendered):
    docs = rendered["prod"]
    policies = _policies(docs)
    assert set(policies) == {"frontend", "backend", "postgresql", "backup", "test"}
    # every pod of the release is selected by exactly one policy, with both directions restricted
    for obj in cs.workloads(docs):
        labels = cs.pod_labels(obj)
        selecting = [
            n for n, p in policies.items() if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(selecting) == 1, (obj["metadata"]["name"], selecting)
        assert set(policies[selecting[0]]["spec"]["policyTypes"]) == {"Ingress", "Egress"}

    def sources(policy):
        return [peer for rule in policy["spec"].get("ingress", []) for peer in rule["from"]]

    frontend_labels = cs.pod_labels(cs.find(docs, "Deployment", f"{FULL}-frontend"))
    # postgres: only backend (which migrates in its init containers) and backup on 5432
    pg = policies["postgresql"]
    assert _allowed_ports(pg["spec"]["ingress"]) == {5432}
    pg_sources = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in sources(pg)}
    assert pg_sources == {"backend", "backup"}
    assert all("namespaceSelector" not in peer for peer in sources(pg))
    # backend: from the ingress controller namespace and the frontend; to postgres 5432, DNS and HTTPS
    assert _allowed_ports(policies["backend"]["spec"]["ingress"]) == {8000}
    assert {"kubernetes.io/metadata.name": "ingress-nginx"} in [
        peer.get("namespaceSelector", {}).get("matchLabels") for peer in sources(policies["backend"])
    ]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).items() <= frontend_labels.items() and "podSelector" in peer
        for peer in sources(policies["backend"])
    )
    assert _allowed_ports(policies["backend"]["spec"]["egress"]) == {5432, 53, 443}
    assert _allowed_ports(policies["frontend"]["spec"]["ingress"]) == {3000}
    assert _allowed_ports(policies["frontend"]["spec"]["egress"]) == {8000, 53}
    frontend_to = [
        peer["podSelector"]["matchLabels"]
        for rule in policies["frontend"]["spec"]["egress"]
        for peer in rule["to"]
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    assert frontend_to == [cs.find(docs, "Deployment", f"{FULL}-backend")["spec"]["selector"]["matchLabels"]]
    assert _allowed_ports(policies["backup"]["spec"]["egress"]) == {5432, 53}
    assert policies["backup"]["spec"]["ingress"] == []


def test_external_https_egress_can_be_switched_off():
    policies = _policies(cs.render("prod", "networkPolicy.allowExternalHttps=false"))
    assert _allowed_ports(policies["backend"]["spec"]["egress"]) == {5432, 53}


@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_notes_render(profile):
    values_files, set_values = cs.PROFILES[profile]
    # NOTES.txt is not a manifest; `helm install --dry-run=client` (no cluster needed) prints it
    proc = cs.run_helm(
        "install",
        cs.RELEASE,
        str(cs.CHART_DIR),
        "--dry-run=client",
        "--namespace",
        cs.NAMESPACE,
        *[a for f in values_files for a in ("--values", str(cs.CHART_DIR / f))],
        *[a for s in set_values for a in ("--set", s)],
    )
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kubectl wait --for=condition=ready pod -l app=taskpilot-backend -n taskpilot" in notes
    assert "svc/frontend-service 3000:80" in notes and "svc/backend-service 8000:80" in notes
    replicas = {"default": 1, "dev": 1, "prod": 2}[profile]
    assert f"Deployment  {cs.RELEASE}-backend    replicas {replicas}" in notes
    if profile == "dev":
        assert "http://localhost/" in notes
    if profile == "prod":
        assert "https://taskpilot.example.com/" in notes and "pg_dump" in notes


@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_ingress_buffers_request_bodies_and_enforces_the_backends_body_limit(rendered, profile):
    """One number: the Ingress refuses bodies over the backend's REQUEST_BODY_MAX_BYTES, buffering them
    (so slow uploads stay in nginx), while responses (SSE) stay unbuffered."""
    ingress, _, _ = ingress_routes(rendered[profile])
    annotations = ingress["metadata"]["annotations"]
    config = cs.find(rendered[profile], "ConfigMap", f"{FULL}-config")["data"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == config["REQUEST_BODY_MAX_BYTES"]
    assert annotations["nginx.ingress.kubernetes.io/client-body-buffer-size"] == config["REQUEST_BODY_MAX_BYTES"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    changed = cs.find(cs.render("default", "backend.config.requestBodyMaxBytes=131072"), "Ingress", f"{FULL}-ingress")
    assert changed["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "131072"


def test_the_smallest_allowed_body_limit_still_lets_every_valid_request_through():
    import json

    from app.core.body_limits import DEFAULT_BODY_LIMIT_BYTES, BodyLimitTable
    from app.core.config import Settings
    from app.main import create_app

    schema = json.loads((cs.CHART_DIR / "values.schema.json").read_text())
    minimum = schema["properties"]["backend"]["properties"]["config"]["properties"]["requestBodyMaxBytes"]["minimum"]
    routes = create_app(Settings(jwt_secret="x" * 40)).router.routes
    largest_route_limit = BodyLimitTable(routes, default=DEFAULT_BODY_LIMIT_BYTES, maximum=10**9).largest()
    assert largest_route_limit <= minimum <= Settings().request_body_max_bytes
