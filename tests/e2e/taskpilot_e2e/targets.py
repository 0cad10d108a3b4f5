"""Where the e2e suite sends its HTTP requests.

1. Explicit: E2E_BACKEND_URL (alias E2E_API_URL) and/or E2E_BACKEND_URLS (comma list; ≥2 enables
   cross-replica checks), E2E_FRONTEND_URL (alias E2E_BASE_URL), E2E_INGRESS_URL.
2. Forwarded: nothing set but something listens on localhost:8000 → the Tilt / port-forward.sh
   forwards http://localhost:8000 and http://localhost:3000 (if it listens).
3. Local: nothing set and nothing on :8000 (or E2E_LOCAL=1) → start two backend processes and the
   built frontend via dev/harness.py on TEST_DATABASE_URL (or a throwaway PostgreSQL from
   dev/testdb.py). This is what the README test command (./dev/test.sh) relies on.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Targets:
    origin: str  # "env" | "forwarded" | "local"
    backend_urls: list[str]
    frontend_url: str | None = None
    frontend_missing: str = ""
    ingress_url: str | None = None

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
    ingress = env.get("E2E_INGRESS_URL", "").rstrip("/") or None
    # E2E_API_URL / E2E_BASE_URL: the names the Tiltfile's e2e resource passes.
    first = _split(env.get("E2E_BACKEND_URL") or env.get("E2E_API_URL"))
    backends = first + [u for u in _split(env.get("E2E_BACKEND_URLS")) if u not in first]
    frontend = (env.get("E2E_FRONTEND_URL") or env.get("E2E_BASE_URL") or "").rstrip("/") or None
    if backends:
        return Targets("env", backends, frontend, "" if frontend else "E2E_FRONTEND_URL is not set", ingress)
    if env.get("E2E_LOCAL") == "1" or not port_open("localhost", 8000):
        return None
    if not port_open("localhost", 3000):
        return Targets("forwarded", ["http://localhost:8000"], None, "nothing listens on localhost:3000", ingress)
    return Targets("forwarded", ["http://localhost:8000"], "http://localhost:3000", "", ingress)


@contextlib.contextmanager
def local_stack() -> Iterator[Targets]:
    """Two backend processes on one fresh database plus the built frontend, all on 127.0.0.1."""
    import harness
    import testdb

    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="e2e-stack-"))
        admin_url, stop_postgres = testdb.start_postgres(Path(scratch) / "pg")
        stack.callback(stop_postgres)
        database_url = harness.create_database(admin_url)
        stack.callback(harness.drop_database, admin_url, database_url)
        harness.migrate(database_url)
        backends = [stack.enter_context(harness.backend_server(database_url)) for _ in range(2)]
        frontend, missing = None, ""
        if harness.STANDALONE_SERVER.exists():
            frontend = stack.enter_context(harness.frontend_server(backends[0]))
        else:
            missing = f"frontend not built ({harness.STANDALONE_SERVER.relative_to(REPO_ROOT)} missing): run `npm run build` in frontend/"
        yield Targets("local", backends, frontend, missing)
