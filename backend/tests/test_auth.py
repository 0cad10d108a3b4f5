"""Signup, login, me, logout; cookie and bearer auth; token failures."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import jwt
import pytest
from api_errors import error_body

from app.core.security import JWT_ALGORITHM

PASSWORD = "s3cret-password"


async def test_signup_returns_token_and_user(client):
    response = await client.post(
        "/api/auth/signup", json={"email": "Ada@Example.com", "password": PASSWORD, "name": "Ada"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada"
    assert "password" not in str(body) and "hash" not in str(body)

    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


async def test_password_is_stored_as_argon2_hash(client, db_session):
    from sqlalchemy import select

    from app.models import User

    await client.post("/api/auth/signup", json={"email": "hash@example.com", "password": PASSWORD})
    stored = await db_session.scalar(select(User.password_hash).where(User.email == "hash@example.com"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_login_returns_same_shape_and_sets_session_cookie(client, create_user):
    user = await create_user(email="bob@example.com", password=PASSWORD)
    response = await client.post("/api/auth/login", json={"email": "BOB@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "user"}
    assert body["user"]["id"] == user.id

    cookie_header = response.headers["set-cookie"]
    assert cookie_header.startswith("taskpilot_session=")
    lowered = cookie_header.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    assert "secure" not in lowered  # plain http request


async def test_cookie_is_secure_when_request_came_over_https(client, create_user):
    await create_user(email="sec@example.com", password=PASSWORD)
    response = await client.post(
        "/api/auth/login",
        json={"email": "sec@example.com", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "Origin": "https://testserver"},  # as the browser sends it
    )
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


async def test_prod_cookie_is_always_secure(app, client, create_user):
    """In prod a plain-http hop (or a client-set X-Forwarded-Proto: http) must not drop Secure."""
    await create_user(email="prod@example.com", password=PASSWORD)
    original = app.services
    app.services = replace(original, settings=original.settings.model_copy(update={"app_env": "prod"}))
    try:
        for headers in ({}, {"X-Forwarded-Proto": "http"}):
            response = await client.post(
                "/api/auth/login", json={"email": "prod@example.com", "password": PASSWORD}, headers=headers
            )
            assert response.status_code == 200
            assert "secure" in response.headers["set-cookie"].lower()
    finally:
        app.services = original


async def test_session_cookie_authenticates_and_logout_clears_it(client, create_user):
    await create_user(email="cookie@example.com", password=PASSWORD)
    login = await client.post("/api/auth/login", json={"email": "cookie@example.com", "password": PASSWORD})
    token = login.cookies["taskpilot_session"]

    client.cookies.set("taskpilot_session", token)
    me = await client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "cookie@example.com"

    logout = await client.post("/api/auth/logout", json={})  # cookie-authenticated writes send JSON
    assert logout.status_code == 204
    cleared = logout.headers["set-cookie"].lower()
    assert cleared.startswith("taskpilot_session=")
    assert "max-age=0" in cleared or "expires=thu, 01 jan 1970" in cleared

    client.cookies.clear()
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_logout_revokes_every_token_of_the_user_and_later_logins_work(client, create_user, app):
    user = await create_user(email="revoke@example.com", password=PASSWORD)
    other = await create_user(email="bystander@example.com", password=PASSWORD)
    login = await client.post("/api/auth/login", json={"email": "revoke@example.com", "password": PASSWORD})
    second_token = login.json()["access_token"]
    client.cookies.clear()
    tokens = (user.token, second_token)
    for token in tokens:
        assert (await client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})).status_code == 200

    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    for token in tokens:  # every token issued before the logout, not just the one that logged out
        for path in ("/api/tasks", "/api/auth/me"):
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, path
    # A process that cannot trust its cache (listener gap) reads the version from the database.
    app.services.token_versions.forget_all()
    assert (await client.get("/api/tasks", headers=user.headers)).status_code == 401
    assert (await client.get("/api/tasks", headers=other.headers)).status_code == 200

    relogin = await client.post("/api/auth/login", json={"email": "revoke@example.com", "password": PASSWORD})
    client.cookies.clear()
    fresh = {"Authorization": f"Bearer {relogin.json()['access_token']}"}
    assert (await client.get("/api/tasks", headers=fresh)).status_code == 200


async def test_logout_without_a_session_just_clears_the_cookie(client):
    response = await client.post("/api/auth/logout", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 204
    assert response.headers["set-cookie"].lower().startswith("taskpilot_session=")


async def test_duplicate_email_is_409(client, create_user):
    await create_user(email="dup@example.com")
    response = await client.post("/api/auth/signup", json={"email": "DUP@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}


async def test_wrong_password_and_unknown_email_answer_identically(client, create_user):
    await create_user(email="known@example.com", password=PASSWORD)
    wrong_password = await client.post(
        "/api/auth/login", json={"email": "known@example.com", "password": "nope-nope-nope"}
    )
    unknown_email = await client.post("/api/auth/login", json={"email": "ghost@example.com", "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.content == unknown_email.content
    assert wrong_password.json() == {"detail": "Incorrect email or password"}
    assert "set-cookie" not in wrong_password.headers


@pytest.mark.parametrize("email", ["nul\x00@example.com", "surrogate\ud800@example.com", "x" * 321])
async def test_unusable_login_email_is_a_plain_401_or_422(client, email):
    response = await client.post(
        "/api/auth/login",
        content=json.dumps({"email": email, "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (401, 422), response.text


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "short@example.com", "password": "1234567"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "nopw@example.com"}, "password"),
    ],
)
async def test_signup_validation_is_422_with_message(client, payload, field):
    response = await client.post("/api/auth/signup", json=payload)
    body = error_body(response, 422)
    assert field in body["detail"]
    assert any(error["loc"][-1] == field for error in body["errors"])


async def test_password_of_exactly_eight_chars_is_accepted(client):
    response = await client.post("/api/auth/signup", json={"email": "eight@example.com", "password": "12345678"})
    assert response.status_code == 201


async def test_missing_token_is_401(client):
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert (await client.get("/api/tasks")).status_code == 401


async def test_expired_token_is_401(client, user, app):
    expired = app.services.tokens.issue(user.id, expires_in=timedelta(seconds=-5))
    for path in ("/api/auth/me", "/api/tasks"):
        response = await client.get(path, headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or expired token"}


async def test_tampered_token_is_401(client, user):
    header, payload, signature = user.token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    forged_claims = jwt.encode(
        {"sub": str(user.id), "exp": 4102444800}, "some-other-secret-of-sufficient-len", algorithm=JWT_ALGORITHM
    )
    unsigned = jwt.encode({"sub": str(user.id), "exp": 4102444800}, None, algorithm="none")
    for token in (f"{header}.{payload}.{flipped}", forged_claims, unsigned, "garbage", f"{header}.{payload}"):
        response = await client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        client.cookies.clear()  # only this cookie: the signup's one next to it would be a conflict (400)
        client.cookies.set("taskpilot_session", token)
        response = await client.get("/api/tasks")
        assert response.status_code == 401, token
        client.cookies.clear()


async def test_token_of_deleted_user_is_401_on_me(client, user, db_session):
    from sqlalchemy import delete

    from app.models import User

    await db_session.execute(delete(User).where(User.id == user.id))
    await db_session.commit()
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 401
