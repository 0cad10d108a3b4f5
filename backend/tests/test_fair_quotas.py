"""Fair quotas per real client address, against a real backend process: signups are limited per address,
and one address (however many accounts it signed up) gets only its share of a process's event streams."""

from __future__ import annotations

import asyncio

from taskpilot_dev.api import PASSWORD, client_on, unique_email
from taskpilot_dev.loadgen import loopback_addresses

SIGNUPS_PER_IP = 5
STREAMS_PER_POD = 30
STREAMS_PER_IP = 10
QUOTAS = {
    "SIGNUP_MAX_PER_IP": str(SIGNUPS_PER_IP),
    "SSE_MAX_STREAMS_PER_POD": str(STREAMS_PER_POD),
    "SSE_MAX_STREAMS_PER_IP": str(STREAMS_PER_IP),
    "SSE_MAX_STREAMS_PER_USER": "10",
}


async def _open_streams(port: int, source: str, tokens: list[str]) -> tuple[list[int], list[asyncio.StreamWriter]]:
    """GET /api/events once per token from `source`; the status of each, and the connections (left open)."""
    statuses, writers = [], []
    for token in tokens:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        status_line = await asyncio.wait_for(reader.readline(), 10)
        statuses.append(int(status_line.split()[1]))
        writers.append(writer)
    return statuses, writers


def test_signups_from_one_address_meet_429_and_a_second_address_still_opens_streams(backend_server):
    attacker_address, user_address = loopback_addresses("127.0.80.1", 2)
    with backend_server(env=QUOTAS) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        answers = []
        with client_on(attacker_address, base_url) as attacker:
            for _ in range(100):
                answers.append(
                    attacker.post("/api/auth/signup", json={"email": unique_email("burst"), "password": PASSWORD})
                )
                attacker.cookies.clear()  # bearer tokens only (a session cookie would make writes need an Origin)
        statuses = [answer.status_code for answer in answers]
        assert statuses == [201] * SIGNUPS_PER_IP + [429] * (100 - SIGNUPS_PER_IP)
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 3600
        tokens = [answer.json()["access_token"] for answer in answers[:SIGNUPS_PER_IP]]
        with client_on(user_address, base_url) as http:
            signed_up = http.post("/api/auth/signup", json={"email": unique_email("other"), "password": PASSWORD})
            assert signed_up.status_code == 201, signed_up.text
            user_token = signed_up.json()["access_token"]

        async def scenario() -> tuple[list[int], list[int]]:
            # Every account the burst got, all streams it may hold: more than the whole process serves.
            burst, burst_writers = await _open_streams(port, attacker_address, [t for t in tokens for _ in range(10)])
            other, other_writers = await _open_streams(port, user_address, [user_token] * 3)
            for writer in burst_writers + other_writers:
                writer.close()
            return burst, other

        burst, other = asyncio.run(scenario())
    assert other == [200, 200, 200], f"the second address got {other}; the burst got {burst.count(200)} streams"
    assert burst.count(200) == STREAMS_PER_IP and burst.count(429) == len(burst) - STREAMS_PER_IP, burst
