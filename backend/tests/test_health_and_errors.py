"""Health endpoints, JSON errors, response headers (in-process app)."""

from __future__ import annotations

import socket

import httpx
from api_errors import error_body

from app.core.middleware import INSTANCE_ID


async def test_liveness_and_api_alias(client):
    for path in ("/health", "/api/health"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


async def test_readiness_when_database_answers(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readiness_is_503_while_draining(client, app):
    app.services.draining.started = True
    try:
        response = await client.get("/health/ready")
    finally:
        app.services.draining.started = False
    assert response.status_code == 503
    assert (await client.get("/health")).status_code == 200  # liveness unaffected


async def test_draining_closes_keep_alive_connections_after_each_answer(client, user, app):
    assert "connection" not in (await client.get("/health")).headers
    app.services.draining.started = True
    try:
        answers = [await client.get("/health"), await client.get("/api/tasks", headers=user.headers)]
    finally:
        app.services.draining.started = False
    assert [r.status_code for r in answers] == [200, 200]  # still serving while the Service drops the pod
    assert all(r.headers["connection"] == "close" for r in answers)


async def test_every_response_names_the_instance(client, user):
    for response in (
        await client.get("/health"),
        await client.get("/api/tasks", headers=user.headers),
        await client.get("/api/tasks"),
        await client.get("/no/such/route"),
    ):
        assert response.headers["x-instance-id"] == INSTANCE_ID == socket.gethostname()
        assert response.headers["x-request-id"]


async def test_request_id_is_propagated(client):
    response = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_unknown_route_and_malformed_json_are_json_errors(client, user):
    missing = await client.get("/api/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}

    malformed = await client.post(
        "/api/tasks", content=b'{"title": ', headers={**user.headers, "Content-Type": "application/json"}
    )
    assert error_body(malformed, 422)["errors"][0]["type"] == "json_invalid"


async def test_unexpected_errors_are_json_without_stack_traces(database_url):
    from app.main import create_app

    application = create_app()

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "Traceback" not in response.text and "secret internal detail" not in response.text


async def test_openapi_and_docs_are_served(client):
    schema = (await client.get("/openapi.json")).json()
    for path in (
        "/health",
        "/health/ready",
        "/api/auth/signup",
        "/api/auth/login",
        "/api/auth/me",
        "/api/auth/logout",
        "/api/tasks",
        "/api/tasks/{task_id}",
    ):
        assert path in schema["paths"], path
    assert (await client.get("/docs")).status_code == 200


async def test_method_not_allowed_lists_every_method_of_the_path(client, user):
    collection = await client.request("PUT", "/api/tasks", headers=user.headers)
    assert error_body(collection, 405)["detail"] == "Method Not Allowed"
    assert collection.headers["allow"] == "GET, POST"
    item = await client.request("OPTIONS", "/api/tasks/1", headers=user.headers)
    assert item.status_code == 405 and item.headers["allow"] == "DELETE, GET, PATCH"
