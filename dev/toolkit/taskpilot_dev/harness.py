"""Real server processes on 127.0.0.1 for tests and benchmarks: migrations, the backend (uvicorn),
the production frontend build, and the whole stack at once.

Servers get only environment configuration, exactly as the chart gives it to the pods, with the
backend's own variables cleared from the inherited environment (a developer's shell must not leak
into a test server).

CLI (what the browser tests and the frontend benchmark start through dev/toolkit/js/harness.mjs,
so there is one harness):
    python -m taskpilot_dev.harness stack [--backends N] [--no-frontend] [--log-dir D]
    python -m taskpilot_dev.harness backend --database-url URL [--port P] [--log-dir D]
    python -m taskpilot_dev.harness frontend --backend-url URL [--env NAME=VALUE]... [--log-dir D]
Each prints one JSON line once everything answers ({"admin_url", "database_url", "backend_urls",
"frontend_url"} for the stack, {"url"} for one server), and tears it all down when stdin closes or
on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .paths import BACKEND_DIR, FRONTEND_DIR, REPO_ROOT
from .postgres import create_database, drop_database, free_port, start_postgres

TEST_JWT_SECRET = "test-only-jwt-secret-that-is-long-enough-0123456789"  # noqa: S105  # published; prod refuses it
# APP_ENV=prod refuses secrets published in the repo (like the one above): prod-mode servers get this one.
PROD_JWT_SECRET = secrets.token_urlsafe(48)
STARTUP_TIMEOUT_SECONDS = 90.0  # generous: CI machines can be busy
STOP_TIMEOUT_SECONDS = 20.0
SETTINGS_SOURCE = BACKEND_DIR / "app" / "core" / "config.py"
BACKEND_DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile.backend"
# What test servers run with unless they ask for the image's own flags.
DEFAULT_SERVER_ARGS = ("--timeout-graceful-shutdown", "15")


def settings_env_vars(source: Path = SETTINGS_SOURCE) -> tuple[str, ...]:
    """Every variable the backend's Settings reads, from its source (so this list cannot drift)."""
    tree = ast.parse(source.read_text())
    settings = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings")
    return tuple(
        stmt.target.id.upper()
        for stmt in settings.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
    )


# Cleared from the inherited environment, so a developer's own settings never leak into a test server.
BACKEND_ENV_VARS = settings_env_vars()
FRONTEND_ENV_VARS = ("BACKEND_URL", "CHATKIT_DOMAIN_KEY", "TRUSTED_PROXIES")
STANDALONE_SERVER = FRONTEND_DIR / ".next" / "standalone" / "server.js"
# Loaded before server.js, as the image does: records each request's socket peer for the /api proxy.
PEER_ADDRESS_PRELOAD = STANDALONE_SERVER.parent / "peer-address.mjs"
# The frontend on this host reaches the backend from 127.0.0.1, so backends believe the client address
# it forwards (as the chart trusts its frontend pods). Tests that play a client bind another loopback
# address (127.0.0.2 and up), whose forwarding headers a backend must then ignore.
FRONTEND_PROXY_ADDRESS = "127.0.0.1"

__all__ = [
    "BACKEND_ENV_VARS",
    "PROD_JWT_SECRET",
    "STANDALONE_SERVER",
    "TEST_JWT_SECRET",
    "ServerProcess",
    "Stack",
    "alembic",
    "backend_env",
    "backend_server",
    "create_database",
    "drop_database",
    "free_port",
    "frontend_server",
    "image_server_args",
    "migrate",
    "migrated_database",
    "stack",
    "start_backend",
    "start_frontend",
]


def frontend_built() -> bool:
    return STANDALONE_SERVER.exists() and PEER_ADDRESS_PRELOAD.exists()


def backend_env(overrides: dict[str, str]) -> dict[str, str]:
    """The inherited environment without the backend's variables, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key not in BACKEND_ENV_VARS}
    env.update(overrides)
    return env


def alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m alembic ARGS` in backend/ against `url`, configured by environment only."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=BACKEND_DIR,
        env=backend_env({"DATABASE_URL": url}),
        capture_output=True,
        text=True,
    )


def migrate(url: str, revision: str = "head") -> None:
    """`alembic upgrade <revision>`, exactly as the chart's migration Job runs it."""
    result = alembic(url, "upgrade", revision)
    if result.returncode != 0:
        raise RuntimeError(f"alembic upgrade {revision} failed:\n{result.stdout}\n{result.stderr}")


def _status(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # the caller's http URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@dataclass
class ServerProcess:
    """A server process started by this harness and the file its output goes to."""

    url: str
    process: subprocess.Popen
    log_path: Path
    log_file: IO[str] | None = field(repr=False, default=None)

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
        if self.log_file is not None:
            self.log_file.close()
        return self.process.returncode

    def wait_until_answers(self, path: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Poll GET path until it answers 200; stop the process and raise with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.url} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            with contextlib.suppress(OSError):
                if _status(self.url + path, timeout=2.0) == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not answer GET {path} within {timeout}s:\n{self.log()[-4000:]}")


def _spawn(
    name: str, port: int, argv: list[str], cwd: Path, env: dict[str, str], ready_path: str, log_dir: Path | None
) -> ServerProcess:
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    log_fd, log_name = tempfile.mkstemp(prefix=f"{name}-{port}-", suffix=".log", dir=log_dir)
    log_file = os.fdopen(log_fd, "w")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = ServerProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name), log_file=log_file)
    server.wait_until_answers(ready_path)
    return server


def image_server_args(dockerfile: Path = BACKEND_DOCKERFILE) -> tuple[str, ...]:
    """The uvicorn options of the backend image's CMD (the last one), without --host and --port: a test
    server started with these behaves at the HTTP level exactly as a pod does."""
    cmd_lines = [line for line in dockerfile.read_text().splitlines() if line.startswith("CMD [")]
    argv = json.loads(cmd_lines[-1].removeprefix("CMD "))
    options = argv[argv.index("main:app") + 1 :]
    kept: list[str] = []
    skip = False
    for option in options:
        if skip:
            skip = False
        elif option in ("--host", "--port"):
            skip = True
        else:
            kept.append(option)
    return tuple(kept)


def start_backend(
    database_url: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    *,
    server_args: tuple[str, ...] = DEFAULT_SERVER_ARGS,
    backend_dir: Path = BACKEND_DIR,
) -> ServerProcess:
    """`python -m uvicorn main:app [server_args]` in backend_dir; returns once GET /health answers.

    `server_args=image_server_args()` runs it with the image's flags (pass the flags of another tree's
    Dockerfile with `backend_dir` to measure that tree)."""
    port = port or free_port()
    server_env = backend_env(
        {
            "DATABASE_URL": database_url,
            "JWT_SECRET": TEST_JWT_SECRET,
            "APP_ENV": "dev",
            "LOG_LEVEL": "INFO",
            "OPENAI_API_KEY": "",
            "PYTHONUNBUFFERED": "1",
            "TRUSTED_PROXIES": f"{FRONTEND_PROXY_ADDRESS}/32",
            # Tests and benchmarks sign up many users from this one host; tests of the limit set their own.
            "SIGNUP_MAX_PER_IP": "100000",
        }
    )
    server_env.update(env or {})
    if server_env["APP_ENV"] != "dev" and server_env["JWT_SECRET"] == TEST_JWT_SECRET:
        server_env["JWT_SECRET"] = PROD_JWT_SECRET
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-proxy-headers",  # as the image: only the app believes forwarding headers (TRUSTED_PROXIES)
        *server_args,
    ]
    return _spawn("backend", port, argv, backend_dir, server_env, "/health", log_dir)


def start_frontend(
    backend_url: str, port: int | None = None, env: dict[str, str] | None = None, log_dir: Path | None = None
) -> ServerProcess:
    """The standalone Next.js build with only run-time configuration; returns once GET / answers."""
    if not frontend_built():
        raise RuntimeError(
            f"{STANDALONE_SERVER.parent} is incomplete: run `npm ci && npm run build` in frontend/ first"
        )
    port = port or free_port()
    server_env = {key: value for key, value in os.environ.items() if key not in FRONTEND_ENV_VARS}
    server_env.update(
        {
            "PORT": str(port),
            "HOSTNAME": "127.0.0.1",
            "BACKEND_URL": backend_url,
            "NODE_ENV": "production",
            "NEXT_TELEMETRY_DISABLED": "1",
        }
    )
    server_env.update(env or {})
    argv = ["node", "--import", str(PEER_ADDRESS_PRELOAD), str(STANDALONE_SERVER)]
    return _spawn("frontend", port, argv, STANDALONE_SERVER.parent, server_env, "/", log_dir)


@contextlib.contextmanager
def backend_server(
    database_url: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    *,
    server_args: tuple[str, ...] = DEFAULT_SERVER_ARGS,
) -> Iterator[str]:
    """Run the backend for the duration of the block; yields its base URL; SIGTERM on exit."""
    backend = start_backend(database_url, port=port, env=env, log_dir=log_dir, server_args=server_args)
    try:
        yield backend.url
    finally:
        backend.stop()


@contextlib.contextmanager
def frontend_server(
    backend_url: str, port: int | None = None, env: dict[str, str] | None = None, log_dir: Path | None = None
) -> Iterator[str]:
    """Run the production frontend for the duration of the block; yields its base URL; SIGTERM on exit."""
    frontend = start_frontend(backend_url, port=port, env=env, log_dir=log_dir)
    try:
        yield frontend.url
    finally:
        frontend.stop()


@dataclass
class Stack:
    admin_url: str
    database_url: str
    backend_urls: list[str]
    frontend_url: str | None
    frontend_missing: str = ""

    def as_json(self) -> str:
        return json.dumps(
            {
                "admin_url": self.admin_url,
                "database_url": self.database_url,
                "backend_urls": self.backend_urls,
                "frontend_url": self.frontend_url,
            }
        )


@contextlib.contextmanager
def migrated_database() -> Iterator[tuple[str, str]]:
    """A fresh database at the Alembic head (in TEST_DATABASE_URL's server or a throwaway one);
    yields (admin URL, database URL) and drops it afterwards."""
    with contextlib.ExitStack() as exits:
        scratch = exits.enter_context(tempfile.TemporaryDirectory(prefix="taskpilot-db-"))
        admin_url, stop_postgres = start_postgres(Path(scratch) / "pg")
        exits.callback(stop_postgres)
        database_url = create_database(admin_url)
        exits.callback(drop_database, admin_url, database_url)
        migrate(database_url)
        yield admin_url, database_url


@contextlib.contextmanager
def stack(backends: int = 1, frontend: bool = True, log_dir: Path | None = None) -> Iterator[Stack]:
    """A fresh migrated database (in TEST_DATABASE_URL's server or a throwaway one), `backends`
    backend processes on it and, when built, the production frontend in front of the first one."""
    with contextlib.ExitStack() as exits:
        admin_url, database_url = exits.enter_context(migrated_database())
        backend_urls = [exits.enter_context(backend_server(database_url, log_dir=log_dir)) for _ in range(backends)]
        frontend_url, missing = None, ""
        if not frontend:
            missing = "the stack was started without a frontend"
        elif frontend_built():
            frontend_url = exits.enter_context(frontend_server(backend_urls[0], log_dir=log_dir))
        else:
            missing = f"frontend not built ({STANDALONE_SERVER} missing): run `npm run build` in frontend/"
        yield Stack(admin_url, database_url, backend_urls, frontend_url, missing)


def _until_released() -> None:
    """Block until stdin closes (the parent went away or let go) or SIGTERM/SIGINT arrives."""
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())

    def release_at_stdin_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=release_at_stdin_eof, daemon=True).start()
    while not done.wait(1.0):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run TaskPilot servers on 127.0.0.1 until stdin closes.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_stack = sub.add_parser("stack", help="database + backend(s) + production frontend")
    run_stack.add_argument("--backends", type=int, default=1, help="backend processes on the one database (default: 1)")
    run_stack.add_argument("--no-frontend", action="store_true", help="backend(s) only")
    run_backend = sub.add_parser("backend", help="one backend process")
    run_backend.add_argument("--database-url", required=True)
    run_backend.add_argument("--port", type=int)
    run_frontend = sub.add_parser("frontend", help="one production frontend")
    run_frontend.add_argument("--backend-url", required=True)
    run_frontend.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    for command in (run_stack, run_backend, run_frontend):
        command.add_argument("--log-dir", type=Path, help="where the servers' logs go (default: the temp dir)")
    args = parser.parse_args(argv)

    with contextlib.ExitStack() as running:
        if args.command == "stack":
            started = running.enter_context(stack(args.backends, not args.no_frontend, args.log_dir))
            if started.frontend_url is None and not args.no_frontend:
                raise SystemExit(started.frontend_missing)
            print(started.as_json(), flush=True)
        elif args.command == "backend":
            url = running.enter_context(backend_server(args.database_url, args.port, log_dir=args.log_dir))
            print(json.dumps({"url": url}), flush=True)
        else:
            extra = dict(assignment.split("=", 1) for assignment in args.env)
            url = running.enter_context(frontend_server(args.backend_url, env=extra, log_dir=args.log_dir))
            print(json.dumps({"url": url}), flush=True)
        _until_released()
    return 0


if __name__ == "__main__":
    sys.exit(main())
