"""Shared test/bench harness: databases, migrations and real server processes on 127.0.0.1."""
from __future__ import annotations

import contextlib
import os
import secrets
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
# APP_ENV=prod refuses secrets published in the repo (like the one above): prod-mode servers get this one.
PROD_JWT_SECRET = secrets.token_urlsafe(48)
STARTUP_TIMEOUT_SECONDS = 90.0  # generous: CI machines can be busy
STOP_TIMEOUT_SECONDS = 20.0
# Variables a backend process reads; cleared from the inherited environment so a developer's
# shell cannot leak into a test server.
BACKEND_ENV_VARS = (
    "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DATABASE_URL", "JWT_SECRET",
    "JWT_EXPIRES_MINUTES", "APP_ENV", "LOG_LEVEL", "CORS_ORIGINS", "OPENAI_API_KEY", "OPENAI_BASE_URL",
    "OPENAI_MODEL", "SHUTDOWN_DRAIN_SECONDS", "PASSWORD_HASH_CONCURRENCY", "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_MAX_FAILURES_PER_IP", "LOGIN_FAILURE_WINDOW_SECONDS", "DB_STATEMENT_TIMEOUT_MS",
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "ASSISTANT_TURN_TIMEOUT_SECONDS", "ASSISTANT_MAX_TOOL_CALLS_PER_STEP",
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
class ServerProcess:
    """A server process started by this harness and the file its output goes to."""

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

    def wait_until_answers(self, path: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Poll GET path until it answers 200; stop the process and raise with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            with contextlib.suppress(OSError):
                if _get(self.url + path, timeout=2.0) == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not answer GET {path} within {timeout}s:\n{self.log()[-4000:]}")


def _spawn(name: str, port: int, argv: list[str], cwd: Path, env: dict[str, str]) -> ServerProcess:
    log_fd, log_name = tempfile.mkstemp(prefix=f"{name}-{port}-", suffix=".log")
    log_file = os.fdopen(log_fd, "w")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return ServerProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name), _log_file=log_file)


def start_backend(
    database_url: str, port: int | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
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
    if server_env["APP_ENV"] != "dev" and server_env["JWT_SECRET"] == TEST_JWT_SECRET:
        server_env["JWT_SECRET"] = PROD_JWT_SECRET
    backend = _spawn(
        "backend", port,
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
         "--timeout-graceful-shutdown", "15"],
        BACKEND_DIR, server_env,
    )
    backend.wait_until_answers("/health")
    return backend


@contextlib.contextmanager
def backend_server(database_url: str, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the backend for the duration of the block; yields its base URL; SIGTERM on exit."""
    backend = start_backend(database_url, port=port, env=env)
    try:
        yield backend.url
    finally:
        backend.stop()


# ---------------------------------------------------------------------------------------------
# Frontend: the production standalone build
# ---------------------------------------------------------------------------------------------
STANDALONE_SERVER = FRONTEND_DIR / ".next" / "standalone" / "server.js"


def start_frontend(backend_url: str, port: int | None = None, env: dict[str, str] | None = None) -> ServerProcess:
    """Start the standalone Next.js server with only run-time configuration; wait until GET / answers."""
    if not STANDALONE_SERVER.exists():
        raise RuntimeError(f"{STANDALONE_SERVER} is missing: run `npm ci && npm run build` in frontend/ first")
    port = port or free_port()
    server_env = {key: value for key, value in os.environ.items() if key not in ("BACKEND_URL", "CHATKIT_DOMAIN_KEY")}
    server_env.update({"PORT": str(port), "HOSTNAME": "127.0.0.1", "BACKEND_URL": backend_url,
                       "NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1"})
    server_env.update(env or {})
    frontend = _spawn("frontend", port, ["node", str(STANDALONE_SERVER)], STANDALONE_SERVER.parent, server_env)
    frontend.wait_until_answers("/")
    return frontend


@contextlib.contextmanager
def frontend_server(backend_url: str, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the production frontend for the duration of the block; yields its base URL; SIGTERM on exit."""
    frontend = start_frontend(backend_url, port=port, env=env)
    try:
        yield frontend.url
    finally:
        frontend.stop()
