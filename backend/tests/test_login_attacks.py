"""The four attacks on the login limits, each client on its own loopback address, against real processes.

(a) a flood from many addresses through the frontend, (b) failures from one address through the
frontend, (c) a targeted attack on one account, (d) a client that rotates X-Forwarded-For while talking
to the backend directly. One stack (frontend + backend on a database of its own) serves all four; each
test uses its own addresses and accounts. The limits are set low (ATTACK_LIMITS) so each attack needs a
few dozen password hashes instead of hundreds; dev/bench/login_flood_bench.py runs the flood longer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from taskpilot_dev import harness
from taskpilot_dev.api import PASSWORD, client_on, unique_email
from taskpilot_dev.loadgen import loopback_addresses
from taskpilot_dev.login_attacks import (
    DEVICE_COOKIE,
    flood_through_frontend,
    one_address_through_frontend,
    sign_up_device,
)
from taskpilot_dev.login_flood import TARGET_P95_MS

pytestmark = pytest.mark.slow

MAX_PER_IP = 10
MAX_PER_ACCOUNT = 5
ATTACK_LIMITS = {
    "LOGIN_MAX_FAILURES_PER_IP": str(MAX_PER_IP),
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": str(MAX_PER_ACCOUNT),
    "LOGIN_FAILURE_WINDOW_SECONDS": "900",
}
WRONG = "wrong-guess-123"


@dataclass(frozen=True)
class AttackStack:
    backend_url: str
    frontend_url: str


@pytest.fixture(scope="module")
def stack(database_admin_url: str) -> Iterator[AttackStack]:
    url = harness.create_database(database_admin_url)  # its own: the per-test TRUNCATE does not reach it
    try:
        harness.migrate(url)
        with (
            harness.backend_server(url, env=ATTACK_LIMITS) as backend_url,
            harness.frontend_server(backend_url) as frontend_url,
        ):
            yield AttackStack(backend_url, frontend_url)
    finally:
        harness.drop_database(database_admin_url, url)


def _login(http, email: str, password: str = PASSWORD, **kwargs):
    return http.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def test_a_flood_from_many_addresses_through_the_frontend_locks_out_nobody(stack):
    result = flood_through_frontend(
        stack.frontend_url,
        flood_clients=8,
        flood_addresses=24,
        stop_after_failures=MAX_PER_IP + 5,  # more than one address may fail: from one address it would be locked out
        max_seconds=60,
    )
    # Users on other addresses: the ones who never signed in on their client, right after the flood ...
    assert result["later_logins"] == {200: 3}, result
    # ... and, during it, known devices logging in and a signed-in user's requests.
    assert set(result["known_device_logins"]) == {200}, result
    assert result["user_requests"] >= 20, result
    assert result["user_failures"] == {}, result
    assert result["user_p95_ms"] <= TARGET_P95_MS, result
    assert result["flood_reached_its_failures"], result  # the flood did what it came for: MAX_PER_IP + 5 failures


def test_b_failures_from_one_address_through_the_frontend_leave_other_addresses_alone(stack):
    result = one_address_through_frontend(stack.frontend_url, MAX_PER_IP + 10, first_address="127.0.40.1")
    # A user on another address, on a client that never signed in (no device cookie).
    assert result["bystander_login"] == 200, result
    assert result["attacker_statuses"] == [401] * MAX_PER_IP + [429] * 10, result
    assert 1 <= int(result["attacker_last_retry_after"]) <= 900, result


def test_c_a_targeted_attack_on_one_account_spares_its_owners_known_device(stack):
    owner_address, attacker_address, travelling_address = loopback_addresses("127.0.50.1", 3)
    owner = sign_up_device(stack.frontend_url, owner_address, "owner")
    with client_on(attacker_address, stack.frontend_url) as attacker:
        statuses = [_login(attacker, owner.email, WRONG).status_code for _ in range(MAX_PER_ACCOUNT + 2)]
        guessed_right = _login(attacker, owner.email)
    assert statuses == [401] * MAX_PER_ACCOUNT + [429] * 2
    assert guessed_right.status_code == 429 and int(guessed_right.headers["retry-after"]) >= 1
    # The owner's laptop, now on another network: its device cookie is what it still has.
    with client_on(travelling_address, stack.frontend_url) as laptop:
        response = _login(laptop, owner.email, headers={"Cookie": f"{DEVICE_COOKIE}={owner.cookie}"})
    assert response.status_code == 200, response.text


def test_d_rotating_forwarded_for_straight_to_the_backend_buys_no_fresh_budget(stack):
    attacker_address, user_address = loopback_addresses("127.0.60.1", 2)
    with client_on(attacker_address, stack.backend_url) as attacker:
        statuses = [
            _login(attacker, unique_email("made-up"), WRONG, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(1, MAX_PER_IP + 11)
        ]
    assert statuses == [401] * MAX_PER_IP + [429] * 10
    with client_on(user_address, stack.backend_url) as http:
        email = unique_email("direct")
        assert http.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
        http.cookies.clear()
        assert _login(http, email).status_code == 200
