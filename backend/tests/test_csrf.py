"""Cross-site request forgery: what a victim's browser sends on another site's behalf changes nothing.

A cross-site page can make the browser POST a form or text/plain body with the victim's session cookie
(no preflight), but cannot set Content-Type: application/json or forge Origin / Sec-Fetch-Site.
"""

from __future__ import annotations

import json

import httpx
import pytest
from api_errors import error_body
from sqlalchemy import func, select

from app.core.config import Settings
from app.main import create_app
from app.models import Task
from app.models.conversation import Conversation

EVIL = "https://evil.example"
# What <form method=post enctype=text/plain> on another site makes the browser send: the JSON is smuggled
# in a form field name, and the cookie rides along.
FORGED_CHATKIT_BODY = json.dumps(
    {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "add forged task"}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
).encode()


@pytest.fixture
async def victim(client, create_user):
    """A signed-in browser session: the client holds the victim's session cookie, and no bearer token."""
    user = await create_user(email="victim@example.com")
    assert client.cookies.get("taskpilot_session")
    return user


async def _nothing_happened(db_session) -> None:
    assert await db_session.scalar(select(func.count()).select_from(Task)) == 0
    assert await db_session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_cross_site_text_plain_post_to_chatkit_runs_no_turn(client, victim, db_session):
    response = await client.post(
        "/api/chatkit",
        content=FORGED_CHATKIT_BODY,
        headers={"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    )
    assert "Cross-site" in error_body(response, 403)["detail"]
    await _nothing_happened(db_session)


async def test_cross_site_json_post_is_refused_too(client, victim, db_session):
    # Not sendable by a browser without a CORS preflight we never grant, but refused on Origin alone anyway.
    response = await client.post(
        "/api/chatkit", content=FORGED_CHATKIT_BODY, headers={"Content-Type": "application/json", "Origin": EVIL}
    )
    error_body(response, 403)
    await _nothing_happened(db_session)


async def test_cookie_write_without_origin_or_fetch_metadata_is_refused(client, victim, db_session):
    del client.headers["Origin"]
    response = await client.post("/api/tasks", json={"title": "no origin"})
    error_body(response, 403)
    await _nothing_happened(db_session)


async def test_same_origin_form_body_is_415_and_runs_no_turn(client, victim, db_session):
    response = await client.post("/api/chatkit", content=FORGED_CHATKIT_BODY, headers={"Content-Type": "text/plain"})
    assert "JSON" in error_body(response, 415)["detail"]
    response = await client.post("/api/chatkit", data={"type": "threads.list"})  # urlencoded form
    error_body(response, 415)
    await _nothing_happened(db_session)


async def test_forced_logout_is_refused_and_keeps_the_session(client, victim):
    response = await client.post("/api/auth/logout", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    error_body(response, 403)
    assert "set-cookie" not in response.headers
    assert (await client.get("/api/auth/me")).status_code == 200
    bodiless = await client.post("/api/auth/logout")  # same origin, but no JSON body
    error_body(bodiless, 415)
    assert (await client.post("/api/auth/logout", json={})).status_code == 204


async def test_same_origin_cookie_requests_work(client, victim, db_session):
    created = await client.post("/api/tasks", json={"title": "mine"})
    assert created.status_code == 201, created.text
    del client.headers["Origin"]  # a browser that sends only fetch metadata
    patched = await client.patch(
        f"/api/tasks/{created.json()['id']}", json={"completed": True}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert patched.status_code == 200, patched.text
    deleted = await client.delete(f"/api/tasks/{created.json()['id']}", headers={"Sec-Fetch-Site": "same-origin"})
    assert deleted.status_code == 204, deleted.text


async def test_same_origin_behind_the_frontend_proxy(client, victim):
    # The proxy forwards the browser's Origin and names the public host in X-Forwarded-Host/-Proto.
    response = await client.post(
        "/api/tasks",
        json={"title": "through the proxy"},
        headers={"Origin": "https://app.example:443", "X-Forwarded-Host": "app.example", "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 201, response.text


async def test_bearer_clients_are_not_affected(client, victim, db_session):
    client.cookies.clear()
    del client.headers["Origin"]
    response = await client.post(
        "/api/chatkit", content=FORGED_CHATKIT_BODY, headers={**victim.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    plain = await client.post(
        "/api/tasks", content=b"title=x", headers={**victim.headers, "Content-Type": "text/plain"}
    )
    error_body(plain, 422)  # not a CSRF refusal: just not a valid body


async def test_configured_cors_origin_is_trusted(database_url):
    application = create_app(Settings(cors_origins="https://spa.example", jwt_secret="x" * 40))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        http.cookies.set("taskpilot_session", "any")
        allowed = await http.post("/api/auth/logout", json={}, headers={"Origin": "https://spa.example"})
        refused = await http.post("/api/auth/logout", json={}, headers={"Origin": EVIL})
    assert allowed.status_code == 204
    error_body(refused, 403)


async def test_a_session_cookie_in_a_second_cookie_header_is_still_seen_by_the_guard(client, victim, db_session):
    """The guard and authentication read cookies the same way: two Cookie headers, the session in the
    second, and a foreign Origin is a cross-site write like any other."""
    created = await client.post("/api/tasks", json={"title": "keep me"})
    assert created.status_code == 201, created.text
    client.cookies.clear()
    response = await client.delete(
        f"/api/tasks/{created.json()['id']}",
        headers=[("Origin", EVIL), ("Cookie", "a=b"), ("Cookie", f"taskpilot_session={victim.token}")],
    )
    error_body(response, 403)
    assert await db_session.scalar(select(func.count()).select_from(Task)) == 1


async def test_conflicting_session_cookies_are_refused(client, victim, create_user, db_session):
    created = await client.post("/api/tasks", json={"title": "keep me"})
    other = await create_user(email="other@example.com")
    client.cookies.clear()
    conflicting = [
        [("Cookie", f"taskpilot_session={other.token}"), ("Cookie", f"taskpilot_session={victim.token}")],
        [("Cookie", f"taskpilot_session={other.token}; taskpilot_session={victim.token}")],
    ]
    for cookies in conflicting:
        deleted = await client.delete(f"/api/tasks/{created.json()['id']}", headers=cookies)
        assert "Conflicting session cookies" in error_body(deleted, 400)["detail"]
        error_body(await client.get("/api/tasks", headers=cookies), 400)
    assert await db_session.scalar(select(func.count()).select_from(Task)) == 1
    same_twice = [("Cookie", f"taskpilot_session={victim.token}"), ("Cookie", f"taskpilot_session={victim.token}")]
    assert (await client.get("/api/tasks", headers=same_twice)).status_code == 200
