"""Request bodies are bounded per route before anything parses them (app/core/body_limits.py).

A 50 MB body once stalled the whole process for 20 s while it was read and parsed; now it is refused
from its Content-Length, or after the route's limit when it comes chunked, and everyone else is served
meanwhile. Every route's limit follows from its schema: the largest valid body passes, one byte more
does not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from api_errors import error_body

from app.core.body_limits import BODY_LIMIT_KEY, DEFAULT_BODY_LIMIT_BYTES, BodyLimitTable
from app.core.config import Settings
from app.main import create_app
from app.mcp.lazy import MCP_BODY_BYTES
from app.models.conversation import MESSAGE_MAX_LENGTH
from app.models.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from app.schemas.auth import PASSWORD_MAX_LENGTH, SIGNUP_BODY_BYTES
from app.schemas.chat import CHAT_BODY_BYTES
from app.schemas.chatkit import CHATKIT_BODY_BYTES
from app.schemas.tasks import TASK_BODY_BYTES
from taskpilot_dev import harness
from taskpilot_dev.hostile import HealthProbe, oversized_body

FIFTY_MB = 50 * 1024 * 1024
ASTRAL = "\U0001f600"  # sent escaped by json.dumps: 12 bytes for one character, the worst case


@pytest.fixture(scope="module")
def server_port(database_url: str) -> Iterator[int]:
    with harness.backend_server(database_url) as base_url:
        yield urlsplit(base_url).port


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_50_mb_body_is_refused_within_half_a_second_and_health_stays_fast(server_port, chunked):
    async with HealthProbe(server_port, interval=0.01) as probe:
        answer = await oversized_body(server_port, "/api/auth/login", FIFTY_MB, chunked=chunked, timeout=30)
        while len(probe.latencies_ms) < 20:  # keep measuring a little after the answer too
            await asyncio.sleep(0.01)
    assert answer.status == 413, answer
    assert answer.seconds < 0.5, answer
    assert answer.bytes_sent < FIFTY_MB / 2, answer  # the connection was closed, not drained
    assert max(probe.latencies_ms) < 100, probe.summary()


def _padded(body: bytes, size: int) -> bytes:
    """`body` padded with JSON whitespace to exactly `size` bytes (whitespace is valid anywhere)."""
    assert len(body) <= size, (len(body), size)
    return body + b" " * (size - len(body))


def _worst_case_json(**fields: object) -> bytes:
    return json.dumps(fields, ensure_ascii=True).encode()  # astral characters as escaped surrogate pairs


async def _post(client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str], method: str = "POST"):
    return await client.request(method, path, content=body, headers={**headers, "Content-Type": "application/json"})


async def test_the_largest_valid_task_passes_and_one_byte_more_is_413(client, user):
    body = _worst_case_json(title=ASTRAL * TITLE_MAX_LENGTH, description=ASTRAL * DESCRIPTION_MAX_LENGTH)
    created = await _post(client, "/api/tasks", _padded(body, TASK_BODY_BYTES), user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == ASTRAL * DESCRIPTION_MAX_LENGTH
    refused = await _post(client, "/api/tasks", _padded(body, TASK_BODY_BYTES + 1), user.headers)
    assert (
        error_body(refused, 413)["detail"]
        == f"Request body too large: this route accepts at most {TASK_BODY_BYTES} bytes"
    )
    assert "connection" not in refused.headers  # a byte over: drained, so the client surely reads its 413
    patched = await _post(
        client, f"/api/tasks/{created.json()['id']}", _padded(body, TASK_BODY_BYTES + 1), user.headers, "PATCH"
    )
    error_body(patched, 413)


async def test_the_largest_valid_signup_and_chat_message_pass(client):
    password = ASTRAL * PASSWORD_MAX_LENGTH
    signup = _worst_case_json(email="limits@example.com", password=password, name=ASTRAL * 200)
    response = await _post(client, "/api/auth/signup", _padded(signup, SIGNUP_BODY_BYTES), {})
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    client.cookies.clear()
    chat = _worst_case_json(message="add " + ASTRAL * (MESSAGE_MAX_LENGTH - 4))
    answered = await _post(client, "/api/chat", _padded(chat, CHAT_BODY_BYTES), headers)
    assert answered.status_code == 200, answered.text
    error_body(await _post(client, "/api/chat", _padded(chat, CHAT_BODY_BYTES + 1), headers), 413)
    error_body(await _post(client, "/api/auth/signup", _padded(signup, SIGNUP_BODY_BYTES + 1), {}), 413)


async def test_a_chunked_body_is_counted_as_it_arrives(client, user):
    sent: list[int] = []

    async def endless():
        for _ in range(1000):  # 64 MB if nobody stopped reading
            sent.append(1)
            yield b" " * 65536

    response = await client.post(
        "/api/tasks", content=endless(), headers={**user.headers, "Content-Type": "application/json"}
    )
    error_body(response, 413)
    assert len(sent) <= TASK_BODY_BYTES // 65536 + 2  # read up to the limit, then refused


async def test_routes_without_a_schema_sized_body_get_the_small_default(client, user):
    big = b"{" + b" " * DEFAULT_BODY_LIMIT_BYTES + b"}"
    error_body(await _post(client, "/api/auth/logout", big, user.headers), 413)
    error_body(await _post(client, "/api/tasks/1", big, user.headers, "DELETE"), 413)
    error_body(await _post(client, "/mcp", b" " * (MCP_BODY_BYTES + 1), user.headers), 413)
    error_body(await _post(client, "/api/chatkit", b" " * (CHATKIT_BODY_BYTES + 1), user.headers), 413)
    assert (await _post(client, "/api/auth/logout", b"{}", user.headers)).status_code == 204


def test_the_document_publishes_each_limit_and_no_route_exceeds_the_maximum():
    app = create_app(Settings(jwt_secret="x" * 40))
    paths = app.openapi()["paths"]
    expected = {
        ("/api/tasks", "post"): TASK_BODY_BYTES,
        ("/api/tasks/{task_id}", "patch"): TASK_BODY_BYTES,
        ("/api/auth/signup", "post"): SIGNUP_BODY_BYTES,
        ("/api/chat", "post"): CHAT_BODY_BYTES,
        ("/api/chatkit", "post"): CHATKIT_BODY_BYTES,
    }
    for (path, method), limit in expected.items():
        assert paths[path][method][BODY_LIMIT_KEY] == limit, (path, method)
        assert "413" in paths[path][method]["responses"], (path, method)
    for item in paths.values():
        for method, operation in item.items():
            if "requestBody" in operation:  # every operation that takes a body sizes it
                assert BODY_LIMIT_KEY in operation, (method, operation["operationId"])
    table = BodyLimitTable(app.router.routes, default=DEFAULT_BODY_LIMIT_BYTES, maximum=10**9)
    assert table.largest() <= Settings().request_body_max_bytes  # the default maximum caps no route
