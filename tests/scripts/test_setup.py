"""setup.sh and setup-minikube.sh against fake CLIs: command sequences, reuse, refusals."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HAS_HELPER_REQUIREMENTS = (REPO_ROOT / "dev" / "requirements.txt").exists()

CLUSTER_START = [
    "minikube start -p minikube --cpus 4 --memory 8192 --driver docker",
    "minikube addons enable ingress -p minikube",
    "kubectl --context minikube create namespace taskpilot",
]


def venv_steps(world) -> list[str]:
    venv = world.root / "venv"
    steps = [f"python3 -m venv {venv}"]
    if HAS_HELPER_REQUIREMENTS:
        steps.append("venv-pip install --quiet -r dev/requirements.txt -e dev/toolkit")
    return steps


def test_tilt_path_from_scratch_starts_cluster_then_tilt(world):
    result = world.run("setup.sh")
    assert result.returncode == 0, result.output
    assert result.mutations == [*CLUSTER_START, *venv_steps(world), "tilt up --context minikube"]
    assert result.state["minikube"] == "running"
    assert "taskpilot" in result.state["contexts"]["minikube"]["namespaces"]
    # numbered steps with elapsed time
    assert "[1/6] Checking prerequisites (+" in result.stdout
    assert "[6/6] Starting Tilt" in result.stdout


def test_no_tilt_path_builds_loads_installs_waits(world):
    result = world.run("setup.sh", "--no-tilt", "--no-port-forward", env={"IMAGE_TAG": "t1"})
    assert result.returncode == 0, result.output
    values = "--values helm/taskpilot-ai/values.yaml --values helm/taskpilot-ai/values-dev.yaml"
    images = (
        "--set frontend.image.repository=taskpilot-frontend --set frontend.image.tag=t1 "
        "--set frontend.image.pullPolicy=Never --set backend.image.repository=taskpilot-backend "
        "--set backend.image.tag=t1 --set backend.image.pullPolicy=Never"
    )
    assert result.mutations == [
        *CLUSTER_START,
        *venv_steps(world),
        "docker build -f docker/Dockerfile.frontend -t taskpilot-frontend:t1 .",
        "docker build -f docker/Dockerfile.backend -t taskpilot-backend:t1 .",
        "minikube image load -p minikube taskpilot-frontend:t1",
        "minikube image load -p minikube taskpilot-backend:t1",
        "helm --kube-context minikube upgrade --install taskpilot-ai helm/taskpilot-ai --namespace taskpilot "
        f"{values} {images} --timeout 10m",
        *[
            f"kubectl --context minikube rollout status {workload} -n taskpilot --timeout=300s"
            for workload in (
                "statefulset/taskpilot-ai-postgresql",
                "deployment/taskpilot-ai-backend",
                "deployment/taskpilot-ai-frontend",
            )
        ],
        *[
            f"kubectl --context minikube wait --for=condition=ready pod -l app=taskpilot-{app} "
            "-n taskpilot --timeout=300s"
            for app in ("postgresql", "backend", "frontend")
        ],
    ]
    assert "tilt" not in {c["tool"] for c in result.calls}
    assert result.state["contexts"]["minikube"]["releases"] == {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"}
    assert "[9/9] Waiting for pods to be Ready" in result.stdout


def test_no_tilt_path_ends_in_port_forwards(world):
    result = world.run("setup.sh", "--no-tilt", env={"PORT_FORWARD_MAX_RESTARTS": "0"})
    # the forwards "drop" in the fake, so port-forward.sh gives up: exit 1 after forwarding
    assert result.returncode == 1
    forwards = sorted(m for m in result.mutations if "port-forward" in m)
    assert forwards == [
        "kubectl --context minikube -n taskpilot port-forward --address 127.0.0.1 svc/backend-service 39782:80",
        "kubectl --context minikube -n taskpilot port-forward --address 127.0.0.1 svc/frontend-service 39781:80",
    ]
    assert "[10/10] Port-forwarding 3000 and 8000" in result.stdout


def test_running_cluster_is_reused_and_rerun_is_idempotent(world):
    world.running_minikube(namespace=True)
    result = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert result.returncode == 0, result.output
    assert not any(m.startswith("minikube start") for m in result.mutations)
    assert not any("create namespace" in m for m in result.mutations)
    assert "already running; reusing it" in result.stdout
    second = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert second.returncode == 0, second.output
    assert not any(m.startswith("python3 -m venv") for m in second.mutations)  # venv reused


def test_stopped_cluster_is_started(world):
    world.running_minikube(namespace=True)
    world.state["minikube"] = "stopped"
    result = world.run("setup-minikube.sh")
    assert result.returncode == 0, result.output
    assert result.mutations[0] == "minikube start -p minikube --cpus 4 --memory 8192 --driver docker"
    assert "minikube profile 'minikube' is stopped; starting it" in result.stdout


def test_resources_are_overridable_by_env(world):
    result = world.run(
        "setup-minikube.sh",
        env={
            "MINIKUBE_CPUS": "2",
            "MINIKUBE_MEMORY": "4096",
            "MINIKUBE_DRIVER": "docker",
            "MINIKUBE_K8S_VERSION": "v1.30.0",
        },
    )
    assert result.returncode == 0, result.output
    assert (
        result.mutations[0]
        == "minikube start -p minikube --cpus 2 --memory 4096 --driver docker --kubernetes-version v1.30.0"
    )


def test_small_host_is_refused_politely_before_starting(world):
    world.state.update(docker_ncpu=2, docker_mem_bytes=4 * 1024**3)
    result = world.run("setup.sh")
    assert result.returncode == 1
    assert "offers 2 CPUs / 4096 MB" in result.stderr
    assert "MINIKUBE_CPUS=2 MINIKUBE_MEMORY=4096" in result.stderr
    assert result.mutations == []


def test_setup_minikube_only_prepares_the_cluster(world):
    result = world.run("setup-minikube.sh")
    assert result.returncode == 0, result.output
    assert result.mutations == CLUSTER_START
    assert "[4/4] Creating namespace 'taskpilot'" in result.stdout


def test_failed_helm_install_names_the_command_and_what_to_try(world):
    world.state["fail"] = ["helm --kube-context minikube upgrade"]
    result = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert result.returncode == 1
    assert "helm upgrade --install failed." in result.stderr
    assert "try: helm --kube-context minikube status taskpilot-ai -n taskpilot" in result.stderr
    assert "setup stopped during step 'Deploying the chart (release taskpilot-ai)'" in result.stderr
    assert not any("wait" in m for m in result.mutations)


def test_unknown_option_is_rejected_with_usage(world):
    result = world.run("setup.sh", "--frobnicate")
    assert result.returncode == 2
    assert "unknown option: --frobnicate" in result.stderr and "Usage:" in result.stderr
    assert result.calls == []
