"""The chart's dev-only tools: attachable debuggers (debug.*), hot reload through the ingress, and
the image tags the default values expect (the plain `helm install` flow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import chart_support as cs
import pytest
import yaml

from taskpilot_dev.paths import REPO_ROOT

FULL = cs.RELEASE
DOCKER_DIR = REPO_ROOT / "docker"
DEBUG_ON = ("debug.enabled=true",)


def app_container(docs, component):
    return cs.container(cs.find(docs, "Deployment", f"{FULL}-{component}"), component)


def env_values(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def ports(container):
    return {p["name"]: p["containerPort"] for p in container["ports"]}


# ---- debug.* -----------------------------------------------------------------------------
@pytest.mark.parametrize("profile", list(cs.PROFILES))
def test_debuggers_are_off_unless_asked_for(rendered, profile):
    backend, frontend = app_container(rendered[profile], "backend"), app_container(rendered[profile], "frontend")
    assert ports(backend) == {"http": 8000} and ports(frontend) == {"http": 3000}
    assert not {"DEBUGPY_PORT", "DEBUGPY_WAIT_FOR_CLIENT", "NODE_INSPECTOR_PORT"} & (
        env_values(backend).keys() | env_values(frontend).keys()
    )
    assert "livenessProbe" in backend and "livenessProbe" in frontend


def test_debug_opens_debugpy_and_the_node_inspector_and_drops_liveness():
    docs = cs.render("dev", *DEBUG_ON)
    backend, frontend = app_container(docs, "backend"), app_container(docs, "frontend")
    assert ports(backend) == {"http": 8000, "debugpy": 5678}
    assert ports(frontend) == {"http": 3000, "inspector": 9229}
    assert env_values(backend)["DEBUGPY_PORT"] == "5678" and env_values(backend)["DEBUGPY_WAIT_FOR_CLIENT"] == "0"
    assert env_values(frontend)["NODE_INSPECTOR_PORT"] == "9229"
    # a process paused at a breakpoint must not be restarted by the kubelet
    assert "livenessProbe" not in backend and "livenessProbe" not in frontend
    assert backend["readinessProbe"] and backend["startupProbe"]["failureThreshold"] == 60


def test_debug_render_passes_helm_lint_and_kubernetes_validate(tmp_path):
    values = [
        "--values",
        str(cs.CHART_DIR / "values-dev.yaml"),
        "--set",
        "debug.enabled=true",
        "--set",
        "debug.wait=true",
    ]
    lint = cs.run_helm("lint", "--strict", str(cs.CHART_DIR), *values)
    assert lint.returncode == 0 and "[WARNING]" not in lint.stdout, lint.stdout + lint.stderr
    rendered = tmp_path / "debug.yaml"
    rendered.write_text(
        cs.run_helm("template", FULL, *cs.template_args("dev", (*DEBUG_ON, "debug.wait=true"))[2:]).stdout
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", "1.30.0", str(rendered)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed for resource deployment/taskpilot-ai-backend" in proc.stdout + proc.stderr


def test_debug_wait_holds_the_backend_and_gives_the_startup_probe_time():
    docs = cs.render("dev", *DEBUG_ON, "debug.wait=true", "debug.backendPort=5679")
    backend = app_container(docs, "backend")
    assert env_values(backend)["DEBUGPY_WAIT_FOR_CLIENT"] == "1" and ports(backend)["debugpy"] == 5679
    startup = backend["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30 * 60


def test_debug_is_refused_outside_dev():
    proc = cs.run_helm("template", FULL, *cs.template_args("prod", DEBUG_ON)[2:])
    assert proc.returncode != 0
    assert "debug.enabled needs backend.config.appEnv=dev" in proc.stderr


@pytest.mark.parametrize("assignment", ["debug.backendPort=80", "debug.wait=maybe"])
def test_bad_debug_values_are_rejected(assignment):
    proc = cs.run_helm("template", FULL, *cs.template_args("dev", (assignment,))[2:])
    assert proc.returncode != 0 and "/debug/" in proc.stderr


def run_start_script(script: str, env: dict, tmp_path: Path) -> list[str]:
    """Run a dev image's start script with the rendered env; stub python/node print the argv they got."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for tool in ("python", "node", "uvicorn"):
        (stubs / tool).write_text(f'#!/bin/sh\nprintf "%s\\n" {tool} "$@"\n')
        (stubs / tool).chmod(0o755)
    clean = {"PATH": f"{stubs}{os.pathsep}/usr/bin:/bin", **{k: v for k, v in env.items() if v is not None}}
    proc = subprocess.run(["sh", str(DOCKER_DIR / script)], env=clean, capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if not line.startswith("debugpy:")]


DEV_UVICORN = [
    "uvicorn",
    "main:app",
    "--host",
    "0.0.0.0",
    "--port",
    "8000",
    "--no-proxy-headers",
    "--reload",
    "--reload-dir",
    "/app",
]
DEBUGPY = ["python", "-m", "debugpy", "--listen", "0.0.0.0:5678"]


@pytest.mark.parametrize(
    "extra,expected",
    [
        ((), DEV_UVICORN),
        (DEBUG_ON, [*DEBUGPY, "-m", *DEV_UVICORN]),
        ((*DEBUG_ON, "debug.wait=true"), [*DEBUGPY, "--wait-for-client", "-m", *DEV_UVICORN]),
    ],
)
def test_backend_dev_image_starts_what_the_rendered_env_asks_for(tmp_path, extra, expected):
    env = env_values(app_container(cs.render("dev", *extra), "backend"))
    assert run_start_script("backend-dev-server.sh", env, tmp_path) == expected


@pytest.mark.parametrize("extra,inspect", [((), []), (DEBUG_ON, ["--inspect", "0.0.0.0:9229"])])
def test_frontend_dev_image_starts_next_dev_with_the_inspector_on_the_app_process(tmp_path, extra, inspect):
    env = env_values(app_container(cs.render("dev", *extra), "frontend"))
    argv = run_start_script("frontend-dev-server.sh", env, tmp_path)
    assert argv == [
        "node",
        "node_modules/next/dist/bin/next",
        "dev",
        "--hostname",
        "0.0.0.0",
        "--port",
        "3000",
        *inspect,
    ]
    assert "NODE_OPTIONS" not in env, "NODE_OPTIONS=--inspect would debug next's CLI wrapper, not the app server"


def test_dev_images_run_the_start_scripts():
    for app in ("backend", "frontend"):
        dockerfile = (DOCKER_DIR / f"Dockerfile.{app}").read_text()
        dev_stage = dockerfile.split(" AS dev\n", 1)[1].split("\nFROM ", 1)[0]
        assert f"COPY docker/{app}-dev-server.sh /usr/local/bin/{app}-dev-server" in dev_stage
        assert f'CMD ["{app}-dev-server"]' in dev_stage
        assert os.access(DOCKER_DIR / f"{app}-dev-server.sh", os.X_OK)
    assert "debugpy" not in (DOCKER_DIR / "Dockerfile.backend").read_text().split(" AS runtime\n", 1)[1]


# ---- hot reload through the ingress ------------------------------------------------------
def test_dev_ingress_carries_the_hot_reload_websocket_to_the_frontend(rendered):
    ingress = cs.find(rendered["dev"], "Ingress", f"{FULL}-ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-http-version"] == "1.1"  # Upgrade needs HTTP/1.1
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600  # idle socket stays open
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    (rule,) = ingress["spec"]["rules"]
    hmr = [p for p in rule["http"]["paths"] if "/_next/hmr".startswith(p["path"])]
    longest = max(hmr, key=lambda p: len(p["path"]))
    assert longest["backend"]["service"]["name"] == "frontend-service"


def test_next_accepts_hot_reload_from_both_doors():
    config = (REPO_ROOT / "frontend" / "next.config.ts").read_text()
    origins = re.search(r"allowedDevOrigins:\s*\[([^\]]*)\]", config)
    assert origins, "next.config.ts sets no allowedDevOrigins"
    hosts = set(re.findall(r"[\"']([^\"']+)[\"']", origins.group(1)))
    dev_values = yaml.safe_load((cs.CHART_DIR / "values-dev.yaml").read_text())
    assert {"localhost", "127.0.0.1", dev_values["ingress"]["host"]} <= hosts


# ---- the plain `helm install` flow -------------------------------------------------------
def documented_build_tags() -> dict[str, set[str]]:
    """Tags the README's plain-Helm block builds and loads, per image."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("<!-- plain-helm-install -->", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    tags: dict[str, set[str]] = {}
    for image, tag in re.findall(r"(?:-t|image load)\s+(taskpilot-(?:backend|frontend)):(\S+)", block):
        tags.setdefault(image, set()).add(tag)
    assert "helm install taskpilot-ai helm/taskpilot-ai -n taskpilot\n" in block
    return tags


def test_default_values_use_the_images_the_documented_build_produces(rendered):
    app_version = yaml.safe_load((cs.CHART_DIR / "Chart.yaml").read_text())["appVersion"]
    images = {
        c["image"]
        for w in cs.workloads(rendered["default"])
        for c in cs.pod_spec(w)["containers"]
        if "taskpilot-" in c["image"]
    }
    assert images == {f"taskpilot-backend:{app_version}", f"taskpilot-frontend:{app_version}"}
    documented = documented_build_tags()
    assert documented == {"taskpilot-backend": {app_version}, "taskpilot-frontend": {app_version}}, (
        "README builds/loads other tags than the default values deploy"
    )
    for app in ("backend", "frontend"):
        header = (DOCKER_DIR / f"Dockerfile.{app}").read_text().split("\nFROM", 1)[0]
        assert f"-t taskpilot-{app}:{app_version} ." in header
