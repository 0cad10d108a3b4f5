#!/usr/bin/env python3
"""Print how long this Tilt session took from its start (the Tiltfile load) to all checks green.

    python dev/cold_start.py                              # one line: "cold start: 142.3 s ..."
    python dev/cold_start.py --record .cache/cold-start.json

The Tiltfile runs it as the `cold-start` resource, after every automatic check passed, so "now"
is the moment the stack went green. The start comes from the running Tilt itself (`tilt get
session Tiltfile`: the engine's start time, which is when it began loading the Tiltfile).
--record also writes the figure as JSON, for CI's job summary (tilt ci exits right after).
Exit status: always 0: a figure that cannot be taken (Tilt's session unreadable) is reported as
"cold start: unknown (why)" and must not turn `tilt ci` red.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path


class SessionUnreadable(Exception):
    pass


def session_start(tilt: str = "tilt") -> datetime:
    """Start time of the running Tilt session (TILT_PORT/TILT_HOST select the instance, as for any `tilt` call)."""
    try:
        proc = subprocess.run([tilt, "get", "session", "Tiltfile", "-o", "json"],
                              capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SessionUnreadable(f"`{tilt}` is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise SessionUnreadable("`tilt get session` did not answer within 30 s") from None
    if proc.returncode:
        raise SessionUnreadable(f"`tilt get session Tiltfile` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    try:
        started = json.loads(proc.stdout)["status"]["startTime"]
    except (ValueError, KeyError, TypeError):
        raise SessionUnreadable("`tilt get session Tiltfile` returned no status.startTime") from None
    return parse_time(started)


def parse_time(value: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Go's MicroTime prints 6 digits, other fields 9)."""
    head, _, frac_zone = value.partition(".")
    if frac_zone:
        zone_at = next((i for i, ch in enumerate(frac_zone) if not ch.isdigit()), len(frac_zone))
        digits, zone = frac_zone[:zone_at], frac_zone[zone_at:]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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
    green = datetime.now(timezone.utc)
    seconds = round((green - started).total_seconds(), 1)
    print(f"cold start: {seconds:.1f} s from the Tiltfile load to all checks green")
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps({"seconds": seconds, "started": started.isoformat(),
                                           "green": green.isoformat()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
