"""A throwaway PostgreSQL for tests and benchmarks, and databases inside it.

`start_postgres(dir) -> (url, stop)` uses TEST_DATABASE_URL when set; otherwise it runs initdb in
`dir` with the local PostgreSQL binaries on a free port (as the `postgres` user when we are root,
since initdb refuses root) and returns a superuser URL that may CREATE DATABASE.
`PostgresServer` is the same server as an object that can be stopped and started again on the same
port and data, the way a StatefulSet pod comes back with its volume.

CLI: `python -m taskpilot_dev.postgres start --dir D` prints the URL; `... stop --dir D`.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "postgres"  # noqa: S105  # local trust auth; only there for the URL's shape
# Durability off: a test database is thrown away, speed matters more.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=128MB -c listen_addresses=127.0.0.1"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin(tool: str) -> str:
    for directory in PG_BIN_CANDIDATES:
        candidate = Path(directory) / tool
        if candidate.exists():
            return str(candidate)
    found = shutil.which(tool)
    if found:
        return found
    raise RuntimeError(
        f"PostgreSQL binary '{tool}' not found. Install PostgreSQL (Debian: apt-get install -y postgresql) "
        "or set TEST_DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:PORT/postgres (a superuser)."
    )


class PostgresServer:
    """One local PostgreSQL cluster in `directory` (data in directory/pgdata)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.base = Path(directory).resolve()
        self.data_dir = self.base / "pgdata"
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _run_as_owner(self, command: list[str]) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool; as root, as the `postgres` user (initdb and postgres refuse root)."""
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=str(self.base.parent))

    def _prepare(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            for parent in self.base.parents:  # the postgres user must be able to reach the directory
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        if not (self.data_dir / "PG_VERSION").exists():
            result = self._run_as_owner(
                [pg_bin("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        """Start (initdb on first use); a restart keeps the port. Returns the superuser URL."""
        self._prepare()
        self.port = self.port or free_port()
        log = self.base / "postgres.log"
        options = f"-p {self.port} -k {self.base} {SERVER_OPTIONS}"
        result = self._run_as_owner(
            [pg_bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        )
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{tail}")
        return self.url

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run_as_owner([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])


def start_postgres(directory: str | os.PathLike) -> tuple[str, Callable[[], None]]:
    """TEST_DATABASE_URL when set (nothing to stop), else a private server in `directory`."""
    existing = os.environ.get("TEST_DATABASE_URL")
    if existing:
        return existing, lambda: None
    server = PostgresServer(directory)
    return server.start(), server.stop


def plain_url(url: str) -> str:
    """psycopg.connect wants postgresql://, not the SQLAlchemy driver form."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(admin_url: str, name: str | None = None, template: str | None = None) -> str:
    """Create a fresh database next to admin_url's, empty or a copy of the `template` database (its name;
    nothing may be connected to it); return its URL (same credentials)."""
    import psycopg

    name = name or f"tp_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(plain_url(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(plain_url(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop a throwaway PostgreSQL.")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, help="directory holding the cluster (created if missing)")
    args = parser.parse_args(argv)
    if args.action == "start":
        print(PostgresServer(args.dir).start())
    else:
        PostgresServer(args.dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
