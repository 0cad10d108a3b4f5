#!/usr/bin/env python3
"""Seed demo data through the API: a demo user with a handful of tasks (the Tilt "Seed demo data" button).

    python dev/seed_demo.py                               # against Tilt's forward on localhost:8000
    python dev/seed_demo.py --api-url http://localhost:8000 --email me@example.com

Idempotent: the user is created or logged in, and only tasks whose title is missing are added.
Prints the credentials to sign in with. Exit status 0 on success, 1 on any API error.
"""
from __future__ import annotations

import argparse
import sys

import requests

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
    base = api_url.rstrip("/")
    session = requests.Session()
    credentials = {"email": email, "password": password, "name": name}
    response = session.post(base + "/api/auth/signup", json=credentials, timeout=timeout)
    if response.status_code == 409:
        response = session.post(base + "/api/auth/login", json=credentials, timeout=timeout)
    response.raise_for_status()
    session.headers["Authorization"] = "Bearer " + response.json()["access_token"]

    listing = session.get(base + "/api/tasks", params={"limit": 100}, timeout=timeout)
    listing.raise_for_status()
    existing = {task["title"] for task in listing.json()}
    created = 0
    for title, description in DEMO_TASKS:
        if title in existing:
            continue
        made = session.post(base + "/api/tasks", json={"title": title, "description": description}, timeout=timeout)
        made.raise_for_status()
        if title in DONE_TITLES:
            session.patch(f"{base}/api/tasks/{made.json()['id']}", json={"completed": True},
                          timeout=timeout).raise_for_status()
        created += 1
    return created, len(DEMO_TASKS) - created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seed a demo user and tasks through the TaskPilot AI API.")
    parser.add_argument("--api-url", default="http://localhost:8000", help="default: %(default)s")
    parser.add_argument("--email", default="demo@example.com", help="default: %(default)s")
    parser.add_argument("--password", default="demo-password", help="default: %(default)s")
    parser.add_argument("--name", default="Demo User", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        created, kept = seed(args.api_url, args.email, args.password, args.name)
    except requests.RequestException as err:
        detail = err.response.text[:200] if getattr(err, "response", None) is not None else ""
        print(f"seed_demo: FAILED: {err} {detail}".strip())
        return 1
    print(f"seed_demo: {created} tasks created, {kept} already there")
    print(f"seed_demo: sign in at http://localhost:3000 as {args.email} / {args.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
