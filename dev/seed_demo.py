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

import httpx

from taskpilot_dev.api import ApiError
from taskpilot_dev.demo import seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seed a demo user and tasks through the TaskPilot AI API.")
    parser.add_argument("--api-url", default="http://localhost:8000", help="default: %(default)s")
    parser.add_argument("--email", default="demo@example.com", help="default: %(default)s")
    parser.add_argument("--password", default="demo-password", help="default: %(default)s")
    parser.add_argument("--name", default="Demo User", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        created, kept = seed(args.api_url, args.email, args.password, args.name)
    except (httpx.HTTPError, ApiError) as err:
        print(f"seed_demo: FAILED: {err.__class__.__name__}: {err}")
        return 1
    print(f"seed_demo: {created} tasks created, {kept} already there")
    print(f"seed_demo: sign in at http://localhost:3000 as {args.email} / {args.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
