"""Login attacks through the frontend, each client on its own loopback address, and what users see.

One address (backend/tests/test_login_attacks.py at low limits, the bench at the defaults): wrong
passwords for made-up emails from one address, past that address's limit, then a user on another
address who never signed in on that client logs in.

The flood scenario (backend/tests/test_login_attacks.py runs it short, dev/bench/login_flood_bench.py
long): a flood of wrong passwords for made-up emails from many addresses goes through the frontend's
/api proxy (its own process, taskpilot_dev.login_flood) until it has collected a set number of 401s.
Meanwhile a signed-in user lists its tasks every 50 ms and users log in from the devices they signed
up on, each from its own address; once the flood is over, users who never signed in on this client
log in from fresh addresses. Every request of every user must succeed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field

from .api import PASSWORD, async_client_on, client_on, unique_email
from .loadgen import loopback_addresses
from .login_flood import USER_INTERVAL_SECONDS, flood_process

DEVICE_COOKIE = "taskpilot_device"
KNOWN_DEVICE_LOGIN_INTERVAL_SECONDS = 0.25


@dataclass
class Device:
    """A user's browser: its address, the account it signed up to, and the device cookie it got."""

    address: str
    email: str
    cookie: str
    session_token: str = field(repr=False, default="")


def sign_up_device(base_url: str, address: str, prefix: str) -> Device:
    with client_on(address, base_url) as http:
        email = unique_email(prefix)
        response = http.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        response.raise_for_status()
        return Device(address, email, response.cookies[DEVICE_COOKIE], response.json()["access_token"])


def one_address_through_frontend(frontend_url: str, failures: int, first_address: str) -> dict:
    """`failures` wrong logins from one address, then a bystander's login from the next address."""
    attacker_address, bystander_address = loopback_addresses(first_address, 2)
    bystander = sign_up_device(frontend_url, bystander_address, "bystander")
    with client_on(attacker_address, frontend_url) as attacker:
        answers = [
            attacker.post("/api/auth/login", json={"email": unique_email("made-up"), "password": "wrong-guess-123"})
            for _ in range(failures)
        ]
    with client_on(bystander_address, frontend_url) as http:  # a client that never signed in: no device cookie
        bystander_status = http.post(
            "/api/auth/login", json={"email": bystander.email, "password": PASSWORD}
        ).status_code
    return {
        "attacker_statuses": [answer.status_code for answer in answers],
        "attacker_last_retry_after": answers[-1].headers.get("retry-after"),
        "bystander_login": bystander_status,
    }


def _quantile_ms(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 1)


async def _users_during(flood: asyncio.Future, frontend_url: str, reader: Device, devices: list[Device]) -> dict:
    """The signed-in user's task lists and the known devices' logins, until `flood` is done."""
    list_latencies: list[float] = []
    list_failures: dict[int, int] = {}
    login_latencies: list[float] = []
    login_statuses: dict[int, int] = {}

    async def list_tasks() -> None:
        async with async_client_on(reader.address, frontend_url) as http:
            http.headers["Authorization"] = f"Bearer {reader.session_token}"
            while not flood.done():
                started = time.perf_counter()
                response = await http.get("/api/tasks")
                list_latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    list_failures[response.status_code] = list_failures.get(response.status_code, 0) + 1
                await asyncio.sleep(USER_INTERVAL_SECONDS)

    async def known_device_logins() -> None:
        clients = [async_client_on(device.address, frontend_url) for device in devices]
        try:
            turn = 0
            while not flood.done():
                device, http = devices[turn % len(devices)], clients[turn % len(clients)]
                turn += 1
                started = time.perf_counter()
                response = await http.post(
                    "/api/auth/login",
                    json={"email": device.email, "password": PASSWORD},
                    headers={"Cookie": f"{DEVICE_COOKIE}={device.cookie}"},
                )
                login_latencies.append(time.perf_counter() - started)
                login_statuses[response.status_code] = login_statuses.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    device.cookie = response.cookies[DEVICE_COOKIE]  # a fresh one at every sign-in
                await asyncio.sleep(KNOWN_DEVICE_LOGIN_INTERVAL_SECONDS)
        finally:
            for http in clients:
                await http.aclose()

    await asyncio.gather(list_tasks(), known_device_logins())
    return {
        "user_requests": len(list_latencies),
        "user_failures": list_failures,
        "user_p50_ms": _quantile_ms(list_latencies, 50),
        "user_p95_ms": _quantile_ms(list_latencies, 95),
        "known_device_logins": login_statuses,
        "known_device_login_p50_ms": _quantile_ms(login_latencies, 50),
        "known_device_login_p95_ms": _quantile_ms(login_latencies, 95),
    }


def flood_through_frontend(
    frontend_url: str,
    *,
    flood_clients: int,
    flood_addresses: int,
    stop_after_failures: int,
    max_seconds: float,
    devices: int = 3,
) -> dict:
    """Run the flood scenario against a running stack; returns what the flood and the users saw."""
    user_addresses = loopback_addresses("127.0.20.1", 2 * devices + 1)
    known = [sign_up_device(frontend_url, address, "known") for address in user_addresses[:devices]]
    later = [sign_up_device(frontend_url, address, "later") for address in user_addresses[devices : 2 * devices]]
    with client_on(known[0].address, frontend_url) as http:
        for number in range(20):
            created = http.post(
                "/api/tasks",
                json={"title": f"task {number}"},
                headers={"Authorization": f"Bearer {known[0].session_token}"},
            )
            created.raise_for_status()
    port = int(frontend_url.rsplit(":", 1)[1])
    started = time.perf_counter()
    with flood_process(
        port, flood_clients, max_seconds, flood_addresses, "127.0.30.1", stop_after_failures=stop_after_failures
    ) as attacker:

        async def during() -> dict:
            flood = asyncio.ensure_future(asyncio.to_thread(attacker.wait))
            try:
                return await _users_during(flood, frontend_url, known[0], known)
            finally:
                await flood

        seen = asyncio.run(during())
        flood_seconds = time.perf_counter() - started
        output, _ = attacker.communicate(timeout=30)
    flood_statuses = {int(status): count for status, count in json.loads(output).items()}
    # After the flood, within the failure window: users who never signed in on these clients, from new addresses.
    later_logins: dict[int, int] = {}
    for device, address in zip(later, loopback_addresses("127.0.21.1", devices), strict=True):
        with client_on(address, frontend_url) as http:
            status = http.post("/api/auth/login", json={"email": device.email, "password": PASSWORD}).status_code
            later_logins[status] = later_logins.get(status, 0) + 1
    return {
        **seen,
        "flood_statuses": flood_statuses,
        "flood_failures": flood_statuses.get(401, 0),
        "flood_seconds": round(flood_seconds, 1),
        "flood_reached_its_failures": flood_statuses.get(401, 0) >= stop_after_failures,
        "later_logins": later_logins,
    }
