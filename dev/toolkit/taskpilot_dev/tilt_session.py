"""The running Tilt session, read through Tilt's own CLI (`tilt get session Tiltfile -o json`).

TILT_PORT / TILT_HOST in the environment select the instance, as for any `tilt` call; a resource
started by Tilt inherits them.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime


class SessionUnreadable(Exception):
    pass


def session_start(tilt: str = "tilt") -> datetime:
    """When the Tilt engine started (it loads the Tiltfile right away): the session's status.startTime."""
    try:
        proc = subprocess.run(
            [tilt, "get", "session", "Tiltfile", "-o", "json"], capture_output=True, text=True, timeout=30
        )
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
