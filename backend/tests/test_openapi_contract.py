"""The API contract: schemathesis with every check and the stateful phase, against a real backend process.

`st run --checks all` exactly as an API consumer would run it: the document at /openapi.json must say
what the server does (statuses, bodies, headers, Allow on 405, accepted and rejected input). The seed is
fixed so a failure reproduces; the example count keeps the run under two minutes on a small machine.
Checks the schema cannot express are excluded by name, per operation, in CHECK_EXCLUSIONS below.

A run whose token died early would pass every check with 401s, so: the operations that end their
caller's session (logout revokes every token of its caller, account deletion deletes it) each run with a
user of their own (contract/schemathesis.toml), the main token must still work after the run, and every
operation must have answered 2xx at least once (counted from the HAR reports).
Run alone: ./dev/test.sh --only python -- backend/tests/test_openapi_contract.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from taskpilot_dev import harness

SEED = 20260401
MAX_EXAMPLES = 25
CONFIG = Path(__file__).parent / "contract" / "schemathesis.toml"
TIME_BUDGET_SECONDS = 600  # a hard stop for a hung run; the run itself takes well under two minutes
PHASES = "examples,coverage,fuzzing,stateful"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}
# The contract is about the document, not the abuse limits (tested on their own): failed logins and
# signups from this one address must not turn every later login into a 429.
SERVER_ENV = {"LOGIN_MAX_FAILURES_PER_IP": "1000000", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000000"}
# (operation, check, why JSON Schema cannot state what the server checks). Such an operation runs
# separately with only that check off (a per-operation config cannot override `--checks all`).
CHECK_EXCLUSIONS = [
    (
        "POST /api/chatkit",
        "positive_data_acceptance",
        "the message is all content parts joined and trimmed: non-empty and <= 4000 characters span array items",
    ),
]
# Operations that end their caller's session -> the variable holding the token of the user each runs as
# (contract/schemathesis.toml): every other operation keeps the main user's live token.
SESSION_ENDING = {"POST /api/auth/logout": "CONTRACT_LOGOUT_TOKEN", "DELETE /api/auth/me": "CONTRACT_DELETION_TOKEN"}


def st_command(base_url: str, config: Path, report: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
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
        "--report",
        "har",
        "--report-har-path",
        str(report),
        *extra,
    ]


def _operations(document: dict) -> dict[str, re.Pattern[str]]:
    """'METHOD /path/{param}' -> a pattern matching the request paths of that operation."""
    return {
        f"{method.upper()} {path}": re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _successes(har_files: list[Path], operations: dict[str, re.Pattern[str]]) -> Counter[str]:
    """2xx answers per operation, over every request the runs made."""
    successes: Counter[str] = Counter({name: 0 for name in operations})
    for har in har_files:
        for entry in json.loads(har.read_text())["log"]["entries"]:
            method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
            for name, pattern in operations.items():
                if name.startswith(method + " ") and pattern.match(path):
                    successes[name] += 200 <= entry["response"]["status"] < 300
    return successes


def _signup(http: httpx.Client, base_url: str, email: str, password: str) -> str:
    response = http.post(f"{base_url}/api/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    http.cookies.clear()  # bearer tokens only: a kept session cookie would make later writes need an Origin
    return response.json()["access_token"]


def test_openapi_document_matches_the_server(database_url, tmp_path):
    email, password = "contract@example.com", "contract-pw"  # pragma: allowlist secret
    with harness.backend_server(database_url, env=SERVER_ENV) as base_url, httpx.Client(timeout=30) as http:
        token = _signup(http, base_url, email, password)
        own_tokens = {
            variable: _signup(http, base_url, f"contract-{number}@example.com", password)
            for number, variable in enumerate(SESSION_ENDING.values())
        }
        for number in range(3):  # small ids the generator will try are real tasks of this user
            created = http.post(
                f"{base_url}/api/tasks", json={"title": f"seed {number}"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert created.status_code == 201, created.text
        operations = _operations(http.get(f"{base_url}/openapi.json").json())

        config = tmp_path / CONFIG.name
        shutil.copy(CONFIG, config)
        (tmp_path / "contract-email.txt").write_text(json.dumps(email) + "\n")
        (tmp_path / "contract-password.txt").write_text(json.dumps(password) + "\n")
        reports = [tmp_path / "main.har"]
        excluded = [f"--exclude-name={name}" for name, _, _ in CHECK_EXCLUSIONS]
        runs = [st_command(base_url, config, reports[0], *excluded)]
        for number, (name, check, _reason) in enumerate(CHECK_EXCLUSIONS):
            reports.append(tmp_path / f"exclusion-{number}.har")
            runs.append(
                st_command(base_url, config, reports[-1], f"--include-name={name}", f"--exclude-checks={check}")
            )
        env = {**os.environ, "CONTRACT_TOKEN": token, **own_tokens}
        started = time.monotonic()
        results = [
            subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS)
            for command in runs
        ]
        elapsed = time.monotonic() - started
        after_the_run = http.get(f"{base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        own_sessions_after = {
            variable: http.get(f"{base_url}/api/auth/me", headers={"Authorization": f"Bearer {own_token}"}).status_code
            for variable, own_token in own_tokens.items()
        }
    outputs = [result.stdout[-12000:] + result.stderr[-4000:] for result in results]
    print("\n".join(outputs))
    print(f"schemathesis: {elapsed:.0f} s")
    for result, output in zip(results, outputs, strict=True):
        assert result.returncode == 0, f"schemathesis found contract failures (seed {SEED}):\n{output}"
        assert "generated" in result.stdout, output  # it really ran cases
    assert "Stateful (in" in results[0].stdout, outputs[0]
    # schemathesis' own warning for an operation that never got past 401/403
    assert all("Authentication failed" not in output for output in outputs), outputs
    assert after_the_run.status_code == 200, f"the run's token stopped working: {after_the_run.text}"
    # ... while the session-ending operations did end their own users' sessions
    assert own_sessions_after == dict.fromkeys(SESSION_ENDING.values(), 401), own_sessions_after
    successes = _successes(reports, operations)
    print("2xx answers per operation:", json.dumps(dict(sorted(successes.items())), indent=1))
    assert [name for name, count in successes.items() if count == 0] == [], successes
