"""The app on the local cluster by the plain Helm path, as a user without Tilt would deploy it.

    python -m taskpilot_dev.localkube.stack deploy [--values FILE …] [--set KEY=VALUE …]
    python -m taskpilot_dev.localkube.stack mirror     (public images only, e.g. before `tilt up`)
    python -m taskpilot_dev.localkube.stack remove     (the release and its namespace, volume included)

Builds both production images, pushes them to the cluster's registry, then runs
`helm install --wait --timeout 5m` into an empty namespace (a release or namespace left from an
earlier run is removed first: this is the first-install case) and `helm test`. Prints the time each
step took, for dev/bench.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import yaml

from .. import tools
from ..paths import CHART_DIR, REPO_ROOT
from .layout import CONTEXT, REGISTRY, Layout

NAMESPACE = tools.NAMESPACE
RELEASE = tools.RELEASE_NAME
IMAGES = {"backend": "docker/Dockerfile.backend", "frontend": "docker/Dockerfile.frontend"}


def _run(*argv: str, timeout: float = 900) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    return result.stdout


def build_and_push() -> dict[str, str]:
    """component -> pushed image reference, tagged by content so a rebuild of the same tree is a no-op."""
    pushed = {}
    env_build = ["env", "DOCKER_BUILDKIT=0"]
    for component, dockerfile in IMAGES.items():
        local = f"taskpilot-{component}:cluster-tier"
        _run(*env_build, "docker", "build", "-q", "-f", dockerfile, "-t", local, ".")
        image_id = _run("docker", "image", "inspect", "--format", "{{.Id}}", local).strip().split(":")[1][:12]
        reference = f"{REGISTRY}/taskpilot-{component}:sha-{image_id}"
        _run("docker", "tag", local, reference)
        _run("docker", "push", "-q", reference)
        pushed[component] = reference
    return pushed


def mirror_public_images() -> list[str]:
    """Push the chart's public images (PostgreSQL) from the local Docker engine to the registry,
    where the cluster's runtime looks for every docker.io image."""
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    image = values["postgresql"]["image"]
    name = image["repository"] if "/" in image["repository"] else f"library/{image['repository']}"
    source, target = f"{image['repository']}:{image['tag']}", f"{REGISTRY}/{name}:{image['tag']}"
    _run("docker", "tag", source, target)
    _run("docker", "push", "-q", target)
    return [target]


class Helm:
    def __init__(self, layout: Layout):
        self.base = [tools.helm_bin(), "--kubeconfig", str(layout.kubeconfig), "--kube-context", CONTEXT]
        self.kubectl = [tools.kubectl_bin(), "--kubeconfig", str(layout.kubeconfig), "--context", CONTEXT]

    def fresh_namespace(self) -> None:
        if subprocess.run([*self.base, "status", RELEASE, "-n", NAMESPACE], capture_output=True).returncode == 0:
            _run(*self.base, "uninstall", RELEASE, "-n", NAMESPACE, "--wait")
        _run(*self.kubectl, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=300)

    def install(self, images: dict[str, str], values: list[str], sets: list[str]) -> None:
        image_sets = []
        for component, reference in images.items():
            repository, tag = reference.rsplit(":", 1)
            image_sets += [
                "--set",
                f"{component}.image.repository={repository}",
                "--set",
                f"{component}.image.tag={tag}",
            ]
        values_args = [arg for path in values for arg in ("--values", path)]
        _run(
            *self.base, "install", RELEASE, str(CHART_DIR), "-n", NAMESPACE, "--create-namespace",
            "--wait", "--timeout", "5m", *values_args, *image_sets, *[a for s in sets for a in ("--set", s)],
        )  # fmt: skip

    def test(self) -> str:
        return _run(*self.base, "test", RELEASE, "-n", NAMESPACE, "--timeout", "3m")


def deploy(values: list[str], sets: list[str]) -> dict[str, float]:
    layout = Layout.from_env()
    if not layout.kubeconfig.exists():
        raise RuntimeError("no local cluster: run ./dev/kube.sh up first")
    figures = {}
    started = time.monotonic()
    images = build_and_push()
    mirror_public_images()
    figures["images built and pushed (s)"] = time.monotonic() - started
    helm = Helm(layout)
    helm.fresh_namespace()
    started = time.monotonic()
    helm.install(images, values, sets)
    figures["helm install --wait, to all pods Ready (s)"] = time.monotonic() - started
    started = time.monotonic()
    helm.test()
    figures["helm test (s)"] = time.monotonic() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taskpilot_dev.localkube.stack", description=__doc__)
    parser.add_argument("command", choices=["deploy", "mirror", "remove"])
    parser.add_argument("--values", action="append", default=[], help="extra values file (after values.yaml)")
    parser.add_argument("--set", action="append", default=[], dest="sets", help="extra --set KEY=VALUE")
    args = parser.parse_args(argv)
    if args.command == "mirror":
        print("\n".join(mirror_public_images()))
        return 0
    if args.command == "remove":
        Helm(Layout.from_env()).fresh_namespace()
        print(f"release {RELEASE} and namespace {NAMESPACE} removed")
        return 0
    try:
        figures = deploy([str(CHART_DIR / "values.yaml"), *args.values], args.sets)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1
    for name, seconds in figures.items():
        print(f"{name}: {seconds:.1f}")
    print(f"KUBECONFIG={Layout.from_env().kubeconfig}\ncontext={CONTEXT}\nnamespace={NAMESPACE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
