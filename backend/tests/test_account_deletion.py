"""Deleted accounts: DELETE /api/auth/me, and a deleted user's token is refused everywhere (401, never 500).

Before, a token outlived its user: the token-version cache still held the user, so GET /api/tasks gave
200 [], writes hit a foreign-key error (500), the event stream stayed open and MCP answered. Now every
deletion of a user row NOTIFYs every replica (a trigger), and a write that races the deletion is a 401.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import jwt
import psycopg
import pytest
from api_errors import error_body
from sqlalchemy import func, select

from app.api.auth import CONFIRMATION_NEEDED, RECENT_LOGIN_SECONDS, WRONG_CONFIRMATION
from app.models import Conversation, Message, Task, User
from taskpilot_dev import harness
from taskpilot_dev.api import unique_email
from taskpilot_dev.postgres import plain_url
from taskpilot_dev.sse import SseStream

PASSWORD = "correct-horse-battery"  # pragma: allowlist secret


async def _count(db_session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return await db_session.scalar(query)


def _token_issued(user_id: int, seconds_ago: float) -> str:
    issued = int(time.time() - seconds_ago)
    claims = {"sub": str(user_id), "ver": 0, "iat": issued, "exp": issued + 86400}
    return jwt.encode(claims, harness.TEST_JWT_SECRET, algorithm="HS256")


async def _refused_everywhere_over_rest(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path, body in (
        ("GET", "/api/auth/me", None),
        ("GET", "/api/tasks", None),
        ("POST", "/api/tasks", {"title": "ghost"}),
        ("POST", "/api/chat", {"message": "add buy milk"}),
        ("DELETE", "/api/auth/me", None),
    ):
        response = await client.request(method, path, json=body, headers=headers)
        assert error_body(response, 401)["detail"] == "Invalid or expired token", (method, path)


async def test_deleting_the_account_removes_its_data_and_ends_its_sessions(client, create_user, db_session):
    user = await create_user(password=PASSWORD)
    bystander = await create_user()
    client.cookies.clear()
    for owner in (user, bystander):
        assert (await client.post("/api/tasks", json={"title": "mine"}, headers=owner.headers)).status_code == 201
        assert (await client.post("/api/chat", json={"message": "add tea"}, headers=owner.headers)).status_code == 200

    response = await client.request("DELETE", "/api/auth/me", json={"password": PASSWORD}, headers=user.headers)
    assert response.status_code == 204, response.text
    assert 'taskpilot_session=""' in response.headers["set-cookie"]  # the browser's cookie goes too
    for model in (Task, Conversation):
        assert await _count(db_session, model, user_id=user.id) == 0
        assert await _count(db_session, model, user_id=bystander.id) >= 1
    assert await _count(db_session, User) == 1
    assert await _count(db_session, Message) == 2  # the bystander's turn: their message and the reply
    await _refused_everywhere_over_rest(client, user.headers)
    assert (await client.get("/api/tasks", headers=bystander.headers)).status_code == 200
    login = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    error_body(login, 401)


async def test_without_the_password_only_a_recent_login_may_delete(client, create_user, db_session):
    user = await create_user(password=PASSWORD)
    client.cookies.clear()
    stale = {"Authorization": f"Bearer {_token_issued(user.id, RECENT_LOGIN_SECONDS + 60)}"}
    refused = await client.delete("/api/auth/me", headers=stale)
    assert error_body(refused, 403)["detail"] == CONFIRMATION_NEEDED
    guess = {"password": "not-the-password"}  # pragma: allowlist secret
    wrong = await client.request("DELETE", "/api/auth/me", json=guess, headers=stale)
    assert error_body(wrong, 403)["detail"] == WRONG_CONFIRMATION
    assert await _count(db_session, User, id=user.id) == 1
    fresh = {"Authorization": f"Bearer {_token_issued(user.id, 10)}"}
    assert (await client.delete("/api/auth/me", headers=fresh)).status_code == 204
    assert await _count(db_session, User, id=user.id) == 0


async def test_the_document_describes_account_deletion(client):
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/auth/me"]["delete"]
    assert set(operation["responses"]) >= {"204", "401", "403", "429"}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "AccountDeletionRequest" in str(schema)
    assert operation["requestBody"].get("required") is not True  # a fresh session needs no body


async def test_a_write_that_races_the_deletion_is_401_not_500(client, user, db_session, database_url):
    """The row goes while the token is still trusted (here: the notification held back): the write's
    foreign-key error on the user answers 401."""
    client.cookies.clear()
    assert (await client.get("/api/tasks", headers=user.headers)).status_code == 200  # version cached
    async with await psycopg.AsyncConnection.connect(plain_url(database_url), autocommit=True) as connection:
        await connection.execute("ALTER TABLE users DISABLE TRIGGER users_deleted_revoke_tokens")
        try:
            await connection.execute("DELETE FROM users WHERE id = %s", (user.id,))
        finally:
            await connection.execute("ALTER TABLE users ENABLE TRIGGER users_deleted_revoke_tokens")
    assert (await client.get("/api/tasks", headers=user.headers)).status_code == 200  # still trusted: []
    for path, body in (("/api/tasks", {"title": "ghost"}), ("/api/chat", {"message": "add ghost"})):
        response = await client.post(path, json=body, headers=user.headers)
        assert error_body(response, 401)["detail"] == "Invalid or expired token", path


@pytest.fixture
def two_replicas(database_url: str) -> Iterator[tuple[str, str]]:
    """Fresh processes per test: user ids restart with the tables, and a process remembers deleted ids."""
    with harness.backend_server(database_url) as first, harness.backend_server(database_url) as second:
        yield first, second


async def _sign_up(http: httpx.AsyncClient, base_url: str) -> dict[str, str]:
    response = await http.post(
        f"{base_url}/api/auth/signup", json={"email": unique_email("gone"), "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _mcp_tools_list(http: httpx.AsyncClient, base_url: str, headers: dict[str, str]) -> httpx.Response:
    return await http.post(
        f"{base_url}/mcp",
        headers={**headers, "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )


@pytest.mark.parametrize("deleted_by", ["the API on the other replica", "SQL"])
async def test_a_deleted_users_token_is_401_on_rest_sse_and_mcp(two_replicas, database_url, deleted_by):
    writer, reader = two_replicas
    async with httpx.AsyncClient(timeout=10) as http:
        headers = await _sign_up(http, writer)
        assert (await http.get(f"{reader}/api/tasks", headers=headers)).status_code == 200  # reader caches it
        assert (await _mcp_tools_list(http, reader, headers)).status_code == 200
        async with SseStream(http, f"{reader}/api/events", headers=headers) as events:
            assert (await events.next_event()).type == "ready"
            if deleted_by == "SQL":
                async with await psycopg.AsyncConnection.connect(plain_url(database_url), autocommit=True) as db:
                    await db.execute("DELETE FROM users")
            else:
                deleted = await http.request(
                    "DELETE", f"{writer}/api/auth/me", json={"password": PASSWORD}, headers=headers
                )
                assert deleted.status_code == 204, deleted.text
            await asyncio.wait_for(events.ended.wait(), 5)  # the open stream ends
        for base_url in (reader, writer):
            for method, path, body in (
                ("GET", "/api/tasks", None),
                ("POST", "/api/tasks", {"title": "ghost"}),
                ("POST", "/api/chat", {"message": "add ghost"}),
                ("GET", "/api/events", None),
            ):
                response = await http.request(method, f"{base_url}{path}", json=body, headers=headers)
                assert response.status_code == 401, (base_url, method, path, response.text)
            assert (await _mcp_tools_list(http, base_url, headers)).status_code == 401
