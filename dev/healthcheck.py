#!/usr/bin/env python3
"""Check that TaskPilot AI answers: frontend `/`, backend `/health` and `/health/ready`.

    python dev/healthcheck.py                       # one round against the Tilt port-forwards
    python dev/healthcheck.py --skip-frontend       # backend only (tilt up -- --no-frontend)
    python dev/healthcheck.py --watch               # re-check on every file change and every 30 s

Each endpoint is retried until it answers 200 or --timeout seconds pass (a live update or a
restarting pod is given time to come back). Output is plain text, one line per check, no colour.
Exit status: 0 when every check passed, 1 otherwise (in --watch mode: the last round's result).
The checks themselves live in taskpilot_dev.health.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from taskpilot_dev import health
from taskpilot_dev.paths import BACKEND_DIR, FRONTEND_DIR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Check the TaskPilot AI frontend and backend respond.")
    parser.add_argument("--backend-url", default="http://localhost:8000", help="default: %(default)s")
    parser.add_argument("--frontend-url", default="http://localhost:3000", help="default: %(default)s")
    parser.add_argument("--skip-frontend", action="store_true", help="check the backend only")
    parser.add_argument(
        "--timeout",
        type=float,
        default=90.0,
        help="seconds to keep retrying each endpoint before it counts as failed (default: %(default)s)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=20.0,
        help="seconds one request may take; `next dev` compiles a page on its first request (default: %(default)s)",
    )
    parser.add_argument(
        "--watch", action="store_true", help="keep running: re-check on file changes and on an interval"
    )
    parser.add_argument(
        "--interval", type=float, default=30.0, help="watch mode: seconds between rounds (default: %(default)s)"
    )
    parser.add_argument(
        "--watch-path",
        action="append",
        type=Path,
        help="watch mode: directory to watch (repeatable; default: backend/ and frontend/)",
    )
    parser.add_argument("--debounce", type=float, default=2.0, help="watch mode: seconds to wait after a change")
    parser.add_argument("--max-rounds", type=int, help="watch mode: stop after this many rounds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checks = health.checks_for(args.backend_url, args.frontend_url, args.skip_frontend)
    if not args.watch:
        return 0 if health.run_round(checks, args.timeout, args.request_timeout) else 1
    paths = args.watch_path or [BACKEND_DIR, FRONTEND_DIR]
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        print(f"healthcheck: cannot watch missing directories: {', '.join(missing)}")
        return 2
    return (
        0
        if health.watch(
            checks, paths, args.interval, args.timeout, args.request_timeout, args.debounce, args.max_rounds
        )
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
