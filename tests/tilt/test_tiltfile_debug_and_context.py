"""The Tiltfile's --debug flags, its local-context guard, the context and namespace every cluster helper
gets, and the cold-start figure — as the real Tilt evaluates them (tilt_result.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from tilt_result import TRIGGER_AUTO, evaluate, refusal

from taskpilot_dev import cluster
from taskpilot_dev.localkube.layout import CONTEXT as LOCAL_CLUSTER_CONTEXT
from taskpilot_dev.paths import REPO_ROOT

DEBUG_PORTS = {5678: ("backend", "debugpy"), 9229: ("frontend", "inspector")}


def forwarded(result) -> dict[int, str]:
    return {f["localPort"]: name for name in result.manifests for f in result.forwards(name)}


def container(result, app: str) -> dict:
    (main,) = [c for c in result.containers(app) if c["name"] == app]
    return main


# ---- --debug / --debug-wait ------------------------------------------------------------------
def test_help_explains_the_debug_flags():
    usage = refusal("--help")
    assert "--debug " in usage and "--debug-wait" in usage
    assert "localhost:5678" in usage and "localhost:9229" in usage


def test_without_debug_no_debugger_port_is_forwarded_or_opened():
    result = evaluate()
    assert not set(forwarded(result)) & set(DEBUG_PORTS)
    for app in ("backend", "frontend"):
        assert not set(result.container_ports(app)) & set(DEBUG_PORTS)
        assert "livenessProbe" in container(result, app)


@pytest.mark.parametrize("flag,wait", [("--debug", "0"), ("--debug-wait", "1")])
def test_debug_forwards_5678_and_9229_to_ports_the_pods_open(flag, wait):
    result = evaluate(flag)
    assert {port: forwarded(result).get(port) for port in DEBUG_PORTS} == {5678: "backend", 9229: "frontend"}
    for port, (app, port_name) in DEBUG_PORTS.items():
        assert result.container_ports(app).get(port) == port_name, f"{app} does not open {port}"
        # a process stopped at a breakpoint fails liveness: the kubelet must not restart it mid-session
        assert "livenessProbe" not in container(result, app)
    env = {e["name"]: e.get("value") for e in container(result, "backend")["env"]}
    assert env["DEBUGPY_PORT"] == "5678" and env["DEBUGPY_WAIT_FOR_CLIENT"] == wait
    # the debugger does not cost the inner loop: the same dev images, the same live update
    plain = evaluate()
    for image, target in result.images().items():
        assert target["BuildDetails"]["target"] == "dev"
        assert target["LiveUpdateSpec"] == plain.images()[image]["LiveUpdateSpec"]


def test_debug_without_frontend_forwards_only_debugpy():
    ports = forwarded(evaluate("--debug", "--no-frontend"))
    assert 5678 in ports and 9229 not in ports


def test_debug_refuses_the_prod_images_which_have_no_debugger():
    assert "--debug needs the dev images" in refusal("--debug", "--prod-images")


def test_the_editors_debugger_maps_paths_as_live_update_syncs_them():
    launch = (REPO_ROOT / ".vscode" / "launch.json").read_text()
    configs = json.loads(re.sub(r"^\s*//.*$", "", launch, flags=re.M))["configurations"]
    syncs = {
        s["localPath"]: s["containerPath"].rstrip("/")
        for target in evaluate("--debug").images().values()
        for s in target["LiveUpdateSpec"]["syncs"]
    }
    by_port = {c.get("port") or c.get("connect", {}).get("port"): c for c in configs}
    backend, frontend = by_port[5678], by_port[9229]
    (mapping,) = backend["pathMappings"]
    assert syncs[mapping["localRoot"].removeprefix("${workspaceFolder}/")] == mapping["remoteRoot"]
    assert syncs[frontend["localRoot"].removeprefix("${workspaceFolder}/")] == frontend["remoteRoot"]


# ---- the local-context guard -----------------------------------------------------------------
@pytest.mark.parametrize("context", ["gke_acme_europe-west1_prod", "arn:aws:eks:eu-west-1:1:cluster/prod", "kind-"])
def test_guard_refuses_non_local_contexts_with_instructions(context):
    message = refusal(context=context)
    assert f'kubectl context "{context}" is not a local development cluster' in message
    assert "kubectl config use-context minikube" in message
    assert "allowed_contexts" in message and "tilt-settings.yaml" in message


def test_guard_explains_a_missing_context():
    message = refusal(context="")
    assert "No Kubernetes context is selected" in message and "minikube start" in message


LOCAL_CONTEXTS_FILE = yaml.safe_load((REPO_ROOT / "dev" / "local-contexts.yaml").read_text())


@pytest.mark.parametrize(
    "context", [*LOCAL_CONTEXTS_FILE["names"], *(prefix + "taskpilot" for prefix in LOCAL_CONTEXTS_FILE["prefixes"])]
)
def test_the_guard_and_the_python_helpers_accept_the_same_local_contexts(context):
    """dev/local-contexts.yaml is the one list: Tilt deploys to each entry, the helpers act on each."""
    assert cluster.is_local_context(context)
    assert "backend" in evaluate(context=context).manifests


def test_the_refusal_names_the_local_contexts():
    message = refusal(context="gke_acme_europe-west1_prod")
    for name in LOCAL_CONTEXTS_FILE["names"]:
        assert name in message


def test_a_dev_cluster_listed_in_tilt_settings_is_allowed():
    """The local cluster of dev/kube.sh is not a name Tilt knows: tilt-settings.yaml allows it (as CI does)."""
    assert "not a local development cluster" in refusal(context=LOCAL_CLUSTER_CONTEXT)
    settings = f"allowed_contexts: [{LOCAL_CLUSTER_CONTEXT}]\n"
    result = evaluate(context=LOCAL_CLUSTER_CONTEXT, settings=settings)
    assert "backend" in result.manifests
    for name, argv in cluster_commands(result).items():
        assert option(argv, "--allow-context") == LOCAL_CLUSTER_CONTEXT, name


# ---- context and namespace of every helper -----------------------------------------------------
def cluster_commands(result) -> dict[str, list[str]]:
    """argv of every button and check that reaches the cluster itself (not only the forwards)."""
    commands = {"btn:" + name.removeprefix("btn-"): o["spec"]["args"] for name, o in result.api_objects("cmds").items()}
    commands.update({name: result.local_cmd(name)["args"] for name in result.manifests if name.endswith("-check")})
    return {
        name: argv
        for name, argv in commands.items()
        if any(word in " ".join(argv) for word in ("persistence_check", "scale_check", "reset_database", "psql"))
    }


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


@pytest.mark.parametrize("context", ["kind-taskpilot", "docker-desktop"])
def test_every_cluster_helper_and_button_gets_tilts_context_and_namespace(context):
    """Tilt deploys to `context` (tilt up --context ...), whatever kubectl's current context is later."""
    commands = cluster_commands(evaluate(context=context))
    assert set(commands) == {
        "btn:persistence-check",
        "btn:reset-database",
        "btn:scale-check",
        "btn:psql",
        "db-persistence-check",
    }
    for name, argv in commands.items():
        assert option(argv, "--context") == context, name
        assert option(argv, "--namespace") == "taskpilot", name
        assert option(argv, "--allow-context") is None, "well-known local contexts need no exception"


@pytest.mark.parametrize("script", ["db_persistence_check.py", "scale_check.py", "reset_database.py", "psql.py"])
def test_the_helpers_accept_what_the_tiltfile_passes(script):
    settings = f"allowed_contexts: [{LOCAL_CLUSTER_CONTEXT}]\n"  # the richest argv: --allow-context too
    commands = cluster_commands(evaluate(context=LOCAL_CLUSTER_CONTEXT, settings=settings))
    argv = next(a for a in commands.values() if a[1:2] == [f"dev/{script}"])
    usage = subprocess.run(
        [sys.executable, str(REPO_ROOT / "dev" / script), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (a for a in argv[2:] if a.startswith("--")):
        assert flag in usage, f"{script} does not accept {flag}"


def test_reset_database_button_confirms_first_and_waits_for_the_app():
    result = evaluate()
    button = result.api_objects("uibuttons")["reset-database"]["spec"]
    assert button["requiresConfirmation"] is True and button["location"]["componentID"] == "postgresql"
    argv = result.api_objects("cmds")["btn-reset-database"]["spec"]["args"]
    assert argv[1] == "dev/reset_database.py" and (REPO_ROOT / argv[1]).is_file()
    # Tilt's dialog is the confirmation; the helper then reports when the API is back on the forward
    assert "--yes" in argv and option(argv, "--api-url") == "http://localhost:8000"


# ---- cold start ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ci,flags,after",
    [(False, (), ["health-check"]), (True, (), ["e2e"]), (True, ("--no-frontend",), ["db-persistence-check"])],
)
def test_cold_start_is_measured_after_the_last_automatic_check(ci, flags, after):
    result = evaluate(*flags, ci=ci)
    cold = result.manifests["cold-start"]
    assert cold["ResourceDependencies"] == after and cold["TriggerMode"] == TRIGGER_AUTO
    assert result.local_cmd("cold-start")["args"][1:] == [
        "dev/cold_start.py",
        "--record",
        ".cache/tilt-cold-start.json",
    ]
    # whatever it waits for is itself automatic, or it would wait forever
    for dep in after:
        assert result.manifests[dep]["TriggerMode"] == TRIGGER_AUTO
