"""dev/healthcheck.py (over taskpilot_dev.health) against the real backend and local HTTP servers
(up, down, not ready, late)."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time

from taskpilot_dev import harness, health
from taskpilot_dev.fakes.pages import PageHandler, closed_port_url, http_server
from taskpilot_dev.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "dev" / "healthcheck.py"


def run_script(*args, timeout=120):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


def test_all_checks_pass_against_a_running_stack(backend_url, page_url):
    result = run_script("--backend-url", backend_url, "--frontend-url", page_url, "--timeout", "5")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert [ln.split()[:2] for ln in lines[:3]] == [["OK", "backend"], ["OK", "backend"], ["OK", "frontend"]]
    assert lines[0].split()[2].endswith("/health") and lines[1].split()[2].endswith("/health/ready")
    assert lines[-1] == "healthcheck: all 3 checks passed"
    assert "\x1b[" not in result.stdout, "no colour codes"


def test_a_frontend_that_is_down_fails_cleanly(backend_url):
    started = time.monotonic()
    result = run_script("--backend-url", backend_url, "--frontend-url", closed_port_url(), "--timeout", "1")
    assert result.returncode == 1
    assert "FAIL  frontend" in result.stdout and "connection refused" in result.stdout
    assert result.stdout.count("OK  ") == 2
    assert result.stdout.splitlines()[-1] == "healthcheck: 1 of 3 checks failed"
    assert "Traceback" not in result.stdout + result.stderr
    assert time.monotonic() - started < 60


def test_a_backend_without_its_database_is_alive_but_not_ready(page_url):
    unreachable_db = f"postgresql://postgres:postgres@127.0.0.1:{harness.free_port()}/postgres"
    with harness.backend_server(unreachable_db) as backend_url:
        result = run_script("--backend-url", backend_url, "--frontend-url", page_url, "--timeout", "1")
    assert result.returncode == 1
    ready_line = next(ln for ln in result.stdout.splitlines() if "/health/ready" in ln)
    assert ready_line.startswith("FAIL") and "HTTP 503" in ready_line
    assert next(ln for ln in result.stdout.splitlines() if ln.split()[2].endswith("/health")).startswith("OK")


def test_skip_frontend_checks_the_backend_only(backend_url):
    result = run_script("--backend-url", backend_url, "--frontend-url", closed_port_url(), "--skip-frontend")
    assert result.returncode == 0 and "frontend" not in result.stdout


def test_a_service_that_comes_up_late_is_waited_for():
    port = harness.free_port()
    late = [None]

    def start_later():
        time.sleep(1.5)
        from http.server import ThreadingHTTPServer

        late[0] = ThreadingHTTPServer(("127.0.0.1", port), PageHandler)
        late[0].serve_forever()

    threading.Thread(target=start_later, daemon=True).start()
    try:
        out = io.StringIO()
        checks = [health.Check("frontend", f"http://127.0.0.1:{port}/")]
        assert health.run_round(checks, timeout=20, retry_every=0.2, out=out), out.getvalue()
    finally:
        while late[0] is None:
            time.sleep(0.1)
        late[0].shutdown()


def test_a_non_ok_health_body_fails():
    class WrongBody(PageHandler):
        pass

    with http_server(WrongBody) as url:
        result = health.probe(health.Check("backend", url + "/health", expect_json_status="ok"), 5)
    assert not result.ok and 'body is not {"status": "ok"}' in result.detail


def test_watch_rechecks_when_a_file_changes(tmp_path, page_url):
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--skip-frontend",
            "--backend-url",
            page_url,
            "--watch",
            "--watch-path",
            str(tmp_path),
            "--interval",
            "300",
            "--debounce",
            "0.1",
            "--max-rounds",
            "2",
            "--timeout",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "round 1 (start)" in proc.stdout.readline()
        line = "-"
        while line and "checks" not in line:  # wait for round 1's summary
            line = proc.stdout.readline()
        time.sleep(0.5)  # the observer is running before round 1 starts; give the FS a moment anyway
        (tmp_path / "main.py").write_text("print('edited')\n")
        rest = proc.communicate(timeout=60)[0]
    finally:
        proc.kill()
    assert f"round 2 (changed: {tmp_path / 'main.py'})" in rest


def test_watch_rechecks_on_an_interval(tmp_path, page_url):
    result = run_script(
        "--skip-frontend",
        "--backend-url",
        page_url,
        "--watch",
        "--watch-path",
        str(tmp_path),
        "--interval",
        "0.2",
        "--max-rounds",
        "2",
        "--timeout",
        "0",
    )
    assert "round 2 (every 0.2s)" in result.stdout


def test_a_hanging_endpoint_fails_with_the_request_timeout():
    class Slow(PageHandler):
        def do_GET(self):
            time.sleep(2)
            super().do_GET()

    with http_server(Slow) as url:
        result = run_script("--skip-frontend", "--backend-url", url, "--timeout", "0", "--request-timeout", "0.5")
    assert result.returncode == 1
    assert result.stdout.count("no answer within 0.5s") == 2
