"""The real Tiltfile, evaluated by the Tilt API model (tilt_model.py) with real `helm template`.

What this proves and nothing else does: the Tiltfile's wiring — which images are built and how
(targets, only=, live_update rules), that every image reaches its workloads, port-forwards, links,
labels, resource dependencies, tilt up vs tilt ci behaviour of the checks, buttons, flags, the
context guard and personal settings. How the pods then behave (writable app dirs, hardened prod
pods, volumes, probes) is proven by running the rendered chart as containers, not here."""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path

import pytest
from tilt_api import FallBackOn, Run, Sync, TiltfileError
from tilt_model import TRIGGER_MODE_AUTO, TRIGGER_MODE_MANUAL, ConfigHelp, TiltModel, containers

from taskpilot_dev.paths import REPO_ROOT

REPO = REPO_ROOT
TILTFILE = REPO / "Tiltfile"
APP_IMAGES = {"taskpilot-backend": "backend", "taskpilot-frontend": "frontend"}


@cache
def _evaluate(subcommand: str, args: tuple, context: str):
    model = TiltModel(TILTFILE, subcommand=subcommand, args=list(args), context=context, env={}).load()
    return model, model.resources()


def tilt(subcommand="up", *args, context="minikube"):
    return _evaluate(subcommand, tuple(args), context)


def builds(model):
    return {b["ref"]: b for b in model.docker_builds}


def dockerfile_stage(dockerfile: str, stage: str) -> list[str]:
    """Instruction lines of one `FROM ... AS <stage>` stage."""
    lines, inside = [], False
    for line in Path(dockerfile).read_text().splitlines():
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            inside = (match.group(1) or "").lower() == stage
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


# ---- images and live update ------------------------------------------------------------------
def test_two_dev_image_builds_from_the_repo_root():
    model, _ = tilt()
    assert set(builds(model)) == set(APP_IMAGES)
    for ref, app in APP_IMAGES.items():
        build = builds(model)[ref]
        assert build["target"] == "dev"
        assert build["context"] == str(REPO)
        assert build["dockerfile"] == str(REPO / "docker" / f"Dockerfile.{app}")
        assert dockerfile_stage(build["dockerfile"], "dev"), f"{app} Dockerfile has no `dev` stage"
        # only= keeps unrelated edits (docs, the other app, tests) from triggering builds
        assert build["only"] == [f"{app}/", "docker/"]


@pytest.mark.parametrize("ref", sorted(APP_IMAGES))
def test_build_context_filter_keeps_everything_the_dockerfile_copies(ref):
    model, _ = tilt()
    build = builds(model)[ref]
    sources = []
    for line in Path(build["dockerfile"]).read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    assert sources
    for src in sources:
        assert any(src.startswith(only) for only in build["only"]), f"{src} is outside only={build['only']}"
        assert not any(src.startswith(ign.rstrip("/")) for ign in build["ignore"] if not ign.startswith("**"))


@pytest.mark.parametrize("ref", sorted(APP_IMAGES))
def test_live_update_steps_are_valid_and_sync_into_the_app_dir(ref):
    model, _ = tilt()
    build = builds(model)[ref]
    steps = build["live_update"]
    kinds = [type(s) for s in steps]
    order = [FallBackOn, Sync, Run]
    assert kinds == sorted(kinds, key=order.index), "fall_back_on first, then syncs, then runs"
    syncs = [s for s in steps if isinstance(s, Sync)]
    app_dir = str(REPO / APP_IMAGES[ref])
    assert [(s.local_path.rstrip("/"), s.remote_path.rstrip("/")) for s in syncs] == [(app_dir, "/app")]
    workdirs = [
        ln.split()[1] for ln in dockerfile_stage(build["dockerfile"], "dev") if ln.upper().startswith("WORKDIR")
    ]
    assert workdirs[-1] == "/app", "sync target must be the dev image's working directory"
    runs = [s for s in steps if isinstance(s, Run)]
    rebuilds = [f for s in steps if isinstance(s, FallBackOn) for f in s.files]
    assert runs or any(Path(f).name in ("package.json", "requirements.txt") for f in rebuilds), (
        "a dependency manifest change must re-install (run step) or rebuild (fall_back_on)"
    )
    for step in runs:
        assert step.triggers, "a run without trigger would run on every edit"
        for trigger in step.triggers:
            assert any(trigger.startswith(s.local_path.rstrip("/") + "/") for s in syncs), f"{trigger} not synced"
            assert not any(trigger.startswith(ign.rstrip("/")) for ign in build["ignore"])
    for step in steps:
        if isinstance(step, FallBackOn):
            assert all(f.startswith(app_dir + "/") for f in step.files)


def test_backend_reinstalls_requirements_only_when_requirements_change():
    model, _ = tilt()
    (run,) = [s for s in builds(model)["taskpilot-backend"]["live_update"] if isinstance(s, Run)]
    assert run.triggers == [str(REPO / "backend" / "requirements.txt")]
    assert "pip install -r /app/requirements.txt" in run.cmd[-1]


def test_frontend_falls_back_to_a_rebuild_for_next_config_and_package_changes():
    model, _ = tilt()
    steps = builds(model)["taskpilot-frontend"]["live_update"]
    assert isinstance(steps[0], FallBackOn)
    assert any(Path(f).name.startswith("next.config.") for f in steps[0].files)
    assert {str(REPO / "frontend" / n) for n in ("package.json", "package-lock.json")} <= set(steps[0].files)
    assert not [s for s in steps if isinstance(s, Run)]  # no `npm ci` under the running dev server
    assert "**/node_modules" in builds(model)["taskpilot-frontend"]["ignore"]


def test_every_built_image_is_used_by_the_rendered_manifests():
    model, resources = tilt()
    expected = {"backend": "taskpilot-backend", "frontend": "taskpilot-frontend"}
    for name, ref in expected.items():
        assert ref in resources[name].images, f"{ref} is not injected into {name}"
    used = {ref for res in resources.values() for ref in res.images}
    assert used == set(builds(model))


# ---- chart, namespace and resources ------------------------------------------------------------
def test_chart_is_rendered_into_the_taskpilot_namespace_with_dev_values():
    model, resources = tilt()
    (argv,) = model.helm_calls
    assert argv[1:4] == ["template", "taskpilot-ai", str(REPO / "helm" / "taskpilot-ai")]
    assert argv[argv.index("--namespace") + 1] == "taskpilot"
    assert str(REPO / "helm/taskpilot-ai/values-dev.yaml") in argv
    namespaces = [o for o in model.k8s_objects if o["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == ["taskpilot"]
    for obj in model.k8s_objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "taskpilot", obj["metadata"]["name"]
    assert "uncategorized" not in resources, "every object belongs to a named resource"
    assert not any(o["kind"] == "Pod" for o in model.k8s_objects), "helm test pods are not deployed"


def test_database_volume_survives_tilt_down():
    model, _ = tilt()
    # The data PVC comes from the StatefulSet, never from Tilt; any PVC Tilt applies itself is kept.
    for pvc in (o for o in model.k8s_objects if o["kind"] == "PersistentVolumeClaim"):
        assert pvc["metadata"]["annotations"]["tilt.dev/down-policy"] == "keep"


def _forward_target(resource, local_port):
    (pf,) = [p for p in resource.port_forwards if p.local_port == local_port]
    ports = {p["containerPort"] for o in resource.objects for c in containers(o) for p in c.get("ports", [])}
    return pf.container_port or local_port, ports


@pytest.mark.parametrize("name,port", [("frontend", 3000), ("backend", 8000)])
def test_port_forwards_reach_the_right_workload(name, port):
    _, resources = tilt()
    container_port, exposed = _forward_target(resources[name], port)
    assert container_port in exposed
    others = [r.name for r in resources.values() if any(p.local_port == port for p in r.port_forwards)]
    assert others == [name]


def test_backend_links_to_api_docs_and_health():
    _, resources = tilt()
    urls = {link.url for link in resources["backend"].links}
    assert {"http://localhost:8000/docs", "http://localhost:8000/health/ready"} <= urls


def test_resource_dependencies_follow_the_architecture():
    _, resources = tilt()
    deps = {name: set(r.resource_deps) for name, r in resources.items()}
    assert deps["backend"] == {"postgresql"}
    assert deps["frontend"] == {"backend"}
    assert deps["health-check"] == {"backend", "frontend"}
    assert deps["db-persistence-check"] == {"health-check"}
    labels = {name: r.labels for name, r in resources.items()}
    assert labels["backend"] == labels["frontend"] == ["app"]
    assert labels["postgresql"] == ["infra"]
    assert all(labels[c] == ["checks"] for c in ("health-check", "db-persistence-check", "e2e"))


# ---- checks: tilt up vs tilt ci -----------------------------------------------------------------
def test_checks_run_helpers_that_exist():
    model, _ = tilt()
    for name, lr in model.local_resources.items():
        argv = lr["cmd"]
        target = argv[3] if argv[1] == "-m" else argv[1]
        assert (Path(lr["dir"]) / target).exists(), f"{name}: {target} missing"
        assert Path(lr["dir"]) == REPO


def test_under_tilt_up_the_destructive_and_slow_checks_are_manual():
    _, resources = tilt("up")
    assert resources["health-check"].auto_init and resources["health-check"].trigger_mode == TRIGGER_MODE_AUTO
    for name in ("db-persistence-check", "e2e"):
        assert resources[name].auto_init is False
        assert resources[name].trigger_mode == TRIGGER_MODE_MANUAL


def test_under_tilt_ci_every_check_runs_automatically_and_e2e_runs_last():
    _, resources = tilt("ci")
    for name in ("health-check", "db-persistence-check", "e2e"):
        assert resources[name].auto_init is True
        assert resources[name].trigger_mode == TRIGGER_MODE_AUTO
    assert resources["e2e"].resource_deps == ["db-persistence-check"]
    e2e = resources["e2e"].local
    assert e2e["cmd"][1:4] == ["-m", "pytest", "tests/e2e"]
    # the suite targets the forwards and must not silently skip its cluster tests
    assert (
        e2e["env"]["E2E_API_URL"] == "http://localhost:8000" and e2e["env"]["E2E_BASE_URL"] == "http://localhost:3000"
    )
    assert e2e["env"]["E2E_REQUIRE_CLUSTER"] == "1" and e2e["env"]["E2E_NAMESPACE"] == "taskpilot"
    assert e2e["env"]["E2E_INSIDE_TILT"] == "1"  # the tilt down/up cycle test must not take its own Tilt down


def test_ci_and_update_settings_bound_the_pipeline():
    model, _ = tilt("ci")

    def minutes(duration):
        value, unit = re.fullmatch(r"(\d+)([ms])", duration).groups()
        return int(value) / (60 if unit == "s" else 1)

    ci = model.settings["ci_settings"]
    assert minutes(ci["timeout"]) <= 20, "tilt ci must end well inside 30 minutes"
    assert minutes(ci["readiness_timeout"]) < minutes(ci["timeout"])
    assert 0 < minutes(ci["k8s_grace_period"]) < minutes(ci["readiness_timeout"])
    assert 30 <= model.settings["update_settings"]["k8s_upsert_timeout_secs"] <= 300


def test_ui_buttons_run_existing_helpers_on_existing_resources():
    model, resources = tilt()
    assert set(model.ui_buttons) == {"persistence-check", "reset-database", "seed-demo", "scale-check", "psql"}
    for name, button in model.ui_buttons.items():
        resource = button["location"].fields["component_id"]
        assert resource in resources
        cmd = model.cmds["btn-" + name]
        assert cmd["start_on"].fields["ui_buttons"] == [name]
        assert cmd["dir"] == str(REPO)
        if cmd["args"][0].endswith("python") or cmd["args"][0] == "python3":
            assert (REPO / cmd["args"][1]).is_file()
    psql = model.cmds["btn-psql"]["args"][2]  # sh -c SCRIPT psql CONTEXT NAMESPACE
    assert "statefulset/taskpilot-ai-postgresql" in psql and '"$SQL"' in psql


def test_tilt_down_evaluates_without_creating_buttons():
    model, resources = tilt("down")
    assert model.ui_buttons == {} and "backend" in resources


# ---- flags ---------------------------------------------------------------------------------
def test_help_lists_every_flag_with_its_usage():
    with pytest.raises(ConfigHelp) as info:
        TiltModel(TILTFILE, args=["--help"], env={}).load()
    assert "--no-frontend" in str(info.value) and "--prod-images" in str(info.value)
    assert "no browser e2e" in str(info.value)


def test_unknown_flag_is_rejected():
    with pytest.raises(TiltfileError, match="flag provided but not defined: -frontend-only"):
        TiltModel(TILTFILE, args=["--frontend-only"], env={}).load()


def test_no_frontend_drops_the_frontend_build_workload_forward_and_browser_tests():
    model, resources = tilt("up", "--no-frontend")
    assert set(builds(model)) == {"taskpilot-backend"}
    assert "frontend" not in resources and "e2e" not in resources
    assert not any(
        "frontend" in o["metadata"]["name"] for o in model.k8s_objects if o["kind"] in ("Deployment", "Service")
    )
    assert all(p.local_port != 3000 for r in resources.values() for p in r.port_forwards)
    health = resources["health-check"]
    assert "--skip-frontend" in health.local["cmd"] and health.resource_deps == ["backend"]


def test_prod_images_builds_the_final_stages_without_live_update():
    model, _ = tilt("up", "--prod-images")
    for ref in APP_IMAGES:
        assert builds(model)[ref]["target"] == "" and builds(model)[ref]["live_update"] == []
    (argv,) = model.helm_calls
    sets = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--set"]
    assert {
        "backend.securityContext.readOnlyRootFilesystem=true",
        "frontend.securityContext.readOnlyRootFilesystem=true",
    } <= set(sets), "prod stages run hardened"


# ---- the context guard -----------------------------------------------------------------------
@pytest.mark.parametrize("context", ["gke_acme_europe-west1_prod", "arn:aws:eks:eu-west-1:1:cluster/prod", "kind-"])
@pytest.mark.parametrize("subcommand", ["up", "ci", "down"])
def test_guard_refuses_non_local_contexts_with_instructions(context, subcommand):
    with pytest.raises(TiltfileError) as info:
        TiltModel(TILTFILE, subcommand=subcommand, context=context, env={}).load()
    message = str(info.value)
    assert f'kubectl context "{context}" is not a local development cluster' in message
    assert "kubectl config use-context minikube" in message
    assert "allowed_contexts" in message


def test_guard_explains_a_missing_context():
    with pytest.raises(TiltfileError, match="minikube start"):
        TiltModel(TILTFILE, context="", env={}).load()


@pytest.mark.parametrize("context", ["minikube", "kind-taskpilot", "docker-desktop"])
def test_guard_accepts_local_contexts(context):
    _, resources = tilt("up", context=context)
    assert "backend" in resources


def test_tilt_settings_can_allow_an_extra_dev_context(tmp_path):
    for entry in REPO.iterdir():  # a copy of the repo layout with a personal tilt-settings.yaml
        if entry.name not in ("Tiltfile", "tilt-settings.yaml", ".git", ".venv", ".cache"):
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copy(TILTFILE, tmp_path / "Tiltfile")
    (tmp_path / "tilt-settings.yaml").write_text("allowed_contexts: [team-dev]\nhelm_set: [backend.replicas=2]\n")
    model = TiltModel(tmp_path / "Tiltfile", context="team-dev", env={}).load()
    assert model.allowed_contexts == ["team-dev"]
    (backend,) = [
        o for o in model.k8s_objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "taskpilot-ai-backend"
    ]
    assert backend["spec"]["replicas"] == 2
