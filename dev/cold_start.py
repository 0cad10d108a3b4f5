#!/usr/bin/env python3
"""Print how long this Tilt session took from its start (the Tiltfile load) to all checks green.

    python dev/cold_start.py                              # one line: "cold start: 142.3 s ..."
    python dev/cold_start.py --record .cache/cold-start.json

The Tiltfile runs it as the `cold-start` resource, after every automatic check passed, so "now"
is the moment the stack went green; the start is the running Tilt's session start
(taskpilot_dev.tilt_session). --record also writes the figure as JSON, for CI's job summary
(tilt ci exits right after).
Exit status: always 0: a figure that cannot be taken (Tilt's session unreadable) is reported as
"cold start: unknown (why)" and must not turn `tilt ci` red.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev.tilt_session import SessionUnreadable, session_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, help="also write {seconds, started, green} as JSON to this file")
    parser.add_argument("--tilt", default="tilt", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        started = session_start(args.tilt)
    except SessionUnreadable as err:
        print(f"cold start: unknown ({err})")
        return 0
    green = datetime.now(UTC)
    seconds = round((green - started).total_seconds(), 1)
    print(f"cold start: {seconds:.1f} s from the Tiltfile load to all checks green")
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(
            json.dumps({"seconds": seconds, "started": started.isoformat(), "green": green.isoformat()}) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
