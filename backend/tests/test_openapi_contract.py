"""The API contract: schemathesis with every check and the stateful phase, against a real backend process.

`st run --checks all` exactly as an API consumer would run it: the document at /openapi.json must say
what the server does (statuses, bodies, headers, Allow on 405, accepted and rejected input). The seed is
fixed so a failure reproduces; the example count keeps the run under two minutes on a small machine.
Checks the schema cannot express are excluded by name, per operation, in CHECK_EXCLUSIONS below.
Run alone: ./dev/test.sh --only python -- backend/tests/test_openapi_contract.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from taskpilot_dev import harness

SEED = 20260401
MAX_EXAMPLES = 25
CONFIG = Path(__file__).parent / "contract" / "schemathesis.toml"
TIME_BUDGET_SECONDS = 600  # a hard stop for a hung run; the run itself takes well under two minutes
PHASES = "examples,coverage,fuzzing,stateful"
# (operation, check, why JSON Schema cannot state what the server checks). Such an operation runs
# separately with only that check off (a per-operation config cannot override `--checks all`).
CHECK_EXCLUSIONS = [
    (
        "POST /api/chatkit",
        "positive_data_acceptance",
        "the message is all content parts joined and trimmed: non-empty and <= 4000 characters span array items",
    ),
]
# Operations that end the session the run authenticates with (logout revokes every token of the user; a
# fresh token may delete its account without the password): each runs last, alone, with an account of its
# own, so every other operation is exercised with a live token rather than answering only 401.
SESSION_ENDING = ["POST /api/auth/logout", "DELETE /api/auth/me"]


def st_command(base_url: str, token: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        *extra,
    ]


def _signup(http: httpx.Client, base_url: str, email: str) -> str:
    signup = http.post(f"{base_url}/api/auth/signup", json={"email": email, "password": "contract-pw"})
    assert signup.status_code == 201, signup.text
    http.cookies.clear()
    return signup.json()["access_token"]


def test_openapi_document_matches_the_server(database_url, tmp_path):
    with harness.backend_server(database_url) as base_url, httpx.Client(timeout=30) as http:
        token = _signup(http, base_url, "contract@example.com")
        for number in range(3):  # small ids the generator will try are real tasks of this user
            created = http.post(
                f"{base_url}/api/tasks", json={"title": f"seed {number}"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert created.status_code == 201, created.text

        separate = [operation for operation, _, _ in CHECK_EXCLUSIONS] + SESSION_ENDING
        runs = [st_command(base_url, token, *[f"--exclude-name={operation}" for operation in separate])]
        for operation, check, _reason in CHECK_EXCLUSIONS:
            runs.append(st_command(base_url, token, f"--include-name={operation}", f"--exclude-checks={check}"))
        for operation in SESSION_ENDING:
            own_token = _signup(http, base_url, f"contract-{len(runs)}@example.com")
            runs.append(st_command(base_url, own_token, f"--include-name={operation}"))
        started = time.monotonic()
        results = [
            subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS)
            for command in runs
        ]
        elapsed = time.monotonic() - started
    reports = [result.stdout[-12000:] + result.stderr[-4000:] for result in results]
    print("\n".join(reports))
    print(f"schemathesis: {elapsed:.0f} s")
    for result, report in zip(results, reports, strict=True):
        assert result.returncode == 0, f"schemathesis found contract failures (seed {SEED}):\n{report}"
        assert "generated" in result.stdout, report  # it really ran cases
    assert "Stateful (in" in results[0].stdout, reports[0]
    assert "Authentication failed" not in results[0].stdout, reports[0]  # the account lived through the run
