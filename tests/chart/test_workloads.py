"""Workloads: names, labels, services, selectors, ports, env wiring, strategy, replicas."""

from __future__ import annotations

import base64

import chart_app_env as app_env
import chart_support as cs
import pytest

FULL = cs.RELEASE  # release `taskpilot-ai` already contains the chart name
APP_WORKLOADS = {  # component -> (kind, name, container, port, service, `app` label)
    "frontend": ("Deployment", f"{FULL}-frontend", "frontend", 3000, "frontend-service", "taskpilot-frontend"),
    "backend": ("Deployment", f"{FULL}-backend", "backend", 8000, "backend-service", "taskpilot-backend"),
    "postgresql": (
        "StatefulSet",
        f"{FULL}-postgresql",
        "postgresql",
        5432,
        "postgresql-service",
        "taskpilot-postgresql",
    ),
}
PROFILES = list(cs.PROFILES)


def env_names(docs, workload: dict, container: dict) -> set[str]:
    """Every variable the container receives: env entries plus envFrom-expanded ConfigMap/Secret keys."""
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        obj = cs.find(docs, kind, ref["name"])
        names |= {source.get("prefix", "") + key for key in (obj.get("data") or {})}
    return names


@pytest.mark.parametrize("profile", PROFILES)
def test_workload_names_and_app_labels(rendered, profile):
    docs = rendered[profile]
    for component, (kind, name, container_name, port, _, app_label) in APP_WORKLOADS.items():
        obj = cs.find(docs, kind, name)
        labels = cs.pod_labels(obj)
        assert labels["app"] == app_label
        assert labels["app.kubernetes.io/name"] == "taskpilot-ai"
        assert labels["app.kubernetes.io/instance"] == cs.RELEASE
        assert labels["app.kubernetes.io/component"] == component
        assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ports = cs.container(obj, container_name)["ports"]
        assert [p["containerPort"] for p in ports] == [port]


@pytest.mark.parametrize("profile", PROFILES)
def test_services_ports_and_each_selects_exactly_one_workload(rendered, profile):
    docs = rendered[profile]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert set(services) == {"frontend-service", "backend-service", "postgresql-service"}
    for component, (kind, name, container_name, port, service_name, _) in APP_WORKLOADS.items():
        service = services[service_name]
        selector = service["spec"]["selector"]
        matching = [w for w in cs.workloads(docs) if selector.items() <= cs.pod_labels(w).items()]
        assert [(w["kind"], w["metadata"]["name"]) for w in matching] == [(kind, name)]
        (service_port,) = service["spec"]["ports"]
        named = {p["name"]: p["containerPort"] for p in cs.container(matching[0], container_name)["ports"]}
        target = service_port["targetPort"]
        assert (named[target] if isinstance(target, str) else target) == port
        assert service_port["port"] == (5432 if component == "postgresql" else 80)
    assert services["postgresql-service"]["spec"]["clusterIP"] == "None"
    assert cs.find(docs, "StatefulSet", f"{FULL}-postgresql")["spec"]["serviceName"] == "postgresql-service"
    for name in ("frontend-service", "backend-service"):
        assert services[name]["spec"].get("type", "ClusterIP") == "ClusterIP"


@pytest.mark.parametrize("profile", PROFILES)
def test_backend_and_migrations_env_matches_settings_both_ways(rendered, profile):
    docs = rendered[profile]
    reads = app_env.backend_env_names()
    wanted = reads - app_env.BACKEND_READ_NOT_PROVIDED
    obj = cs.find(docs, "Deployment", f"{FULL}-backend")
    migrate = next(c for c in cs.pod_spec(obj)["initContainers"] if c["name"] == "migrate")
    for container in (cs.container(obj, "backend"), migrate):
        provided = env_names(docs, obj, container)
        assert wanted - provided == set(), f"{container['name']} misses variables the backend reads"
        assert provided - reads == set(), f"{container['name']} gets variables the backend never reads"


@pytest.mark.parametrize("profile", PROFILES)
def test_frontend_env_matches_what_it_reads_both_ways(rendered, profile):
    docs = rendered[profile]
    obj = cs.find(docs, "Deployment", f"{FULL}-frontend")
    frontend = cs.container(obj, "frontend")
    provided = env_names(docs, obj, frontend)
    assert provided == app_env.frontend_env_names()
    literal = {e["name"]: e.get("value") for e in frontend["env"]}
    assert literal["PORT"] == "3000" and literal["HOSTNAME"] == "0.0.0.0"
    config = cs.find(docs, "ConfigMap", f"{FULL}-config")["data"]
    assert config["BACKEND_URL"] == "http://backend-service:80"


@pytest.mark.parametrize("profile", PROFILES)
def test_sources_of_each_variable_follow_the_contract_table(rendered, profile):
    docs = rendered[profile]
    secret_keys = {"DB_PASSWORD", "JWT_SECRET", "OPENAI_API_KEY"}
    for obj in cs.workloads(docs):
        spec = cs.pod_spec(obj)
        for c in spec.get("initContainers", []) + spec["containers"]:
            for entry in c.get("env", []):
                key_ref = entry.get("valueFrom", {}).get("secretKeyRef")
                cm_ref = entry.get("valueFrom", {}).get("configMapKeyRef")
                if entry["name"] in secret_keys | {"POSTGRES_PASSWORD", "PGPASSWORD"}:
                    assert key_ref and key_ref["name"] == f"{FULL}-secret", entry
                    assert "value" not in entry
                elif entry["name"] in ("PORT", "HOSTNAME", "PGDATA", "BACKUP_KEEP"):
                    assert "value" in entry
                else:
                    assert cm_ref and cm_ref["name"] == f"{FULL}-config", entry
    secret = cs.find(docs, "Secret", f"{FULL}-secret")
    assert set(secret["data"]) == secret_keys
    config = cs.find(docs, "ConfigMap", f"{FULL}-config")["data"]
    assert config["DB_HOST"] == "postgresql-service" and config["DB_PORT"] == "5432"
    assert not secret_keys & set(config)


def test_no_secret_value_appears_in_any_pod_spec():
    docs = cs.render("prod")
    secrets = [s.split("=", 1)[1] for s in cs.PROD_SECRETS]
    for obj in cs.workloads(docs):
        text = repr(obj)
        for value in secrets:
            assert value not in text, f"{obj['metadata']['name']} carries a literal secret"
    data = cs.find(docs, "Secret", f"{FULL}-secret")["data"]
    assert base64.b64decode(data["JWT_SECRET"]).decode() == secrets[0]
    assert base64.b64decode(data["DB_PASSWORD"]).decode() == secrets[1]


def test_dev_secrets_are_fixed_across_renders():
    first = cs.find(cs.render("dev"), "Secret", f"{FULL}-secret")["data"]
    second = cs.find(cs.render("dev"), "Secret", f"{FULL}-secret")["data"]
    assert first == second and first["DB_PASSWORD"] and first["JWT_SECRET"]


def test_existing_secret_replaces_the_chart_secret():
    docs = cs.render("prod", "existingSecret=my-secrets", "secrets.jwtSecret=", "secrets.databasePassword=")
    assert not [d for d in docs if d["kind"] == "Secret"]
    backend = cs.container(cs.find(docs, "Deployment", f"{FULL}-backend"), "backend")
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in backend["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {"DB_PASSWORD": "my-secrets", "JWT_SECRET": "my-secrets", "OPENAI_API_KEY": "my-secrets"}


@pytest.mark.parametrize("profile,expected", [("default", 1), ("dev", 1), ("prod", 2)])
def test_replicas_per_profile(rendered, profile, expected):
    for name in (f"{FULL}-frontend", f"{FULL}-backend"):
        assert cs.find(rendered[profile], "Deployment", name)["spec"]["replicas"] == expected
    assert cs.find(rendered[profile], "StatefulSet", f"{FULL}-postgresql")["spec"]["replicas"] == 1


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_set_replicas_3_scales_both_deployments(profile):
    docs = cs.render(profile, "frontend.replicas=3", "backend.replicas=3")
    for name in (f"{FULL}-frontend", f"{FULL}-backend"):
        assert cs.find(docs, "Deployment", name)["spec"]["replicas"] == 3


@pytest.mark.parametrize("profile", ["default", "prod"])
def test_rolling_update_strategy_prestop_and_grace(rendered, profile):
    docs = rendered[profile]
    for component in ("frontend", "backend"):
        obj = cs.find(docs, "Deployment", f"{FULL}-{component}")
        assert obj["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
        spec = cs.pod_spec(obj)
        assert spec["terminationGracePeriodSeconds"] == 30
        pre_stop = cs.container(obj, component)["lifecycle"]["preStop"]
        assert 0 < pre_stop["sleep"]["seconds"] < spec["terminationGracePeriodSeconds"]
    drain = float(cs.find(docs, "ConfigMap", f"{FULL}-config")["data"]["SHUTDOWN_DRAIN_SECONDS"])
    backend_sleep = cs.container(cs.find(docs, "Deployment", f"{FULL}-backend"), "backend")["lifecycle"]["preStop"][
        "sleep"
    ]["seconds"]
    assert backend_sleep + drain < 30


def test_dev_pods_restart_without_prod_drain(rendered):
    """Every `uvicorn --reload` and pod replacement in the inner loop would otherwise wait out the drain."""
    docs = rendered["dev"]
    assert cs.find(docs, "ConfigMap", f"{FULL}-config")["data"]["SHUTDOWN_DRAIN_SECONDS"] == "0"
    for component in ("frontend", "backend"):
        obj = cs.find(docs, "Deployment", f"{FULL}-{component}")
        assert "lifecycle" not in cs.container(obj, component)
        assert cs.pod_spec(obj)["terminationGracePeriodSeconds"] <= 10


@pytest.mark.parametrize("profile,expected", [("default", set()), ("dev", set()), ("prod", {"frontend", "backend"})])
def test_pod_disruption_budgets_only_with_two_or_more_replicas(rendered, profile, expected):
    pdbs = [d for d in rendered[profile] if d["kind"] == "PodDisruptionBudget"]
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pdbs} == expected
    for pdb in pdbs:
        component = pdb["metadata"]["labels"]["app.kubernetes.io/component"]
        target = cs.find(rendered[profile], "Deployment", f"{FULL}-{component}")
        assert pdb["spec"]["selector"]["matchLabels"] == target["spec"]["selector"]["matchLabels"]


def test_prod_spreads_replicas():
    docs = cs.render("prod")
    for component in ("frontend", "backend"):
        obj = cs.find(docs, "Deployment", f"{FULL}-{component}")
        spec = cs.pod_spec(obj)
        selector = obj["spec"]["selector"]["matchLabels"]
        assert {c["topologyKey"] for c in spec["topologySpreadConstraints"]} == {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }
        assert all(c["labelSelector"]["matchLabels"] == selector for c in spec["topologySpreadConstraints"])
        term = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector


@pytest.mark.parametrize(
    "profile,pull_policy,tag", [("dev", "IfNotPresent", "latest"), ("default", "IfNotPresent", "1.0.0")]
)
def test_app_images(rendered, profile, pull_policy, tag):
    docs = rendered[profile]
    for component in ("frontend", "backend"):
        c = cs.container(cs.find(docs, "Deployment", f"{FULL}-{component}"), component)
        assert c["image"] == f"taskpilot-{component}:{tag}"
        assert c["imagePullPolicy"] == pull_policy
    backend = cs.find(docs, "Deployment", f"{FULL}-backend")
    migrate = next(c for c in cs.pod_spec(backend)["initContainers"] if c["name"] == "migrate")
    assert migrate["image"] == f"taskpilot-backend:{tag}"
    assert (
        cs.container(cs.find(docs, "StatefulSet", f"{FULL}-postgresql"), "postgresql")["image"] == "postgres:15-alpine"
    )


@pytest.mark.parametrize(
    "kind,component", [("Deployment", "frontend"), ("Deployment", "backend"), ("StatefulSet", "postgresql")]
)
def test_node_selector_and_tolerations_reach_every_component_with_scheduling_values(kind, component):
    toleration = {"key": "dedicated", "operator": "Equal", "value": "taskpilot", "effect": "NoSchedule"}
    docs = cs.render(
        "default",
        f"{component}.nodeSelector.pool=apps",
        *(f"{component}.tolerations[0].{k}={v}" for k, v in toleration.items()),
    )
    spec = cs.pod_spec(cs.find(docs, kind, f"{FULL}-{component}"))
    assert spec["nodeSelector"] == {"pool": "apps"}
    assert spec["tolerations"] == [toleration]
    if component == "postgresql":  # a single primary: nothing to spread
        assert "affinity" not in spec and "topologySpreadConstraints" not in spec
