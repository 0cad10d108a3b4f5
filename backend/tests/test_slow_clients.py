"""Slow and bloated clients are cut off: a backend process started with the image's own uvicorn flags
(docker/Dockerfile.backend CMD), with 1-second bounds so the tests stay fast.

Headers: the HTTP protocol (app/core/http_protocol.py) bounds their time and size. Bodies: the app
(app/core/body_limits.py) bounds their time. Responses are not bounded: an event stream outlives both.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from taskpilot_dev import harness
from taskpilot_dev.api import unique_email
from taskpilot_dev.hostile import oversized_headers, trickle
from taskpilot_dev.sse import SseStream

BOUND_SECONDS = 1.0
SLACK_SECONDS = 0.75  # scheduling on a busy machine; a client that is never cut off takes the full 6 s


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    env = {
        "HTTP_HEADER_TIMEOUT_SECONDS": str(BOUND_SECONDS),
        "REQUEST_BODY_TIMEOUT_SECONDS": str(BOUND_SECONDS),
        "HTTP_MAX_HEADER_BYTES": "16384",
    }
    with harness.backend_server(database_url, env=env, server_args=harness.image_server_args()) as base_url:
        yield base_url


def _port(base_url: str) -> int:
    return urlsplit(base_url).port or 80


async def test_a_slow_header_client_is_cut_off_within_the_bound(server):
    answer = await trickle(_port(server), "headers", interval=0.2, give_up_after=6)
    assert answer.status == 408, answer
    assert answer.seconds < BOUND_SECONDS + SLACK_SECONDS, answer
    assert answer.bytes_sent >= 3, answer  # it was still sending: a deadline, not an idle timeout


async def test_a_connection_that_never_sends_is_closed_at_the_same_bound(server):
    loop = asyncio.get_running_loop()
    with socket.create_connection(("127.0.0.1", _port(server))) as sock:
        sock.setblocking(False)
        started = time.perf_counter()
        answer = await asyncio.wait_for(loop.sock_recv(sock, 4096), 6)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert time.perf_counter() - started < BOUND_SECONDS + SLACK_SECONDS


async def test_the_next_request_on_a_keep_alive_connection_is_bounded_too(server):
    loop = asyncio.get_running_loop()
    with socket.create_connection(("127.0.0.1", _port(server))) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):
            first += sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 "), first
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        started = time.perf_counter()
        for _ in range(10):  # keep trickling: only the deadline can end this
            try:
                answer = await asyncio.wait_for(loop.sock_recv(sock, 4096), 0.2)
                break
            except TimeoutError:
                await loop.sock_sendall(sock, b"a")
        else:
            pytest.fail("the second request's headers were never cut off")
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert time.perf_counter() - started < BOUND_SECONDS + SLACK_SECONDS


async def test_oversized_headers_are_refused_with_431_before_they_are_all_read(server):
    size = 10 * 1024 * 1024
    answer = await oversized_headers(_port(server), size)
    assert answer.status == 431, answer
    assert answer.bytes_sent < size, answer  # answered (and closed) while the client was still sending


async def test_a_slow_body_is_cut_off_within_the_bound(server):
    answer = await trickle(_port(server), "body", interval=0.2, give_up_after=6)
    assert answer.status == 408, answer
    assert answer.seconds < BOUND_SECONDS + SLACK_SECONDS, answer


async def test_event_streams_still_stream_past_both_bounds(server):
    async with httpx.AsyncClient(timeout=10) as http:
        signup = await http.post(
            f"{server}/api/auth/signup", json={"email": unique_email("slow-sse"), "password": "correct-horse-battery"}
        )
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        http.cookies.clear()
        async with SseStream(http, f"{server}/api/events", headers=headers) as events:
            assert (await events.next_event()).type == "ready"
            await asyncio.sleep(BOUND_SECONDS * 2.5)  # longer than either bound
            created = await http.post(f"{server}/api/tasks", json={"title": "still streaming"}, headers=headers)
            assert created.status_code == 201, created.text
            while (event := await asyncio.wait_for(events.next_event(), 5)).type != "created":
                assert event.type == "resync", event  # the listener's first connect may announce itself
            assert event.json["task"]["title"] == "still streaming"
