"""Health, auth, CRUD, isolation and the offline assistant over HTTP, on the backend and through
the frontend's /api proxy. Targets: see conftest.py (local processes when nothing else is given)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from taskpilot_dev import api


def test_health_endpoints_and_instance_header(backend_url):
    response = httpx.get(f"{backend_url}/health", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers.get("X-Instance-Id"), "every response names the replica that answered"
    assert httpx.get(f"{backend_url}/health/ready", timeout=10).status_code == 200
    assert httpx.get(f"{backend_url}/api/health", timeout=10).status_code == 200


def test_signup_login_me_and_rejections(backend_url):
    user = api.signup(backend_url)
    me = httpx.get(f"{backend_url}/api/auth/me", headers=user.headers, timeout=10)
    assert me.status_code == 200 and me.json()["email"] == user.email
    login = httpx.post(
        f"{backend_url}/api/auth/login", json={"email": user.email, "password": api.PASSWORD}, timeout=30
    )
    assert login.status_code == 200 and login.json()["user"]["id"] == user.id
    wrong = httpx.post(
        f"{backend_url}/api/auth/login", json={"email": user.email, "password": "not-it-123"}, timeout=30
    )
    assert wrong.status_code == 401 and wrong.json()["detail"]
    assert httpx.get(f"{backend_url}/api/tasks", timeout=10).status_code == 401
    duplicate = httpx.post(
        f"{backend_url}/api/auth/signup", json={"email": user.email, "password": api.PASSWORD}, timeout=30
    )
    assert duplicate.status_code == 409


def test_task_crud_round_trip(backend_url, user):
    with httpx.Client(base_url=f"{backend_url}/api", headers=user.headers, timeout=10) as http:
        created = http.post("/tasks", json={"title": "Write e2e tests", "description": "cluster too"})
        assert created.status_code == 201
        task = created.json()
        assert task["title"] == "Write e2e tests" and task["completed"] is False
        assert [t["id"] for t in http.get("/tasks").json()] == [task["id"]]
        updated = http.patch(f"/tasks/{task['id']}", json={"completed": True})
        assert updated.status_code == 200 and updated.json()["completed"] is True
        assert updated.json()["title"] == "Write e2e tests"
        assert http.get(f"/tasks/{task['id']}").json()["completed"] is True
        assert http.delete(f"/tasks/{task['id']}").status_code == 204
        assert http.get(f"/tasks/{task['id']}").status_code == 404
        assert http.get("/tasks").json() == []


def test_users_cannot_see_or_change_each_others_tasks(backend_url, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    task = httpx.post(
        f"{backend_url}/api/tasks", json={"title": "alice only"}, headers=alice.headers, timeout=10
    ).json()
    with httpx.Client(base_url=f"{backend_url}/api", headers=bob.headers, timeout=10) as bob_http:
        assert bob_http.get("/tasks").json() == []
        assert bob_http.get(f"/tasks/{task['id']}").status_code == 404
        assert bob_http.patch(f"/tasks/{task['id']}", json={"title": "stolen"}).status_code == 404
        assert bob_http.delete(f"/tasks/{task['id']}").status_code == 404
    mine = httpx.get(f"{backend_url}/api/tasks/{task['id']}", headers=alice.headers, timeout=10).json()
    assert mine["title"] == "alice only"


def test_assistant_offline_mode_manages_tasks(backend_url, user):
    title = f"buy milk {uuid.uuid4().hex[:6]}"
    reply = httpx.post(f"{backend_url}/api/chat", json={"message": f"add {title}"}, headers=user.headers, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["reply"] and body["conversation_id"]
    tasks = httpx.get(f"{backend_url}/api/tasks", headers=user.headers, timeout=10).json()
    assert [t["title"] for t in tasks] == [title]
    listing = httpx.post(
        f"{backend_url}/api/chat",
        json={"message": "list my tasks", "conversation_id": body["conversation_id"]},
        headers=user.headers,
        timeout=60,
    )
    assert listing.status_code == 200 and title in listing.json()["reply"]


def test_frontend_serves_the_app(frontend_url):
    page = httpx.get(f"{frontend_url}/", timeout=30, follow_redirects=True)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


def test_frontend_proxy_carries_the_session_cookie(frontend_url):
    email = api.unique_email("proxy")
    # Like the app's page: same-origin Origin on every request (the backend refuses cookie writes without it).
    with httpx.Client(base_url=frontend_url, timeout=30, headers={"Origin": frontend_url}) as browser:
        signup = browser.post("/api/auth/signup", json={"email": email, "password": api.PASSWORD})
        assert signup.status_code == 201, signup.text
        assert "taskpilot_session" in browser.cookies, "the proxy must pass Set-Cookie through"
        created = browser.post("/api/tasks", json={"title": "via the proxy"})  # cookie only, no bearer
        assert created.status_code == 201
        assert [t["title"] for t in browser.get("/api/tasks").json()] == ["via the proxy"]
        assert browser.get("/api/auth/me").json()["email"] == email
        assert browser.post("/api/auth/logout", json={}).status_code == 204
        browser.cookies.clear()
        assert browser.get("/api/tasks").status_code == 401


@pytest.mark.parametrize("path", ["/api/health"])
def test_frontend_proxy_reaches_the_backend(frontend_url, path):
    response = httpx.get(f"{frontend_url}{path}", timeout=30)
    assert response.status_code == 200
