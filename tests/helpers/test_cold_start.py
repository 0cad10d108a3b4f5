"""dev/cold_start.py: the cold-start figure from the running Tilt's session start time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from taskpilot_dev.tilt_session import parse_time

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "dev" / "cold_start.py"


def fake_tilt(tmp_path: Path, stdout: str, code: int = 0) -> Path:
    """A `tilt` that answers `tilt get session Tiltfile -o json` with `stdout` (and checks it was asked that)."""
    tilt = tmp_path / "tilt"
    tilt.write_text(
        "#!/bin/sh\n"
        '[ "$*" = "get session Tiltfile -o json" ] || { echo "unexpected: $*" >&2; exit 2; }\n'
        f"cat <<'JSON'\n{stdout}\nJSON\nexit {code}\n"
    )
    tilt.chmod(0o755)
    return tilt


def run(tilt: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--tilt", str(tilt), *args], capture_output=True, text=True, timeout=30
    )


def test_prints_seconds_since_the_session_started_and_records_them(tmp_path):
    started = datetime.now(UTC) - timedelta(seconds=125)
    session = {"status": {"pid": 1, "startTime": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "done": False}}
    record = tmp_path / "out" / "cold.json"
    proc = run(fake_tilt(tmp_path, json.dumps(session)), "--record", str(record))
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("cold start: ") and line.endswith(" s from the Tiltfile load to all checks green")
    seconds = float(line.split()[2])
    assert 125 <= seconds < 135
    assert json.loads(record.read_text())["seconds"] == seconds


@pytest.mark.parametrize(
    "stamp", ["2026-11-30T19:00:00Z", "2026-11-30T19:00:00.123456789Z", "2026-11-30T19:00:00.5+01:00"]
)
def test_reads_the_time_formats_tilt_prints(stamp):
    parsed = parse_time(stamp)
    assert parsed.tzinfo is not None and parsed.minute == 0


@pytest.mark.parametrize(
    "stdout,code,reason",
    [
        ("No resources found", 1, "`tilt get session Tiltfile` failed: No resources found"),
        ('{"status": {}}', 0, "returned no status.startTime"),
    ],
)
def test_says_why_when_the_session_cannot_be_read(tmp_path, stdout, code, reason):
    record = tmp_path / "cold.json"
    proc = run(fake_tilt(tmp_path, stdout, code), "--record", str(record))
    assert proc.returncode == 0, "a missing figure must not fail tilt ci"
    assert proc.stdout.startswith("cold start: unknown (") and reason in proc.stdout
    assert not record.exists()


def test_without_tilt_on_path(tmp_path):
    proc = run(tmp_path / "missing-tilt")
    assert proc.returncode == 0 and "is not on PATH" in proc.stdout
