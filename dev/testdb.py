"""A throwaway PostgreSQL for tests and benchmarks.

`start_postgres(dir) -> (url, stop)` uses TEST_DATABASE_URL when set; otherwise it runs initdb in
`dir` with the local PostgreSQL binaries on a free port (as the `postgres` user when we are root,
since initdb refuses root) and returns a superuser URL that may CREATE DATABASE.

CLI: `python dev/testdb.py start --dir D` prints the URL; `python dev/testdb.py stop --dir D`.
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "postgres"  # local trust auth; the password is only there for the URL's shape
URL_FILE = "url.txt"
# Durability off: a test database is thrown away, speed matters more.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=128MB -c listen_addresses=127.0.0.1"
)


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as_owner(command: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool; as root, drop to the `postgres` user (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=str(data_dir.parent))


def start_postgres(directory: str | os.PathLike) -> tuple[str, Callable[[], None]]:
    existing = os.environ.get("TEST_DATABASE_URL")
    if existing:
        return existing, lambda: None

    base = Path(directory).resolve()
    data_dir = base / "pgdata"
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(base, owner.pw_uid, owner.pw_gid)
        # The postgres user must be able to reach the directory.
        for parent in base.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    if not (data_dir / "PG_VERSION").exists():
        result = _run_as_owner(
            [pg_bin("initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            data_dir,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    port = _free_port()
    options = f"-p {port} -k {base} {SERVER_OPTIONS}"
    result = _run_as_owner(
        [pg_bin("pg_ctl"), "-D", str(data_dir), "-l", str(base / "postgres.log"), "-o", options, "-w", "-t", "60", "start"],
        data_dir,
    )
    if result.returncode != 0:
        log = (base / "postgres.log").read_text(errors="replace") if (base / "postgres.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{log[-2000:]}")

    url = f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres"
    (base / URL_FILE).write_text(url + "\n")

    def stop() -> None:
        stop_postgres(base)

    return url, stop


def stop_postgres(directory: str | os.PathLike) -> None:
    base = Path(directory).resolve()
    data_dir = base / "pgdata"
    if (data_dir / "postmaster.pid").exists():
        _run_as_owner([pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"], data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, help="directory holding the cluster (created if missing)")
    args = parser.parse_args(argv)
    if args.action == "start":
        url, _stop = start_postgres(args.dir)
        print(url)
    else:
        stop_postgres(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
