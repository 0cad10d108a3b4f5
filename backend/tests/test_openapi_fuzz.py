"""schemathesis against the running app's OpenAPI: authenticated, fixed seed, >= 500 cases, zero 5xx.

Runs against a real `uvicorn main:app` process so requests go through the same stack as production.
"""
from __future__ import annotations

from collections import Counter

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable

from taskpilot_dev import harness

SEED = 20260401
MIN_CASES = 500
EXAMPLES_PER_OPERATION = {schemathesis.GenerationMode.POSITIVE: 40, schemathesis.GenerationMode.NEGATIVE: 20}
# Server-sent event streams never end, so a request/response fuzzer cannot call them.
STREAMING_PATHS = r"^/api/events"


def test_generated_requests_never_get_a_server_error(database_url):
    with harness.backend_server(database_url) as base_url, requests.Session() as http:
        signup = http.post(f"{base_url}/api/auth/signup", json={"email": "fuzz@example.com", "password": "fuzz-password"})
        assert signup.status_code == 201, signup.text
        auth = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        for number in range(20):  # small ids the fuzzer will hit are real tasks of this user
            assert http.post(f"{base_url}/api/tasks", json={"title": f"seed {number}"}, headers=auth).status_code == 201

        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(path_regex=STREAMING_PATHS)
        calls: list[tuple[str, int]] = []
        server_errors: list[str] = []

        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, max_examples in EXAMPLES_PER_OPERATION.items():
                strategy = operation.as_strategy(generation_mode=mode, headers=auth)

                @seed(SEED)
                @settings(
                    max_examples=max_examples,
                    deadline=None,
                    database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def call(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base_url, session=http, timeout=30)
                    calls.append((operation.label, response.status_code))
                    if response.status_code >= 500:
                        server_errors.append(
                            f"{operation.label} -> {response.status_code}: {response.text[:300]}\n"
                            f"    {case.as_curl_command(headers=auth)}"
                        )

                try:
                    call()
                except Unsatisfiable:
                    pass  # e.g. no way to make a parameterless GET "negative"; the positive run covered it

        print(f"{len(calls)} generated requests:", dict(Counter(label for label, _ in calls)))
        labels = {label for label, _ in calls}
        assert {"POST /api/auth/signup", "POST /api/tasks", "PATCH /api/tasks/{task_id}"} <= labels
        assert len(calls) >= MIN_CASES, f"only {len(calls)} generated cases"
        assert not server_errors, "\n".join(server_errors)
