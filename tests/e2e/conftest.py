"""End-to-end suite for TaskPilot AI: HTTP behaviour against a running stack, and cluster behaviour
(persistence, scaling, rolling restarts, DNS, ingress) against a local kube context.

Where requests go:
  * E2E_BACKEND_URL / E2E_BACKEND_URLS (comma list) / E2E_FRONTEND_URL / E2E_INGRESS_URL when set;
  * otherwise http://localhost:8000 and :3000 when something listens there (Tilt, ./port-forward.sh);
  * otherwise — the README test command's case here — the suite STARTS LOCAL PROCESSES itself with
    taskpilot_dev.harness.stack: two backend processes (so real-time is checked across two replicas)
    and the built frontend, on TEST_DATABASE_URL or a throwaway PostgreSQL.
Cluster tests (disruptive: they delete pods, scale and restart) use the kube context E2E_KUBE_CONTEXT,
by default `minikube` or a current context that is clearly local (kind-*, k3d-*, docker-desktop...),
never a remote one; namespace E2E_NAMESPACE (default taskpilot). Without a reachable cluster they
all skip with one reason. E2E_SKIP_CLUSTER=1 skips them on purpose; E2E_REQUIRE_CLUSTER=1 (CI) turns
"no cluster" into a failure. E2E_CHART (default helm/taskpilot-ai) is what `helm upgrade` scales.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskpilot_dev import api, harness
from taskpilot_dev.cluster import ClusterApi, PortForward
from taskpilot_dev.paths import CHART_DIR, REPO_ROOT

E2E_REPORT: list[str] = []  # lines printed in the terminal summary (load counts, spread, scaling method)
NAMESPACE = os.environ.get("E2E_NAMESPACE", "taskpilot")


@dataclass
class Targets:
    origin: str  # "env" | "forwarded" | "local"
    backend_urls: list[str]
    frontend_url: str | None = None
    frontend_missing: str = ""

    @property
    def backend_url(self) -> str:
        return self.backend_urls[0]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _split(value: str | None) -> list[str]:
    return [part.strip().rstrip("/") for part in (value or "").split(",") if part.strip()]


def targets_from_env(env: dict[str, str]) -> Targets | None:
    """Explicit or forwarded targets; None when the suite should start local processes."""
    # E2E_API_URL / E2E_BASE_URL: the names the Tiltfile's e2e resource passes.
    first = _split(env.get("E2E_BACKEND_URL") or env.get("E2E_API_URL"))
    backends = first + [u for u in _split(env.get("E2E_BACKEND_URLS")) if u not in first]
    frontend = (env.get("E2E_FRONTEND_URL") or env.get("E2E_BASE_URL") or "").rstrip("/") or None
    if backends:
        return Targets("env", backends, frontend, "" if frontend else "E2E_FRONTEND_URL is not set")
    if env.get("E2E_LOCAL") == "1" or not port_open("localhost", 8000):
        return None
    if not port_open("localhost", 3000):
        return Targets("forwarded", ["http://localhost:8000"], None, "nothing listens on localhost:3000")
    return Targets("forwarded", ["http://localhost:8000"], "http://localhost:3000", "")


@pytest.fixture(scope="session")
def targets() -> Targets:
    found = targets_from_env(dict(os.environ))
    if found is not None:
        yield found
        return
    with harness.stack(backends=2) as started:  # two replicas, so real-time is checked across them
        yield Targets("local", started.backend_urls, started.frontend_url, started.frontend_missing)


@pytest.fixture(scope="session")
def backend_url(targets: Targets) -> str:
    return targets.backend_url


@pytest.fixture(scope="session")
def frontend_url(targets: Targets) -> str:
    if not targets.frontend_url:
        pytest.skip(f"no frontend to test: {targets.frontend_missing}")
    return targets.frontend_url


@pytest.fixture
def user(backend_url: str) -> api.ApiUser:
    return api.signup(backend_url)


@pytest.fixture
def make_user(backend_url: str):
    return lambda prefix="e2e": api.signup(backend_url, prefix)


# --- cluster ------------------------------------------------------------------------


def _ingress_controller_running(cluster: ClusterApi) -> bool:
    try:
        cluster.service_url("ingress-nginx-controller", namespace="ingress-nginx")
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def app_url(cluster: ClusterApi) -> str:
    """The app's front door: E2E_INGRESS_URL; else a forward to ingress-nginx where it runs (minikube's
    addon; the URL says localhost so the Host header matches the ingress rule); else the frontend
    Service's cluster IP, which a node of the cluster reaches through kube-proxy (the local cluster)."""
    if os.environ.get("E2E_INGRESS_URL"):
        yield os.environ["E2E_INGRESS_URL"].rstrip("/")
        return
    if not _ingress_controller_running(cluster):
        yield cluster.service_url("frontend-service")
        return
    forward = cluster.port_forward("svc/ingress-nginx-controller", 80, namespace="ingress-nginx")
    try:
        yield forward.url.replace("127.0.0.1", "localhost")
    finally:
        forward.close()


@pytest.fixture(scope="session")
def backend_service_url(cluster: ClusterApi) -> str:
    """The backend Service itself: load balanced by kube-proxy, with no proxy in between that retries."""
    return cluster.service_url("backend-service")


@pytest.fixture
def pod_forwards(cluster: ClusterApi):
    """Open `kubectl port-forward pod/<name>` tunnels; all closed after the test."""
    opened: list[PortForward] = []

    def open_forward(pod: str, port: int) -> str:
        opened.append(cluster.port_forward(f"pod/{pod}", port))
        return opened[-1].url

    yield open_forward
    for forward in opened:
        with contextlib.suppress(Exception):
            forward.close()


@pytest.fixture(scope="session")
def chart() -> str:
    return os.environ.get("E2E_CHART", str(CHART_DIR))


@pytest.fixture(scope="session")
def report():
    return E2E_REPORT.append


# --- Tilt, run by the tests themselves (outside Tilt) ------------------------------------


@dataclass(frozen=True)
class TiltRun:
    """How these tests run the tilt binary: on the context they check, with an API port of their own."""

    binary: str
    context: str
    port: str = "10359"  # not 10350: a `tilt up` of the developer's may be running

    @property
    def env(self) -> dict[str, str]:
        # its own API port, also for the `tilt get` calls of the Tiltfile's resources (cold-start)
        return dict(os.environ, TILT_PORT=self.port)

    @contextlib.contextmanager
    def up(self, log: Path, *tiltfile_args: str) -> Iterator[subprocess.Popen[bytes]]:
        """`tilt up --stream` logging to `log`; stopped like Ctrl-C on exit, so the stack stays up."""
        extra = ["--", *tiltfile_args] if tiltfile_args else []
        with open(log, "a") as out:
            process = subprocess.Popen(
                [self.binary, "up", "--context", self.context, "--stream", *extra],
                cwd=REPO_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def tilt(cluster: ClusterApi) -> TiltRun:
    if os.environ.get("E2E_INSIDE_TILT") == "1":
        pytest.skip("runs outside Tilt: inside the e2e resource, `tilt down` would remove the Tilt running it")
    binary = shutil.which("tilt")
    if binary is None:
        pytest.skip("needs the tilt binary on PATH (https://docs.tilt.dev/install.html)")
    return TiltRun(binary, os.environ.get("E2E_KUBE_CONTEXT") or "minikube")


def pytest_terminal_summary(terminalreporter):
    if E2E_REPORT:
        terminalreporter.section("TaskPilot e2e report")
        for line in E2E_REPORT:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(items):
    """Disruptive cluster tests (pod deletion, scaling, rolling restart) run after everything else,
    so the HTTP checks never meet a forward that points at a pod being replaced."""
    here = Path(__file__).parent

    def disruptive(item) -> bool:
        return item.get_closest_marker("cluster") is not None and here in Path(str(item.path)).parents

    items.sort(key=disruptive)  # stable: everything else keeps its order
