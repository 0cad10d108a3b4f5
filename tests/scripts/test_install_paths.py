"""The install paths hold together when followed literally: tool floors the chart really needs,
switching between `tilt up` and `./setup.sh --no-tilt`, and the README's plain `helm install`."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from taskpilot_dev.paths import REPO_ROOT
from taskpilot_dev.tools import render_chart

CHART = REPO_ROOT / "helm" / "taskpilot-ai"


def common_sh(expression: str) -> str:
    return subprocess.run(
        ["bash", "-c", f"source dev/lib/common.sh && {expression}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


# ---- version floors ------------------------------------------------------------------------------
def test_the_kubernetes_floor_is_the_charts():
    kube_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    floor = re.fullmatch(r">=\s*(\d+\.\d+\.\d+)(-0)?", kube_version).group(1)
    assert common_sh("echo $CHART_KUBE_VERSION") == floor
    # the tool floors were derived for this Kubernetes minor: moving the chart means revisiting them
    assert floor.startswith("1.30.")
    assert common_sh("echo $MIN_VERSION_minikube $MIN_VERSION_helm $MIN_VERSION_kubectl") == "1.33.0 3.15.0 1.29.0"


def test_the_setup_guide_states_the_same_floors():
    guide = (REPO_ROOT / "docs" / "kubernetes-setup.md").read_text()
    for tool, name in (("minikube", "minikube"), ("kubectl", "kubectl"), ("helm", "Helm")):
        floor = common_sh(f"echo $MIN_VERSION_{tool}").rsplit(".", 1)[0]  # 1.33.0 -> 1.33
        assert f"| {name} | {floor} |" in guide, f"docs/kubernetes-setup.md: {name} minimum is not {floor}"


@pytest.mark.parametrize(
    "tool,too_old,floor",
    [
        ("minikube", "v1.32.0", "1.33.0"),  # defaults to Kubernetes 1.28
        ("helm", "v3.14.4", "3.15.0"),  # helm template assumes Kubernetes 1.29: the chart refuses to render
        ("kubectl", "v1.28.9", "1.29.0"),  # outside the version skew of a 1.30 API server
    ],
)
def test_tools_below_what_the_chart_needs_are_refused_up_front(world, tool, too_old, floor):
    world.state["versions"] = {tool: too_old}
    result = world.run("setup.sh")
    assert result.returncode == 1
    assert f"{tool} {too_old[1:]} is too old (need >= {floor})" in result.stderr
    assert result.mutations == []


def test_tools_at_the_floors_pass(world):
    world.state["versions"] = {"minikube": "v1.33.0", "helm": "v3.15.0", "kubectl": "v1.29.0"}
    result = world.run("setup-minikube.sh")
    assert result.returncode == 0, result.output
    assert "minikube 1.33.0 (>= 1.33.0)" in result.stdout and "Kubernetes 1.30.0 (>= 1.30.0)" in result.stdout


def test_an_older_kubernetes_is_refused_before_minikube_starts(world):
    result = world.run("setup-minikube.sh", env={"MINIKUBE_K8S_VERSION": "v1.29.4"})
    assert result.returncode == 1
    assert "MINIKUBE_K8S_VERSION is Kubernetes 1.29.4; the chart needs >= 1.30.0" in result.stderr
    assert result.mutations == []


def test_a_reused_cluster_on_an_older_kubernetes_is_refused_with_the_way_out(world):
    world.running_minikube(namespace=True)
    world.state["contexts"]["minikube"]["kube_version"] = "v1.28.3"
    result = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert result.returncode == 1
    assert "minikube profile 'minikube' is Kubernetes 1.28.3; the chart needs >= 1.30.0" in result.stderr
    assert "try: minikube delete -p minikube" in result.stderr
    assert not any(m.startswith(("docker build", "helm")) for m in result.mutations)


# ---- switching between tilt up and --no-tilt ----------------------------------------------------------
def test_no_tilt_after_tilt_up_says_what_to_run_and_then_works(world):
    world.running_minikube(namespace=True)
    world.save()
    tilt_up = world.run(str(world.bin_dir / "tilt"), "up", "--context", "minikube")
    assert tilt_up.returncode == 0 and tilt_up.state["contexts"]["minikube"]["tilt_namespaces"] == ["taskpilot"]

    refused = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert refused.returncode == 1
    assert "holds what 'tilt up' deployed" in refused.stderr
    assert "    tilt down --context minikube\n" in refused.stderr and "setup.sh --no-tilt" in refused.stderr
    assert "setup stopped during step" not in refused.stderr
    assert not any(m.startswith(("docker build", "helm")) for m in refused.mutations), "nothing built or installed"

    # what real Helm would have said without the check: it cannot adopt Tilt's objects
    helm = world.run(
        str(world.bin_dir / "helm"),
        "--kube-context",
        "minikube",
        "upgrade",
        "--install",
        "taskpilot-ai",
        "helm/taskpilot-ai",
        "-n",
        "taskpilot",
    )
    assert helm.returncode == 1 and "invalid ownership metadata" in helm.stderr

    assert world.run(str(world.bin_dir / "tilt"), "down", "--context", "minikube").returncode == 0
    switched = world.run("setup.sh", "--no-tilt", "--no-port-forward")
    assert switched.returncode == 0, switched.output
    assert switched.state["contexts"]["minikube"]["releases"] == {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"}


def test_tilt_after_no_tilt_says_what_to_run_and_then_works(world):
    world.running_minikube(release=True)  # ./setup.sh --no-tilt ran before
    refused = world.run("setup.sh")
    assert refused.returncode == 1
    assert "holds Helm release 'taskpilot-ai'" in refused.stderr
    assert "    helm --kube-context minikube uninstall taskpilot-ai -n taskpilot\n" in refused.stderr
    assert not any(m.startswith("tilt") for m in refused.mutations)

    uninstall = world.run(
        str(world.bin_dir / "helm"), "--kube-context", "minikube", "uninstall", "taskpilot-ai", "-n", "taskpilot"
    )
    assert uninstall.returncode == 0
    switched = world.run("setup.sh")
    assert switched.returncode == 0, switched.output
    assert switched.mutations[-1] == "tilt up --context minikube"


def test_each_path_reruns_over_itself(world):
    world.running_minikube(release=True)
    assert world.run("setup.sh", "--no-tilt", "--no-port-forward").returncode == 0
    world.state["contexts"]["minikube"]["releases"] = {}
    world.state["contexts"]["minikube"]["tilt_namespaces"] = ["taskpilot"]
    assert world.run("setup.sh").returncode == 0


# ---- the README's plain helm install ---------------------------------------------------------------
def readme_plain_install() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    return readme.split("<!-- plain-helm-install -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]


def test_readme_plain_helm_install_loads_exactly_the_images_the_default_values_deploy(world, tmp_path):
    world.running_minikube(namespace=True)  # what ./setup-minikube.sh leaves behind
    script = tmp_path / "plain-install.sh"
    script.write_text("set -euo pipefail\n" + readme_plain_install())
    result = world.run("/bin/bash", str(script))
    assert result.returncode == 0, result.output
    assert "helm install taskpilot-ai helm/taskpilot-ai -n taskpilot" in result.mutations
    assert result.state["contexts"]["minikube"]["releases"] == {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"}
    # the images the chart's default render runs (real helm template) are exactly those built and loaded
    # (helm install looks the cluster up and generates the secrets; helm template is given them)
    secrets = ("secrets.jwtSecret=" + "j" * 40, "secrets.databasePassword=test-db-password")
    deployed = {
        c["image"]
        for doc in render_chart(set_values=secrets)
        if doc["kind"] in ("Deployment", "Job")
        for c in doc["spec"]["template"]["spec"]["containers"]
        if c["image"].startswith("taskpilot-")
    }
    assert deployed and deployed == set(result.state["built_images"]) == set(result.state["loaded_images"])
