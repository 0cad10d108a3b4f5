"""Shared test/bench harness: databases, migrations and real server processes on 127.0.0.1.

Backend part owned by backend-core; the frontend helper owns the section at the bottom.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKEND_DIR = REPO_ROOT / "backend"
FRONTEND_DIR = REPO_ROOT / "frontend"
TEST_JWT_SECRET = "test-only-jwt-secret-that-is-long-enough-0123456789"
STARTUP_TIMEOUT_SECONDS = 90.0  # generous: CI machines can be busy
STOP_TIMEOUT_SECONDS = 20.0
# Variables a backend process reads; cleared from the inherited environment so a developer's
# shell cannot leak into a test server.
BACKEND_ENV_VARS = (
    "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DATABASE_URL", "JWT_SECRET",
    "JWT_EXPIRES_MINUTES", "APP_ENV", "LOG_LEVEL", "CORS_ORIGINS", "OPENAI_API_KEY", "OPENAI_BASE_URL",
    "OPENAI_MODEL", "SHUTDOWN_DRAIN_SECONDS",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _plain_url(url: str) -> str:
    """psycopg.connect wants postgresql://, not the SQLAlchemy driver form."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(admin_url: str, name: str | None = None) -> str:
    """Create a fresh empty database next to admin_url's; return its URL (same credentials)."""
    import psycopg

    name = name or f"tp_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_url(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return _with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_plain_url(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str, revision: str = "head") -> None:
    """`alembic upgrade <revision>` from backend/, exactly as the chart's Job does (env only)."""
    env = _clean_env({"DATABASE_URL": url})
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", revision],
        cwd=BACKEND_DIR, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"alembic upgrade {revision} failed:\n{result.stdout}\n{result.stderr}")


def _clean_env(overrides: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in BACKEND_ENV_VARS}
    env.update(overrides)
    return env


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@dataclass
class BackendProcess:
    """A running `uvicorn main:app` (from backend/) and where its output goes."""

    url: str
    process: subprocess.Popen
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown) without waiting."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
        return self.process.returncode


def start_backend(
    database_url: str, port: int | None = None, env: dict[str, str] | None = None, *, wait: bool = True
) -> BackendProcess:
    """Start `python -m uvicorn main:app` in backend/ with only environment configuration."""
    port = port or free_port()
    server_env = _clean_env(
        {
            "DATABASE_URL": database_url,
            "JWT_SECRET": TEST_JWT_SECRET,
            "APP_ENV": "dev",
            "LOG_LEVEL": "INFO",
            "OPENAI_API_KEY": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    server_env.update(env or {})
    log_fd, log_name = tempfile.mkstemp(prefix=f"backend-{port}-", suffix=".log")
    log_file = os.fdopen(log_fd, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
         "--timeout-graceful-shutdown", "15"],
        cwd=BACKEND_DIR, env=server_env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    backend = BackendProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name), _log_file=log_file)
    if wait:
        wait_until_healthy(backend)
    return backend


def wait_until_healthy(backend: BackendProcess, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backend.process.poll() is not None:
            raise RuntimeError(f"backend exited with {backend.process.returncode}:\n{backend.log()[-4000:]}")
        with contextlib.suppress(OSError):
            if _get(backend.url + "/health", timeout=1.0) == 200:
                return
        time.sleep(0.1)
    backend.stop()
    raise RuntimeError(f"backend did not answer /health within {timeout}s:\n{backend.log()[-4000:]}")


@contextlib.contextmanager
def backend_server(database_url: str, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the backend for the duration of the block; yields its base URL; SIGTERM on exit."""
    backend = start_backend(database_url, port=port, env=env)
    try:
        yield backend.url
    finally:
        backend.stop()


# ---------------------------------------------------------------------------------------------
# Frontend section (owned by the frontend helper): frontend_server(backend_url, port=None)
# ---------------------------------------------------------------------------------------------
STANDALONE_SERVER = FRONTEND_DIR / ".next" / "standalone" / "server.js"


@dataclass
class FrontendProcess:
    """A running production frontend (`node .next/standalone/server.js`)."""

    url: str
    process: subprocess.Popen
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
        return self.process.returncode


def start_frontend(backend_url: str, port: int | None = None, env: dict[str, str] | None = None) -> FrontendProcess:
    """Start the standalone Next.js server with only run-time configuration; wait until GET / answers."""
    if not STANDALONE_SERVER.exists():
        raise RuntimeError(f"{STANDALONE_SERVER} is missing: run `npm ci && npm run build` in frontend/ first")
    port = port or free_port()
    server_env = {key: value for key, value in os.environ.items() if key not in ("BACKEND_URL", "CHATKIT_DOMAIN_KEY")}
    server_env.update({"PORT": str(port), "HOSTNAME": "127.0.0.1", "BACKEND_URL": backend_url,
                       "NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1"})
    server_env.update(env or {})
    log_fd, log_name = tempfile.mkstemp(prefix=f"frontend-{port}-", suffix=".log")
    log_file = os.fdopen(log_fd, "w")
    process = subprocess.Popen(
        ["node", str(STANDALONE_SERVER)], cwd=STANDALONE_SERVER.parent, env=server_env,
        stdout=log_file, stderr=subprocess.STDOUT,
    )
    frontend = FrontendProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name), _log_file=log_file)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"frontend exited with {process.returncode}:\n{frontend.log()[-4000:]}")
        with contextlib.suppress(OSError):
            if _get(frontend.url + "/", timeout=2.0) == 200:
                return frontend
        time.sleep(0.1)
    frontend.stop()
    raise RuntimeError(f"frontend did not answer GET / within {STARTUP_TIMEOUT_SECONDS}s:\n{frontend.log()[-4000:]}")


@contextlib.contextmanager
def frontend_server(backend_url: str, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the production frontend for the duration of the block; yields its base URL; SIGTERM on exit."""
    frontend = start_frontend(backend_url, port=port, env=env)
    try:
        yield frontend.url
    finally:
        frontend.stop()
