"""Demo data through the API: a demo user with a handful of tasks (Tilt's "Seed demo data" button).
Idempotent: the user is created or logged in, and only tasks whose title is missing are added."""

from __future__ import annotations

from .api import TaskApi

DEMO_TASKS = [
    ("Plan the sprint", "Pick the three stories that matter most this week."),
    ("Review the Helm chart", "Check probes, resources and the NetworkPolicy."),
    ("Write release notes", None),
    ("Try the assistant", "Ask: 'add a task to call the dentist tomorrow'."),
    ("Water the plants", None),
]
DONE_TITLES = {"Water the plants"}


def seed(api_url: str, email: str, password: str, name: str, timeout: float = 10.0) -> tuple[int, int]:
    """Returns (tasks created, tasks already there)."""
    with TaskApi(api_url, timeout=timeout) as api:
        api.sign_in(email, password, name)
        existing = {task["title"] for task in api.list_tasks(limit=100)}
        created = 0
        for title, description in DEMO_TASKS:
            if title in existing:
                continue
            task = api.create_task(title, description)
            if title in DONE_TITLES:
                api.update_task(task["id"], completed=True)
            created += 1
    return created, len(DEMO_TASKS) - created
