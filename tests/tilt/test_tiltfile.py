"""The real Tiltfile as the real Tilt evaluates it (`tilt alpha tiltfile-result`, see tilt_result.py).

What this proves and nothing else proves as quickly: the Tiltfile's wiring — which images Tilt builds
and how (targets, build-context filters, live-update rules), that every image reaches its workloads,
port forwards, links, labels, resource dependencies, the checks under `tilt up` and `tilt ci`,
buttons, flags and personal settings. That every builtin is called as the pinned Tilt defines it is
proven by the evaluation itself. What the pods then do is the cluster tier's part (a real `tilt ci`).
Tilt does not report update_settings() in this output (its fields are private), so they are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from tilt_result import TRIGGER_AUTO, TRIGGER_MANUAL, evaluate, refusal

from taskpilot_dev.paths import REPO_ROOT

APPS = {"taskpilot-backend": "backend", "taskpilot-frontend": "frontend"}  # image -> app dir and resource
CHECKS = ("health-check", "db-persistence-check", "e2e", "cold-start")


def dockerfile_stage(dockerfile: str, stage: str) -> list[str]:
    """Instruction lines of one `FROM ... AS <stage>` stage."""
    lines, inside = [], False
    for line in dockerfile.splitlines():
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            inside = (match.group(1) or "").lower() == stage
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


def excluded_by(source: str, filters: list[dict]) -> str | None:
    """The build-context filter that leaves `source` out, if any: dockerignore's last-match-wins, with
    literal prefixes only (the wildcard patterns here name caches, never a path a Dockerfile copies)."""
    source = source.rstrip("/")
    for block in filters:
        out = None
        for pattern in block.get("patterns") or []:
            path = pattern.lstrip("!").rstrip("/")
            if path in ("*", "**") or source == path or source.startswith(path + "/"):
                out = None if pattern.startswith("!") else pattern
        if out:
            return out
    return None


# ---- images and live update -------------------------------------------------------------------
def test_two_dev_image_builds_from_the_repo_root():
    result = evaluate()
    assert set(result.images()) == set(APPS)
    for image, app in APPS.items():
        build = result.images()[image]["BuildDetails"]
        assert build["target"] == "dev" and build["context"] == str(result.root)
        assert build["dockerfileContents"] == (REPO_ROOT / "docker" / f"Dockerfile.{app}").read_text()
        assert dockerfile_stage(build["dockerfileContents"], "dev"), f"{app} Dockerfile has no `dev` stage"
        # only= keeps unrelated edits (docs, the other app, tests) from triggering builds
        assert {"patterns": ["**", f"!{app}/", "!docker/"], "basePath": str(result.root)} in build["contextIgnores"]


@pytest.mark.parametrize("image", sorted(APPS))
def test_build_context_keeps_everything_the_dockerfile_copies(image):
    build = evaluate().images()[image]["BuildDetails"]
    sources = []
    for line in build["dockerfileContents"].splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    assert len(sources) >= 2
    for source in sources:
        assert excluded_by(source, build["contextIgnores"]) is None, f"{source} is not in Tilt's build context"
    assert excluded_by(f"{APPS[image]}/tests/x", build["contextIgnores"]), "tests stay out of the image"


@pytest.mark.parametrize("image", sorted(APPS))
def test_live_update_syncs_the_app_dir_into_the_dev_images_workdir(image):
    target = evaluate().images()[image]
    spec = target["LiveUpdateSpec"]
    app = APPS[image]
    assert [(s["localPath"], s["containerPath"].rstrip("/")) for s in spec["syncs"]] == [(app, "/app")]
    workdirs = [
        line.split()[1]
        for line in dockerfile_stage(target["BuildDetails"]["dockerfileContents"], "dev")
        if line.upper().startswith("WORKDIR")
    ]
    assert workdirs[-1] == "/app", "the sync target must be the dev image's working directory"
    for path in spec.get("stopPaths") or []:
        assert path.startswith(app + "/"), f"{path}: a rebuild trigger outside the synced app"
    for step in spec.get("execs") or []:
        assert step["triggerPaths"], "a run() without trigger would run on every edit"
        for trigger in step["triggerPaths"]:
            assert trigger.startswith(app + "/") and not excluded_by(trigger, target["FileWatchIgnores"])
    # A dependency manifest must re-install (run step) or rebuild (fall_back_on), never be just copied.
    watched = {Path(p).name for p in spec.get("stopPaths") or []}
    watched |= {Path(p).name for s in spec.get("execs") or [] for p in s["triggerPaths"]}
    assert watched & {"package.json", "requirements.txt"}


def test_backend_reinstalls_requirements_and_rebuilds_for_a_new_migration():
    spec = evaluate().images()["taskpilot-backend"]["LiveUpdateSpec"]
    (step,) = spec["execs"]
    assert step["triggerPaths"] == ["backend/requirements.txt"]
    assert step["args"] == ["sh", "-c", "pip install -r /app/requirements.txt"]
    # a migration needs a new pod: its init container migrates before the app starts
    assert set(spec["stopPaths"]) == {"backend/alembic", "backend/alembic.ini"}


def test_frontend_rebuilds_for_next_config_and_package_changes_without_npm_in_the_pod():
    target = evaluate().images()["taskpilot-frontend"]
    spec = target["LiveUpdateSpec"]
    assert {"frontend/package.json", "frontend/package-lock.json"} <= set(spec["stopPaths"])
    assert any(Path(p).name.startswith("next.config.") for p in spec["stopPaths"])
    assert not spec.get("execs"), "no `npm ci` under the running dev server"
    # node_modules is the image's own (npm ci at build time): a host install never syncs over it
    assert any("**/node_modules" in (b.get("patterns") or []) for b in target["FileWatchIgnores"])


def test_every_built_image_is_injected_into_the_workloads_that_use_it():
    result = evaluate()
    used_anywhere = set()
    for name, manifest in result.manifests.items():
        if "yaml" not in manifest["DeployTarget"]:
            continue
        used = {c["image"].split(":")[0] for c in result.containers(name)} & set(APPS)
        assert set(manifest["DeployTarget"].get("imageMaps") or []) == used, name
        assert {t["selector"] for t in manifest.get("ImageTargets") or []} == used, name
        used_anywhere |= used
    assert used_anywhere == set(APPS)
    backend = {c["name"]: c["image"] for c in result.containers("backend")}
    assert backend["migrate"].split(":")[0] == "taskpilot-backend", "migrations run from the image just built"


# ---- chart, namespace and resources ----------------------------------------------------------
def test_chart_is_rendered_with_dev_values_into_the_taskpilot_namespace():
    result = evaluate()
    objects = result.all_objects()
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"] == ["taskpilot"]
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "taskpilot", obj["metadata"]["name"]
    assert "uncategorized" not in result.manifests, "every object belongs to a named resource"
    assert not [o for o in objects if o["kind"] == "Pod"], "helm test pods are not deployed"
    (config,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "taskpilot-ai-config"]
    assert config["data"]["APP_ENV"] == "dev"
    dev_server = {c["name"]: c for c in result.containers("backend")}["backend"]
    assert dev_server["securityContext"]["readOnlyRootFilesystem"] is False, "live update writes into /app"


def test_the_tiltfile_is_reloaded_when_the_chart_settings_or_extensions_change():
    result = evaluate()
    watched = {result.relative(p) for p in result.data["ConfigFiles"]}
    extensions = {str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("tilt_extensions/*/Tiltfile")}
    assert {"Tiltfile", "tilt-settings.yaml", "helm/taskpilot-ai"} | extensions <= watched


def test_database_volume_survives_tilt_down():
    objects = evaluate().all_objects()
    # The data claim comes from the StatefulSet's template: Kubernetes creates it, Tilt never deletes it.
    (postgres,) = [o for o in objects if o["kind"] == "StatefulSet"]
    assert [t["metadata"]["name"] for t in postgres["spec"]["volumeClaimTemplates"]] == ["data"]
    for pvc in (o for o in objects if o["kind"] == "PersistentVolumeClaim"):
        assert pvc["metadata"]["annotations"]["tilt.dev/down-policy"] == "keep"


@pytest.mark.parametrize("name,port,label", [("frontend", 3000, "TaskPilot app"), ("backend", 8000, "API")])
def test_port_forwards_reach_a_port_the_workload_opens(name, port, label):
    result = evaluate()
    (forward,) = [f for f in result.forwards(name) if f["localPort"] == port]
    assert forward["name"] == label and forward["containerPort"] in result.container_ports(name)
    assert [n for n in result.manifests if any(f["localPort"] == port for f in result.forwards(n))] == [name]


def test_backend_links_to_api_docs_and_health():
    links = evaluate().manifests["backend"]["DeployTarget"]["Links"]
    urls = {(link["URL"]["Host"], link["URL"]["Path"]) for link in links}
    assert urls == {("localhost:8000", "/docs"), ("localhost:8000", "/health/ready")}


def test_resource_dependencies_and_labels_follow_the_architecture():
    manifests = evaluate().manifests
    deps = {name: set(m["ResourceDependencies"] or []) for name, m in manifests.items()}
    assert deps["postgresql"] == {"cluster-setup"}
    assert deps["backend"] == {"postgresql"}
    assert deps["frontend"] == {"backend"}
    assert deps["health-check"] == {"backend", "frontend"}
    assert deps["db-persistence-check"] == {"health-check"}
    labels = {name: list(m["Labels"]) for name, m in manifests.items()}
    assert labels["backend"] == labels["frontend"] == ["app"]
    assert labels["postgresql"] == labels["cluster-setup"] == ["infra"]
    assert all(labels[check] == ["checks"] for check in CHECKS)


# ---- checks: tilt up vs tilt ci ------------------------------------------------------------
def test_checks_run_helpers_that_exist_with_the_venv_python():
    result = evaluate()
    for name in CHECKS:
        cmd = result.local_cmd(name)
        assert cmd["dir"] == str(result.root)
        python, *argv = cmd["args"]
        assert Path(python).name.startswith("python") and (Path(python).is_file() or python == "python3")
        target = argv[2] if argv[0] == "-m" else argv[0]
        assert (result.root / target).exists(), f"{name}: {target} missing"
        assert cmd["env"]["PYTHONUNBUFFERED"] == "1"


def test_the_health_check_reruns_on_edits_of_either_app():
    deploy = evaluate().manifests["health-check"]["DeployTarget"]
    assert sorted(Path(d).name for d in deploy["Deps"]) == ["backend", "frontend"]


def test_under_tilt_up_the_destructive_and_slow_checks_are_click_to_run():
    manifests = evaluate().manifests
    assert manifests["health-check"]["TriggerMode"] == TRIGGER_AUTO
    for name in ("db-persistence-check", "e2e"):
        assert manifests[name]["TriggerMode"] == TRIGGER_MANUAL, name
    assert manifests["e2e"]["ResourceDependencies"] == ["health-check"]


def test_under_tilt_ci_every_check_runs_automatically_and_e2e_runs_after_the_persistence_check():
    result = evaluate(ci=True)
    for name in CHECKS:
        assert result.manifests[name]["TriggerMode"] == TRIGGER_AUTO, name
    assert result.manifests["e2e"]["ResourceDependencies"] == ["db-persistence-check"]
    e2e = result.local_cmd("e2e")
    assert e2e["args"][1:] == ["-m", "pytest", "tests/e2e", "-q", "-m", "not cluster"]
    assert e2e["env"]["E2E_API_URL"] == "http://localhost:8000"
    assert e2e["env"]["E2E_BASE_URL"] == "http://localhost:3000"
    assert e2e["env"]["E2E_NAMESPACE"] == "taskpilot"
    assert e2e["env"]["E2E_INSIDE_TILT"] == "1", "the tilt down/up cycle test must not take its own Tilt down"


def test_ci_settings_bound_the_pipeline():
    ci = evaluate(ci=True).data["CISettings"]

    def minutes(duration: str) -> float:  # Go durations as Tilt prints them: 20m0s, 2m0s
        hours, mins, secs = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", duration).groups()
        return int(hours or 0) * 60 + int(mins or 0) + float(secs or 0) / 60

    assert 0 < minutes(ci["timeout"]) <= 20, "tilt ci must end well inside 30 minutes"
    assert 0 < minutes(ci["k8sGracePeriod"]) < minutes(ci["timeout"])


# ---- buttons ----------------------------------------------------------------------------------
def test_ui_buttons_run_existing_helpers_on_existing_resources():
    result = evaluate()
    buttons, cmds = result.api_objects("uibuttons"), result.api_objects("cmds")
    assert set(buttons) == {"persistence-check", "reset-database", "seed-demo", "scale-check", "psql"}
    assert set(cmds) == {"btn-" + name for name in buttons}
    for name, button in buttons.items():
        location = button["spec"]["location"]
        assert location["componentType"] == "Resource" and location["componentID"] in result.manifests
        cmd = cmds["btn-" + name]["spec"]
        assert cmd["startOn"]["uiButtons"] == [name] and cmd["dir"] == str(result.root)
        # every button runs a script of dev/ with the venv python, never an inline shell line
        python, script = cmd["args"][:2]
        assert Path(python).name.startswith("python") and script.startswith("dev/"), (name, cmd["args"])
        assert (result.root / script).is_file(), script
    assert cmds["btn-psql"]["spec"]["args"][1] == "dev/psql.py"
    assert buttons["psql"]["spec"]["inputs"][0]["name"] == "SQL", "the field reaches dev/psql.py as $SQL"


# ---- flags -----------------------------------------------------------------------------------
def test_help_lists_every_flag_with_its_usage():
    usage = refusal("--help")
    for flag in ("--no-frontend", "--prod-images", "--debug", "--debug-wait"):
        assert flag in usage
    assert "no browser e2e" in usage


def test_an_unknown_flag_is_rejected():
    assert "unknown flag: --frontend-only" in refusal("--frontend-only")


def test_no_frontend_drops_the_frontend_build_workload_forward_and_browser_tests():
    result = evaluate("--no-frontend")
    assert set(result.images()) == {"taskpilot-backend"}
    assert "frontend" not in result.manifests and "e2e" not in result.manifests
    assert not [o for o in result.all_objects() if "frontend" in o["metadata"]["name"]]
    assert all(f["localPort"] != 3000 for name in result.manifests for f in result.forwards(name))
    health = result.local_cmd("health-check")
    assert "--skip-frontend" in health["args"]
    assert result.manifests["health-check"]["ResourceDependencies"] == ["backend"]


def test_prod_images_builds_the_final_stages_hardened_and_without_live_update():
    result = evaluate("--prod-images")
    for image, app in APPS.items():
        target = result.images()[image]
        assert not target["BuildDetails"].get("target"), "the Dockerfile's last stage"
        live_update = target.get("LiveUpdateSpec") or {}
        assert not live_update.get("syncs") and not live_update.get("execs")
        (main,) = [c for c in result.containers(app) if c["name"] == app]
        assert main["securityContext"]["readOnlyRootFilesystem"] is True, "prod stages run hardened"


# ---- personal settings -----------------------------------------------------------------------
def known_settings() -> set[str]:
    """The keys tilt-settings.example.yaml documents."""
    return set(yaml.safe_load((REPO_ROOT / "tilt-settings.example.yaml").read_text()))


def test_an_unknown_settings_key_fails_and_lists_the_known_ones():
    message = refusal(settings="allowed_context: [my-dev-cluster]\nhelm_set: [backend.replicas=2]\n")
    assert "tilt-settings.yaml: unknown setting(s) allowed_context" in message
    listed = re.search(r"known keys: ([a-z_]+(?:, [a-z_]+)*)", message).group(1)
    assert set(listed.split(", ")) == known_settings(), "the Tiltfile's defaults and the example file disagree"


def test_a_settings_value_of_the_wrong_shape_fails():
    assert "helm_set must be a list, not string" in refusal(settings="helm_set: backend.replicas=2\n")
    assert "must be a mapping of settings" in refusal(settings="- allowed_contexts\n")


def test_no_settings_file_means_the_defaults():
    result = evaluate(settings="")
    replicas = {o["metadata"]["name"]: o["spec"]["replicas"] for o in result.all_objects() if o["kind"] == "Deployment"}
    assert replicas == {"taskpilot-ai-backend": 1, "taskpilot-ai-frontend": 1}


def test_tilt_settings_add_values_files_and_overrides(tmp_path):
    values = tmp_path / "my-values.yaml"
    values.write_text("backend:\n  replicas: 2\n")
    result = evaluate(settings=f"helm_values: [{values}]\nhelm_set: [frontend.replicas=2]\n")
    replicas = {o["metadata"]["name"]: o["spec"]["replicas"] for o in result.all_objects() if o["kind"] == "Deployment"}
    assert replicas == {"taskpilot-ai-backend": 2, "taskpilot-ai-frontend": 2}
    assert str(values) in result.data["ConfigFiles"], "an edit of the values file reloads the Tiltfile"
    assert "uncategorized" not in result.manifests, "objects the values add (disruption budgets) get a resource"
