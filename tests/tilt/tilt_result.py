"""The repo's Tiltfile as the real Tilt evaluates it: `tilt alpha tiltfile-result`, parsed.

Tilt evaluates a Tiltfile without a cluster (nothing is contacted). It needs `helm` on PATH for the
Tiltfile's `helm template`, and a kubeconfig whose current context passes the Tiltfile's guard: each
evaluation gets its own, with a cluster named like the context, as minikube/kind/Docker Desktop write
them (Tilt recognises local clusters by that name).

Each evaluation runs in a sandbox: symlinks to the checkout plus its own copy of the Tiltfile and
tilt_extensions/, so a developer's tilt-settings.yaml or tilt_config.json never leaks in and a test can
supply its own settings.

`tiltfile-result` sets config.tilt_subcommand to 'alpha tiltfile-result', which the Tiltfile treats like
`tilt up`. With ci=True the sandbox copies read 'ci' wherever they read config.tilt_subcommand: the
Tiltfile's `tilt ci` branch, evaluated by real Tilt (a real `tilt ci` runs in the cluster tier).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from taskpilot_dev import tools
from taskpilot_dev.paths import REPO_ROOT

TILTFILE_EVAL_ERROR = 5  # tiltfile-result's exit code for a Tiltfile that fails (fail(), bad arguments)
SUBCOMMAND = "config.tilt_subcommand"
TRIGGER_AUTO, TRIGGER_MANUAL = 0, 2  # Tilt's model.TriggerMode: Auto (auto_init too), Manual (no auto_init)
NOT_SANDBOXED = {"Tiltfile", "tilt_extensions", "tilt-settings.yaml", "tilt_config.json", ".git"}


class TiltfileError(Exception):
    """Tilt refused the Tiltfile; the message is what Tilt printed."""


@dataclass(frozen=True)
class TiltResult:
    root: Path  # the sandbox the Tiltfile ran from: Tilt's absolute paths are under it
    data: dict

    @property
    def manifests(self) -> dict[str, dict]:
        return {m["Name"]: m for m in self.data["Manifests"]}

    def images(self) -> dict[str, dict]:
        """Image targets by image name, across manifests."""
        return {t["selector"]: t for m in self.data["Manifests"] for t in m.get("ImageTargets") or []}

    def objects(self, manifest: str) -> list[dict]:
        """The Kubernetes objects a manifest deploys."""
        return [o for o in yaml.safe_load_all(self.manifests[manifest]["DeployTarget"].get("yaml", "")) if o]

    def all_objects(self) -> list[dict]:
        return [o for name, m in self.manifests.items() if "yaml" in m["DeployTarget"] for o in self.objects(name)]

    def containers(self, manifest: str) -> list[dict]:
        """Init and app containers of the manifest's workloads."""
        specs = [spec for obj in self.objects(manifest) for spec in _pod_specs(obj)]
        return [c for spec in specs for c in spec.get("initContainers", []) + spec.get("containers", [])]

    def container_ports(self, manifest: str) -> dict[int, str | None]:
        return {p["containerPort"]: p.get("name") for c in self.containers(manifest) for p in c.get("ports", [])}

    def forwards(self, manifest: str) -> list[dict]:
        return (self.manifests[manifest]["DeployTarget"].get("portForwardTemplateSpec") or {}).get("forwards") or []

    def local_cmd(self, manifest: str) -> dict:
        """A local_resource's command: args, dir, env (as a dict)."""
        spec = dict(self.manifests[manifest]["DeployTarget"]["UpdateCmdSpec"])
        spec["env"] = dict(kv.split("=", 1) for kv in spec.get("env") or [])
        return spec

    def api_objects(self, resource: str) -> dict[str, dict]:
        """Tilt API objects the Tiltfile created (resource: 'uibuttons', 'cmds'), by name."""
        return self.data["ObjectSet"].get(f"tilt.dev/v1alpha1, Resource={resource}") or {}

    def relative(self, path: str) -> str:
        return str(Path(path).relative_to(self.root))


def _pod_specs(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return [spec["template"]["spec"]] if "template" in spec else []


@cache
def tilt_bin() -> Path:
    bin_dir = subprocess.run(
        [str(REPO_ROOT / "dev" / "kube" / "build.sh"), "--print"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tilt = Path(bin_dir) / "tilt"
    if not os.access(tilt, os.X_OK):
        pytest.fail(
            f"the real Tilt binary is missing ({tilt}): build it with dev/kube/build.sh "
            "(about 10 minutes from cold; CI builds it before the python tier)",
            pytrace=False,
        )
    return tilt


def evaluate(*flags: str, context: str = "minikube", ci: bool = False, settings: str | None = None) -> TiltResult:
    """Tilt's result for `tilt up -- <flags>` (or `tilt ci` with ci=True); TiltfileError when Tilt refuses."""
    code, out, err, root = _run(flags, context, ci, settings)
    if code == TILTFILE_EVAL_ERROR:
        raise TiltfileError(err)
    assert code == 0, f"tilt alpha tiltfile-result exited {code}:\n{err}"
    return TiltResult(root, json.loads(out))


def refusal(*flags: str, context: str = "minikube", settings: str | None = None) -> str:
    """What Tilt prints when the Tiltfile refuses these flags or this context (fails when it does not)."""
    code, _, err, _ = _run(flags, context, False, settings)
    assert code == TILTFILE_EVAL_ERROR, f"the Tiltfile was expected to fail, tiltfile-result exited {code}"
    return err


@cache  # one evaluation per flag set, context and settings per session
def _run(flags: tuple[str, ...], context: str, ci: bool, settings: str | None) -> tuple[int, str, str, Path]:
    tilt = tilt_bin()
    home = Path(tempfile.mkdtemp(prefix="eval-", dir=_session_dir()))
    root = _sandbox(ci, settings)
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(_kubeconfig(context)))
    env = dict(
        os.environ,
        KUBECONFIG=str(kubeconfig),
        TILT_PORT=str(_free_port()),
        TILT_DEV_DIR=str(home / "tilt-dev"),
        PATH=f"{_helm_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    argv = [str(tilt), "alpha", "tiltfile-result", "-f", str(root / "Tiltfile"), "--", *flags]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr, root


_SESSION_DIRS: list[tempfile.TemporaryDirectory] = []  # removed (links, never their targets) at exit


@cache
def _session_dir() -> Path:
    _SESSION_DIRS.append(tempfile.TemporaryDirectory(prefix="tiltfile-result-"))
    return Path(_SESSION_DIRS[-1].name)


@cache
def _helm_dir() -> Path:
    """A directory with `helm` in it (HELM_BIN may name the binary differently)."""
    bin_dir = _session_dir() / "bin"
    bin_dir.mkdir()
    (bin_dir / "helm").symlink_to(tools.helm_bin())
    return bin_dir


@cache  # evaluations that differ in flags or context share one, so their paths compare equal
def _sandbox(ci: bool, settings: str | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="repo-", dir=_session_dir()))
    for entry in REPO_ROOT.iterdir():
        if entry.name not in NOT_SANDBOXED:
            (root / entry.name).symlink_to(entry)
    shutil.copy(REPO_ROOT / "Tiltfile", root / "Tiltfile")
    shutil.copytree(REPO_ROOT / "tilt_extensions", root / "tilt_extensions")
    replaced = 0
    for tiltfile in [root / "Tiltfile", *root.glob("tilt_extensions/*/Tiltfile")] if ci else []:
        text = tiltfile.read_text()
        replaced += text.count(SUBCOMMAND)
        tiltfile.write_text(text.replace(SUBCOMMAND, "'ci'"))
    assert replaced or not ci, f"no Tiltfile reads {SUBCOMMAND}: there is no `tilt ci` branch to evaluate"
    if settings is not None:
        (root / "tilt-settings.yaml").write_text(settings)
    return root


def _kubeconfig(context: str) -> dict:
    """Nothing listens on the server: Tilt only reads the names."""
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    config["current-context"] = context
    if context:
        config["clusters"] = [{"name": context, "cluster": {"server": "https://127.0.0.1:1"}}]
        config["users"] = [{"name": context, "user": {"token": "unused"}}]
        config["contexts"] = [{"name": context, "context": {"cluster": context, "user": context}}]
    return config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
