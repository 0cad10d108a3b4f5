"""Pods: probes, resources, hardening of every pod, checksums, PostgreSQL storage."""

from __future__ import annotations

import chart_support as cs
import pytest

FULL = cs.RELEASE
PROFILES = list(cs.PROFILES)
SPEC_RESOURCES = {
    "frontend": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "backend": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}},
}


def all_containers(obj):
    spec = cs.pod_spec(obj)
    return spec.get("initContainers", []) + spec["containers"]


@pytest.mark.parametrize("profile", PROFILES)
def test_app_probes(rendered, profile):
    docs = rendered[profile]
    backend = cs.container(cs.find(docs, "Deployment", f"{FULL}-backend"), "backend")
    assert backend["livenessProbe"]["httpGet"]["path"] == "/health"
    assert backend["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert backend["startupProbe"]["httpGet"]["path"] == "/health"
    assert backend["livenessProbe"]["periodSeconds"] == 30
    frontend = cs.container(cs.find(docs, "Deployment", f"{FULL}-frontend"), "frontend")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert frontend[probe]["httpGet"]["path"] == "/"
        assert frontend[probe]["httpGet"]["port"] in ("http", 3000)
        assert backend[probe]["httpGet"]["port"] in ("http", 8000)


@pytest.mark.parametrize("profile", PROFILES)
def test_postgresql_probes_use_pg_isready(rendered, profile):
    postgres = cs.container(cs.find(rendered[profile], "StatefulSet", f"{FULL}-postgresql"), "postgresql")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        command = " ".join(postgres[probe]["exec"]["command"])
        assert "pg_isready" in command and "5432" in command


@pytest.mark.parametrize("profile", PROFILES)
def test_resources_on_every_container(rendered, profile):
    docs = rendered[profile]
    for obj in cs.workloads(docs):
        for c in all_containers(obj):
            resources = c.get("resources", {})
            for section in ("requests", "limits"):
                assert set(resources.get(section, {})) == {"cpu", "memory"}, (obj["metadata"]["name"], c["name"])
    for component, expected in SPEC_RESOURCES.items():
        if profile == "dev" and component == "frontend":
            # `next dev` holds every compiled page: the dev server alone gets 1Gi.
            expected = {**expected, "limits": {**expected["limits"], "memory": "1Gi"}}
        assert cs.container(cs.find(docs, "Deployment", f"{FULL}-{component}"), component)["resources"] == expected


@pytest.mark.parametrize("profile", PROFILES)
def test_hardening_on_every_pod_and_container(rendered, profile):
    docs = rendered[profile]
    pods = cs.workloads(docs)
    kinds = {o["kind"] for o in pods}
    assert {"Deployment", "StatefulSet", "Pod"} <= kinds  # helm test pods are covered
    if profile == "prod":
        assert "CronJob" in kinds  # the backup CronJob too
    for obj in pods:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        spec = cs.pod_spec(obj)
        assert spec["automountServiceAccountToken"] is False, where
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, where
        assert isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0, where
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for c in all_containers(obj):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (where, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (where, c["name"])
            assert sc["runAsNonRoot"] is True and isinstance(sc["runAsUser"], int), (where, c["name"])
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, (where, c["name"])
            assert sc.get("privileged", False) is False
            # Only the app containers of dev Deployments are writable (live update syncs into them).
            dev_app = profile == "dev" and obj["kind"] == "Deployment" and c in spec["containers"]
            assert sc["readOnlyRootFilesystem"] is (not dev_app), (where, c["name"])
    service_accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert [sa["automountServiceAccountToken"] for sa in service_accounts] == [False]


@pytest.mark.parametrize("profile", PROFILES)
def test_writable_paths_are_emptydirs(rendered, profile):
    docs = rendered[profile]

    def mounts(obj, name):
        volumes = {v["name"]: v for v in cs.pod_spec(obj).get("volumes", [])}
        return {
            m["mountPath"]: volumes.get(m["name"], {"pvc": m["name"]})
            for m in cs.container(obj, name).get("volumeMounts", [])
        }

    backend = mounts(cs.find(docs, "Deployment", f"{FULL}-backend"), "backend")
    assert "emptyDir" in backend["/tmp"]
    frontend = mounts(cs.find(docs, "Deployment", f"{FULL}-frontend"), "frontend")
    assert "emptyDir" in frontend["/tmp"] and "emptyDir" in frontend["/app/.next/cache"]
    postgres = mounts(cs.find(docs, "StatefulSet", f"{FULL}-postgresql"), "postgresql")
    assert "emptyDir" in postgres["/var/run/postgresql"] and "emptyDir" in postgres["/tmp"]


@pytest.mark.parametrize("profile", PROFILES)
def test_postgresql_storage_and_identity(rendered, profile):
    sts = cs.find(rendered[profile], "StatefulSet", f"{FULL}-postgresql")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    postgres = cs.container(sts, "postgresql")
    data_mount = [m for m in postgres["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
    assert [m["mountPath"] for m in data_mount] == ["/var/lib/postgresql/data"]
    pgdata = {e["name"]: e.get("value") for e in postgres["env"]}["PGDATA"]
    assert pgdata.startswith("/var/lib/postgresql/data/") and pgdata.rstrip("/") != "/var/lib/postgresql/data"
    spec = cs.pod_spec(sts)
    assert (
        spec["securityContext"]["runAsUser"],
        spec["securityContext"]["runAsGroup"],
        spec["securityContext"]["fsGroup"],
    ) == (70, 70, 70)
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    password = next(e for e in postgres["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"]["key"] == "DB_PASSWORD"


def test_persistence_size_is_a_value():
    sts = cs.find(cs.render("default", "postgresql.persistence.size=20Gi"), "StatefulSet", f"{FULL}-postgresql")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"


def _annotations(docs):
    return {
        component: cs.find(docs, "Deployment", f"{FULL}-{component}")["spec"]["template"]["metadata"]["annotations"]
        for component in ("frontend", "backend")
    }


# change -> {component: annotations that must change}; every other checksum must stay put
@pytest.mark.parametrize(
    "change,rolls",
    [
        ("backend.config.logLevel=WARNING", {"backend": {"checksum/config"}}),
        ("postgresql.database=tasks", {"backend": {"checksum/config"}}),
        ("frontend.chatkitDomainKey=domain_pk_test", {"frontend": {"checksum/config"}}),
        ("frontend.backendUrl=http://api.internal:8000", {"frontend": {"checksum/config"}}),
        ("secrets.jwtSecret=another-dev-only-jwt-secret-value-0123456789", {"backend": {"checksum/secret"}}),
        ("secrets.databasePassword=another-dev-password", {"backend": {"checksum/secret"}}),
    ],
)
def test_checksums_roll_exactly_the_pods_whose_config_changed(change, rolls):
    before = _annotations(cs.render("dev"))
    after = _annotations(cs.render("dev", change))
    assert set(before["backend"]) >= {"checksum/config", "checksum/secret"}
    assert "checksum/config" in before["frontend"]
    for component in before:
        changed = {key for key in before[component] if before[component][key] != after[component].get(key)}
        assert changed == rolls.get(component, set()), (component, change)


def test_checksums_are_stable_without_changes():
    assert _annotations(cs.render("dev")) == _annotations(cs.render("dev"))


def test_postgresql_is_not_restarted_by_config_changes():
    def pod_template(docs):
        return cs.find(docs, "StatefulSet", f"{FULL}-postgresql")["spec"]["template"]

    assert pod_template(cs.render("dev")) == pod_template(cs.render("dev", "backend.config.logLevel=WARNING"))


@pytest.mark.parametrize("profile", PROFILES)
def test_backend_pods_migrate_in_init_containers_after_the_database_answers(rendered, profile):
    docs = rendered[profile]
    assert not [d for d in docs if d["kind"] == "Job"]  # no hook: `helm install --wait` has nothing to wait on
    backend = cs.find(docs, "Deployment", f"{FULL}-backend")
    wait, migrate = cs.pod_spec(backend)["initContainers"]
    assert "pg_isready" in " ".join(wait["command"])
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["workingDir"] == "/app"
    assert migrate["image"] == cs.container(backend, "backend")["image"]
    # never in the replicas' start command
    for component in ("frontend", "backend"):
        c = cs.container(cs.find(docs, "Deployment", f"{FULL}-{component}"), component)
        assert "alembic" not in " ".join(c.get("command", []) + c.get("args", []))


def test_migrations_can_be_left_to_the_operator():
    backend = cs.find(cs.render("default", "migrations.enabled=false"), "Deployment", f"{FULL}-backend")
    assert "initContainers" not in cs.pod_spec(backend)


@pytest.mark.parametrize("profile", PROFILES)
def test_helm_test_pods_hit_health_and_root(rendered, profile):
    pods = [d for d in rendered[profile] if d["kind"] == "Pod"]
    assert {p["metadata"]["annotations"]["helm.sh/hook"] for p in pods} == {"test"}
    scripts = {p["metadata"]["name"]: " ".join(p["spec"]["containers"][0]["command"]) for p in pods}
    assert "http://backend-service:80/health" in scripts[f"{FULL}-test-backend"]
    assert "http://frontend-service:80/" in scripts[f"{FULL}-test-frontend"]


def test_backup_cronjob_writes_pg_dump_to_its_own_pvc():
    docs = cs.render("default", "backup.enabled=true")
    cron = cs.find(docs, "CronJob", f"{FULL}-backup")
    spec = cs.pod_spec(cron)
    claim = [v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v]
    assert claim == [f"{FULL}-backup"]
    pvc = cs.find(docs, "PersistentVolumeClaim", f"{FULL}-backup")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert "pg_dump" in " ".join(spec["containers"][0]["command"])
    assert not [d for d in cs.render("default") if d["kind"] == "CronJob"]
