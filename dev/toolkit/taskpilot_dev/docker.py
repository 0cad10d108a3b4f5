"""Drive a real Docker engine for the image and container tiers and the benchmarks.

Everything goes through the `docker` CLI (no SDK): build the app images (each image/target once per
process, so tiers in one pytest session share the builds), run postgres +
backend (migrations first, from the same image) + frontend on one network, configured the way
the Helm chart configures them (same env names, service-name aliases, read-only root fs, tmpfs,
all capabilities dropped, no new privileges, numeric non-root uids).
Host access is only via ports published on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from taskpilot_dev.paths import REPO_ROOT

BACKEND_DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile.backend"
FRONTEND_DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile.frontend"
BACKEND_BASE = "python:3.13-slim"
FRONTEND_BASE = "node:20-alpine"
POSTGRES_IMAGE = "postgres:15-alpine"
# Tags the tiers build, kept distinct from the `latest` a developer builds by hand. Set
# TASKPILOT_TEST_IMAGE_TAG when several checkouts share one Docker engine.
TEST_TAG = os.environ.get("TASKPILOT_TEST_IMAGE_TAG", "imagetest")
DOCKERFILES = {"backend": BACKEND_DOCKERFILE, "frontend": FRONTEND_DOCKERFILE}
BASES = {"backend": BACKEND_BASE, "frontend": FRONTEND_BASE}


def tier_image_tag(component: str, target: str | None = None) -> str:
    """`taskpilot-<component>:<TEST_TAG>` for the prod stage, `...-<target>` for another target."""
    return f"taskpilot-{component}:{TEST_TAG}" + (f"-{target}" if target else "")


BACKEND_TAG = tier_image_tag("backend")
FRONTEND_TAG = tier_image_tag("frontend")

# How the chart runs the app containers (securityContext equivalents).
HARDENING = (
    "--read-only",
    "--tmpfs",
    "/tmp:rw,nosuid,nodev,size=64m",  # noqa: S108  # a tmpfs inside the container, not a host path
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)
# Docker's health interval is the image's 30 s; tests only shorten the schedule, never the command.
FAST_HEALTH = ("--health-interval", "1s", "--health-start-period", "60s")


class DockerError(RuntimeError):
    pass


def docker(
    *args: str, check: bool = True, timeout: float = 600, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run the docker CLI; classic builder (no buildx needed)."""
    env = dict(os.environ, DOCKER_BUILDKIT=os.environ.get("DOCKER_BUILDKIT", "0"))
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env, input=input)
    if check and proc.returncode != 0:
        raise DockerError(
            f"docker {' '.join(args[:4])}... failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def engine_unavailable_reason() -> str | None:
    """None when a Docker engine answers, else a one-line reason to skip."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (install docker.io / Docker Desktop to run the image tier)"
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        return "docker engine did not answer `docker info` within 20 s"
    if proc.returncode != 0 or not proc.stdout.strip():
        return "no Docker engine answers `docker info` (start dockerd: dev/ci/start-docker.sh)"
    return None


def build_image(dockerfile: Path, tag: str, target: str | None = None) -> str:
    args = ["build", "-f", str(dockerfile), "-t", tag]
    if target:
        args += ["--target", target]
    docker(*args, str(REPO_ROOT), timeout=1800)
    return tag


_built: dict[tuple[str, str | None], str] = {}
_build_lock = threading.Lock()


def app_image(component: str, target: str | None = None) -> str:
    """Build docker/Dockerfile.<component> (at `target`, default the prod stage) once per process.

    Every tier and benchmark asks here, so one pytest session builds each image/target once."""
    key = (component, target)
    with _build_lock:
        if key not in _built:
            _built[key] = build_image(DOCKERFILES[component], tier_image_tag(component, target), target)
        return _built[key]


def inspect(obj: str) -> dict:
    return json.loads(docker("inspect", obj).stdout)[0]


def image_size(tag: str) -> int:
    return int(inspect(tag)["Size"])


def run_in_image(
    image: str, *cmd: str, user: str | None = None, entrypoint: str | None = None, extra: tuple = ()
) -> subprocess.CompletedProcess:
    args = ["run", "--rm", *extra]
    if user:
        args += ["--user", user]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    return docker(*args, image, *cmd, check=False, timeout=300)


def published_port(container: str, port: int) -> int:
    out = docker("port", container, f"{port}/tcp").stdout.split()
    host = next(line for line in out if line.startswith("127.0.0.1:"))
    return int(host.rsplit(":", 1)[1])


def health_status(container: str) -> str:
    return docker(
        "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Status}}", container
    ).stdout.strip()


def wait_healthy(container: str, timeout: float = 120) -> float:
    """Wait for Docker's HEALTHCHECK verdict; returns seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        health, state = health_status(container).split("|")
        if health == "healthy":
            return time.monotonic() - start
        if state in ("exited", "dead"):
            raise DockerError(f"{container} exited while waiting for health:\n{logs(container)}")
        time.sleep(0.25)
    raise DockerError(
        f"{container} not healthy after {timeout}s (last: {health_status(container)}):\n{logs(container)}"
    )


def wait_http(url: str, timeout: float = 60, interval: float = 0.05) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310  # the caller's http URL
                if resp.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(interval)
    raise DockerError(f"{url} did not answer 200 within {timeout}s")


def logs(container: str) -> str:
    proc = docker("logs", "--tail", "80", container, check=False)
    return (proc.stdout + proc.stderr)[-6000:]


def remove(*names: str, kind: str = "container") -> None:
    for name in names:
        if kind == "container":
            docker("rm", "-f", "-v", name, check=False)
        elif kind == "network":
            docker("network", "rm", name, check=False)
        elif kind == "volume":
            docker("volume", "rm", "-f", name, check=False)


@dataclass
class Stack:
    """postgres + backend + frontend on one network, named like the chart's services."""

    backend_image: str = BACKEND_TAG
    frontend_image: str = FRONTEND_TAG
    prefix: str = field(default_factory=lambda: f"tp-img-{os.getpid()}-{secrets.token_hex(3)}")
    db_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    db_name: str = "taskpilot"
    db_user: str = "taskpilot"

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def volume(self) -> str:
        return f"{self.prefix}-pgdata"

    @property
    def postgres(self) -> str:
        return f"{self.prefix}-postgresql"

    @property
    def backend(self) -> str:
        return f"{self.prefix}-backend"

    @property
    def frontend(self) -> str:
        return f"{self.prefix}-frontend"

    def backend_env(self) -> dict[str, str]:
        """The chart's backend ConfigMap + Secret keys (architecture.md table)."""
        return {
            "DB_HOST": "postgresql-service",
            "DB_PORT": "5432",
            "DB_NAME": self.db_name,
            "DB_USER": self.db_user,
            "DB_PASSWORD": self.db_password,
            "JWT_SECRET": self.jwt_secret,
            "JWT_EXPIRES_MINUTES": "60",
            "APP_ENV": "prod",
            "LOG_LEVEL": "info",
            "CORS_ORIGINS": "http://localhost:3000",
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_MODEL": "gpt-4o-mini",
        }

    @staticmethod
    def _env_args(env: dict[str, str]) -> list[str]:
        return [a for k, v in env.items() for a in ("-e", f"{k}={v}")]

    # ---- lifecycle ----
    def start_network(self) -> None:
        docker("network", "create", self.network)
        docker("volume", "create", self.volume)

    def start_postgres(self) -> None:
        docker(
            "run",
            "-d",
            "--name",
            self.postgres,
            "--network",
            self.network,
            "--network-alias",
            "postgresql-service",
            "-v",
            f"{self.volume}:/var/lib/postgresql/data",
            "-e",
            f"POSTGRES_DB={self.db_name}",
            "-e",
            f"POSTGRES_USER={self.db_user}",
            "-e",
            f"POSTGRES_PASSWORD={self.db_password}",
            POSTGRES_IMAGE,
        )
        self.wait_postgres()

    def wait_postgres(self, timeout: float = 90) -> None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            proc = docker(
                "exec",
                self.postgres,
                "pg_isready",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                self.db_user,
                "-d",
                self.db_name,
                check=False,
            )
            if proc.returncode == 0:
                return
            time.sleep(0.5)
        raise DockerError(f"postgres not ready after {timeout}s:\n{logs(self.postgres)}")

    def migrate(self) -> subprocess.CompletedProcess:
        """`alembic upgrade head` from the backend image, hardened like the chart's hook Job."""
        return docker(
            "run",
            "--rm",
            "--name",
            f"{self.prefix}-migrations",
            "--network",
            self.network,
            *HARDENING,
            *self._env_args(self.backend_env()),
            self.backend_image,
            "alembic",
            "upgrade",
            "head",
            timeout=300,
        )

    def start_backend(self, extra: tuple = FAST_HEALTH) -> None:
        docker(
            "run",
            "-d",
            "--name",
            self.backend,
            "--network",
            self.network,
            "--network-alias",
            "backend-service",
            "-p",
            "127.0.0.1::8000",
            *HARDENING,
            *extra,
            *self._env_args(self.backend_env()),
            self.backend_image,
        )

    def start_frontend(self, extra: tuple = FAST_HEALTH) -> None:
        docker(
            "run",
            "-d",
            "--name",
            self.frontend,
            "--network",
            self.network,
            "--network-alias",
            "frontend-service",
            "-p",
            "127.0.0.1::3000",
            *HARDENING,
            "--tmpfs",
            "/app/.next/cache:rw,nosuid,nodev,size=64m,uid=1001,gid=1001",
            *extra,
            "-e",
            "BACKEND_URL=http://backend-service:8000",
            "-e",
            "PORT=3000",
            "-e",
            "HOSTNAME=0.0.0.0",
            self.frontend_image,
        )

    def up(self) -> Stack:
        try:
            self.start_network()
            self.start_postgres()
            self.migrate()
            self.start_backend()
            self.start_frontend()
            wait_healthy(self.backend)
            wait_healthy(self.frontend)
        except BaseException:
            self.down()
            raise
        return self

    def restart_postgres_hard(self) -> None:
        """SIGKILL postgres (no clean shutdown), then a fresh container on the same named volume."""
        docker("kill", "-s", "KILL", self.postgres)
        docker("rm", "-f", self.postgres)
        self.start_postgres()

    def psql(self, sql: str) -> str:
        return docker(
            "exec",
            "-e",
            f"PGPASSWORD={self.db_password}",
            self.postgres,
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            self.db_user,
            "-d",
            self.db_name,
            "-Atc",
            sql,
        ).stdout

    def url(self, service: str) -> str:
        name, port = (self.backend, 8000) if service == "backend" else (self.frontend, 3000)
        return f"http://127.0.0.1:{published_port(name, port)}"

    def down(self) -> None:
        remove(self.frontend, self.backend, self.postgres, f"{self.prefix}-migrations")
        remove(self.network, kind="network")
        remove(self.volume, kind="volume")
