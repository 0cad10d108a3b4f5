"""cleanup.sh against fake CLIs: removal, idempotency, --stop, --purge and its confirmation."""


def test_removes_release_and_namespace_then_second_run_finds_nothing(world):
    world.running_minikube(release=True)
    first = world.run("cleanup.sh")
    assert first.returncode == 0, first.output
    assert first.mutations == [
        "helm --kube-context minikube uninstall taskpilot-ai -n taskpilot",
        "kubectl --context minikube delete namespace taskpilot --wait=true --timeout=180s",
    ]
    assert "removed helm release taskpilot-ai, namespace taskpilot" in first.stdout
    cluster = first.state["contexts"]["minikube"]
    assert cluster["releases"] == {} and "taskpilot" not in cluster["namespaces"]

    second = world.run("cleanup.sh")
    assert second.returncode == 0, second.output
    assert second.mutations == []
    assert "Nothing to remove" in second.stdout


def test_namespace_without_release_is_still_deleted(world):
    world.running_minikube(namespace=True)  # what Tilt leaves: objects applied without a helm release
    result = world.run("cleanup.sh")
    assert result.returncode == 0, result.output
    assert result.mutations == ["kubectl --context minikube delete namespace taskpilot --wait=true --timeout=180s"]
    assert "release 'taskpilot-ai' is not installed" in result.stdout


def test_stop_stops_minikube_and_is_idempotent(world):
    world.running_minikube(release=True)
    first = world.run("cleanup.sh", "--stop")
    assert first.returncode == 0, first.output
    assert first.mutations[-1] == "minikube stop -p minikube"
    assert first.state["minikube"] == "stopped"
    second = world.run("cleanup.sh", "--stop")
    assert second.returncode == 0, second.output
    assert second.mutations == []
    assert "Nothing to remove: minikube 'minikube' is already stopped." in second.stdout


def test_absent_cluster_means_nothing_to_remove(world):
    result = world.run("cleanup.sh")
    assert result.returncode == 0, result.output
    assert result.mutations == []
    assert "Nothing to remove: minikube profile 'minikube' does not exist." in result.stdout


def test_stopped_cluster_explains_and_exits_zero(world):
    world.running_minikube(release=True)
    world.state["minikube"] = "stopped"
    result = world.run("cleanup.sh")
    assert result.returncode == 0, result.output
    assert result.mutations == []
    assert "./cleanup.sh --purge" in result.stderr


def test_purge_with_yes_deletes_cluster_twice_safely(world):
    world.running_minikube(release=True)
    first = world.run("cleanup.sh", "--purge", "--yes")
    assert first.returncode == 0, first.output
    assert first.mutations == ["minikube delete -p minikube"]
    assert first.state["minikube"] == "absent"
    second = world.run("cleanup.sh", "--purge", "-y")
    assert second.returncode == 0, second.output
    assert second.mutations == []
    assert "Nothing to remove" in second.stdout


def test_purge_without_confirmation_refuses_when_not_interactive(world):
    world.running_minikube(release=True)
    result = world.run("cleanup.sh", "--purge", input="y\n")
    assert result.returncode == 1
    assert "refusing without confirmation" in result.stderr
    assert "--purge --yes" in result.stderr
    assert result.mutations == []
    assert result.state["minikube"] == "running"


def test_stop_and_purge_together_are_rejected(world):
    result = world.run("cleanup.sh", "--stop", "--purge")
    assert result.returncode == 2
    assert "choose one of --stop and --purge" in result.stderr
    assert result.calls == []
