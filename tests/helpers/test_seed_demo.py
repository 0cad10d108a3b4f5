"""dev/seed_demo.py against the real backend: creates the demo data once, then is a no-op."""
from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import requests

import seed_demo
from helper_servers import closed_port_url

SCRIPT = Path(__file__).resolve().parents[2] / "dev" / "seed_demo.py"


def test_seeds_a_demo_user_with_tasks_and_is_idempotent(backend_url):
    email = f"demo-{uuid.uuid4().hex[:8]}@example.com"
    args = [sys.executable, str(SCRIPT), "--api-url", backend_url, "--email", email]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout
    assert f"{len(seed_demo.DEMO_TASKS)} tasks created, 0 already there" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert f"0 tasks created, {len(seed_demo.DEMO_TASKS)} already there" in second.stdout

    token = requests.post(backend_url + "/api/auth/login", json={"email": email, "password": "demo-password"},
                          timeout=10).json()["access_token"]
    tasks = requests.get(backend_url + "/api/tasks", headers={"Authorization": "Bearer " + token}, timeout=10).json()
    assert sorted(t["title"] for t in tasks) == sorted(title for title, _ in seed_demo.DEMO_TASKS)
    assert {t["title"] for t in tasks if t["completed"]} == seed_demo.DONE_TITLES


def test_reports_an_unreachable_api_without_a_traceback():
    result = subprocess.run([sys.executable, str(SCRIPT), "--api-url", closed_port_url()],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout.startswith("seed_demo: FAILED")
    assert "Traceback" not in result.stderr
