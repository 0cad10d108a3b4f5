"""dev/seed_demo.py against the real backend: creates the demo data once, then is a no-op."""

from __future__ import annotations

import subprocess
import sys
import uuid

from taskpilot_dev.api import TaskApi
from taskpilot_dev.demo import DEMO_TASKS, DONE_TITLES
from taskpilot_dev.fakes.pages import closed_port_url
from taskpilot_dev.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "dev" / "seed_demo.py"


def test_seeds_a_demo_user_with_tasks_and_is_idempotent(backend_url):
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    args = [sys.executable, str(SCRIPT), "--api-url", backend_url, "--email", email]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout
    assert f"{len(DEMO_TASKS)} tasks created, 0 already there" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert f"0 tasks created, {len(DEMO_TASKS)} already there" in second.stdout

    with TaskApi(backend_url) as api:
        api.login(email, "demo-password")
        tasks = api.list_tasks()
    assert sorted(t["title"] for t in tasks) == sorted(title for title, _ in DEMO_TASKS)
    assert {t["title"] for t in tasks if t["completed"]} == DONE_TITLES


def test_reports_an_unreachable_api_without_a_traceback():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--api-url", closed_port_url()], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and result.stdout.startswith("seed_demo: FAILED")
    assert "Traceback" not in result.stderr
