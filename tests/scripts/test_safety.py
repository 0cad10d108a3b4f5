"""Missing tools are named with install hints; a non-minikube context is never acted upon."""

import pytest

CLUSTER_TOOLS = ("kubectl", "helm", "minikube")


@pytest.mark.parametrize(
    ("tool", "hint"),
    [
        ("minikube", "brew install minikube"),
        ("kubectl", "brew install kubectl"),
        ("helm", "brew install helm"),
        ("tilt", "brew install tilt"),
        ("docker", "https://docs.docker.com/engine/install/"),
    ],
)
def test_missing_tool_is_named_with_linux_and_macos_install_hint(world, tool, hint):
    world.remove_tool(tool)
    result = world.run("setup.sh")
    assert result.returncode == 1
    assert f"error: {tool} is not installed" in result.stderr
    assert f"install {tool}:\n    Linux: " in result.stderr and "\n    macOS: " in result.stderr
    assert hint in result.stderr
    assert result.mutations == []


def test_tilt_is_not_required_for_the_plain_path(world):
    world.remove_tool("tilt")
    result = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert result.returncode == 0, result.output


def test_too_old_tool_and_stopped_docker_daemon_are_reported_together(world):
    world.state["versions"] = {"helm": "v3.8.0"}
    world.state["docker_daemon"] = False
    result = world.run("setup.sh")
    assert result.returncode == 1
    assert "helm 3.8.0 is too old (need >= 3.15.0)" in result.stderr
    assert "Docker daemon is not reachable" in result.stderr
    assert "2 prerequisite problem(s)" in result.stderr


def assert_only_minikube_touched(result):
    for call in result.calls:
        if call["tool"] in ("kubectl", "helm") and call["argv"][:1] not in (["version"], ["config"]):
            assert call["context"] == "minikube", call
    flag_free = [
        c
        for c in result.calls
        if c["tool"] in ("kubectl", "helm")
        and c["argv"][:1] not in (["version"], ["config"])
        and "--context" not in c["argv"]
        and "--kube-context" not in c["argv"]
    ]
    assert flag_free == [], "every cluster call must pin the minikube context explicitly"


@pytest.mark.parametrize(
    "script, args",
    [
        ("setup.sh", ()),
        ("setup.sh", ("--no-tilt", "--no-port-forward")),
        ("setup-minikube.sh", ()),
        ("cleanup.sh", ()),
        ("cleanup.sh", ("--stop",)),
    ],
)
def test_production_current_context_is_never_touched(world, script, args):
    # the Tilt path refuses to run over a Helm release (test_install_paths), so it starts without one
    world.running_minikube(release=(script, args) != ("setup.sh", ()), namespace=True)
    world.production_context(current=True)
    before = world.state["contexts"]["prod-eks"]
    result = world.run(script, *args)
    assert result.returncode == 0, result.output
    assert_only_minikube_touched(result)
    assert result.state["contexts"]["prod-eks"] == before
    assert "current kube context is 'prod-eks'" in result.stderr


def test_cleanup_with_only_a_production_cluster_removes_nothing(world):
    world.production_context(current=True)
    result = world.run("cleanup.sh", "--purge", "--yes")
    assert result.returncode == 0, result.output
    assert result.mutations == []
    assert result.state["contexts"]["prod-eks"]["releases"] == {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"}


def test_tilt_is_pinned_to_minikube_even_when_prod_is_current(world):
    world.running_minikube(namespace=True)
    world.production_context(current=True)
    result = world.run("setup.sh")
    assert result.returncode == 0, result.output
    assert result.mutations[-1] == "tilt up --context minikube"
