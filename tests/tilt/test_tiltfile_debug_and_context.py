"""The Tiltfile's --debug flags, the context/namespace every cluster helper gets, the cold-start figure."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from test_tiltfile import REPO, TILTFILE, builds, tilt
from tilt_api import Sync, TiltfileError
from tilt_model import ConfigHelp, TiltModel, containers

DEBUG_PORTS = {5678: ("backend", "debugpy"), 9229: ("frontend", "inspector")}


def forwards(resources):
    return {p.local_port: name for name, r in resources.items() for p in r.port_forwards}


def container_ports(resource):
    return {
        p["containerPort"]: p.get("name") for o in resource.objects for c in containers(o) for p in c.get("ports", [])
    }


# ---- --debug / --debug-wait ------------------------------------------------------------------
def test_help_lists_the_debug_flags():
    with pytest.raises(ConfigHelp) as info:
        TiltModel(TILTFILE, args=["--help"], env={}).load()
    assert "--debug" in str(info.value) and "--debug-wait" in str(info.value)
    assert "localhost:5678" in str(info.value) and "localhost:9229" in str(info.value)


def test_without_debug_no_debugger_port_is_forwarded_or_opened():
    model, resources = tilt("up")
    assert not set(forwards(resources)) & set(DEBUG_PORTS)
    for name in ("backend", "frontend"):
        assert not set(container_ports(resources[name])) & set(DEBUG_PORTS)
    assert not any(s.startswith("debug.") for s in model.helm_calls[0] if isinstance(s, str))


@pytest.mark.parametrize("flag,wait", [("--debug", "false"), ("--debug-wait", "true")])
def test_debug_forwards_5678_and_9229_to_ports_the_pods_open(flag, wait):
    model, resources = tilt("up", flag)
    assert {port: forwards(resources).get(port) for port in DEBUG_PORTS} == {5678: "backend", 9229: "frontend"}
    for port, (name, port_name) in DEBUG_PORTS.items():
        assert container_ports(resources[name]).get(port) == port_name, f"{name} does not open {port}"
    (argv,) = model.helm_calls
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    assert "debug.enabled=true" in sets and f"debug.wait={wait}" in sets
    # the debugger does not cost the inner loop: live update is exactly the one without --debug
    plain, _ = tilt("up")
    for ref in ("taskpilot-backend", "taskpilot-frontend"):
        assert builds(model)[ref]["live_update"] == builds(plain)[ref]["live_update"]
        assert builds(model)[ref]["target"] == "dev"
        assert any(isinstance(s, Sync) for s in builds(model)[ref]["live_update"])


def test_debug_without_frontend_forwards_only_debugpy():
    _, resources = tilt("up", "--debug", "--no-frontend")
    assert 5678 in forwards(resources) and 9229 not in forwards(resources)


def test_debug_refuses_the_prod_images_which_have_no_debugger():
    with pytest.raises(TiltfileError, match="--debug needs the dev images"):
        TiltModel(TILTFILE, args=["--debug", "--prod-images"], env={}).load()


# ---- context and namespace -------------------------------------------------------------------
def cluster_commands(model):
    """argv of every button and local resource that reaches the cluster (not just the forwards)."""
    commands = {"btn:" + name[len("btn-") :]: cmd["args"] for name, cmd in model.cmds.items()}
    commands.update({name: lr["cmd"] for name, lr in model.local_resources.items()})
    return {
        name: argv
        for name, argv in commands.items()
        if any(word in " ".join(argv) for word in ("kubectl", "_check.py", "reset_database"))
    }


def option(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


@pytest.mark.parametrize("context", ["kind-taskpilot", "docker-desktop"])
def test_every_cluster_helper_and_button_gets_tilts_context_and_namespace(context):
    """Tilt deploys to `context` (tilt up --context ...), whatever kubectl's current context is."""
    model, resources = tilt("up", context=context)
    commands = cluster_commands(model)
    assert {
        "btn:persistence-check",
        "btn:reset-database",
        "btn:scale-check",
        "btn:psql",
        "db-persistence-check",
    } <= set(commands)
    for name, argv in commands.items():
        if name == "btn:psql":  # sh -c SCRIPT $0 $1 $2: the script uses "$1"/"$2", never the current context
            assert argv[-2:] == [context, "taskpilot"] and 'kubectl --context "$1" exec -n "$2"' in argv[2]
            continue
        assert option(argv, "--context") == context, name
        assert option(argv, "--namespace") == "taskpilot", name
    assert resources["e2e"].local["env"]["E2E_KUBE_CONTEXT"] == context


@pytest.mark.parametrize("script", ["db_persistence_check.py", "scale_check.py", "reset_database.py"])
def test_the_helpers_accept_what_the_tiltfile_passes(script):
    model, _ = tilt("up", context="kind-taskpilot")
    argv = next(a for a in cluster_commands(model).values() if a[1:2] == [f"dev/{script}"])
    usage = subprocess.run(
        [sys.executable, str(REPO / "dev" / script), "--help"], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    for flag in (a for a in argv[2:] if a.startswith("--")):
        assert flag in usage, f"{script} does not accept {flag}"


def test_an_extra_allowed_context_is_passed_on_as_allowed(tmp_path):
    for entry in REPO.iterdir():
        if entry.name not in ("Tiltfile", "tilt-settings.yaml", ".git", ".venv", ".cache"):
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copy(TILTFILE, tmp_path / "Tiltfile")
    (tmp_path / "tilt-settings.yaml").write_text("allowed_contexts: [team-dev]\n")
    model = TiltModel(tmp_path / "Tiltfile", context="team-dev", env={}).load()
    for name, argv in cluster_commands(model).items():
        if name != "btn:psql":
            assert option(argv, "--context") == "team-dev" and option(argv, "--allow-context") == "team-dev", name


def test_reset_database_button_confirms_first_and_waits_for_the_app():
    model, resources = tilt("up")
    button = model.ui_buttons["reset-database"]
    assert button["requires_confirmation"] is True
    assert button["location"].fields["component_id"] == "postgresql" and "postgresql" in resources
    argv = model.cmds["btn-reset-database"]["args"]
    assert argv[1] == "dev/reset_database.py" and (REPO / argv[1]).is_file()
    # Tilt's dialog is the confirmation; the helper then reports when the API is back on the forward
    assert "--yes" in argv and option(argv, "--api-url") == "http://localhost:8000"


# ---- cold start --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "subcommand,args,after",
    [
        ("up", (), ["health-check"]),
        ("ci", (), ["e2e"]),
        ("ci", ("--no-frontend",), ["db-persistence-check"]),
    ],
)
def test_cold_start_is_measured_after_the_last_automatic_check(subcommand, args, after):
    _, resources = tilt(subcommand, *args)
    cold = resources["cold-start"]
    assert cold.resource_deps == after and cold.auto_init
    assert cold.local["cmd"][1:] == ["dev/cold_start.py", "--record", ".cache/tilt-cold-start.json"]
    # whatever it waits for is itself automatic, or it would wait forever
    for dep in after:
        assert resources[dep].auto_init
