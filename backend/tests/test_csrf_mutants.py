"""The CSRF guard and the credential readers, case by case: which writes it refuses with which answer,
how it works out the app's own origin, which bodies count as JSON. The guard wraps a stub app here, so
every case is one in-process request (test_csrf.py covers the same rules through the real routes)."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.datastructures import Headers

from app.core.credentials import CONFLICTING_COOKIES_DETAIL, ConflictingCookies, bearer_token, session_cookie
from app.core.csrf import CROSS_SITE_DETAIL, NOT_JSON_DETAIL, CookieCsrfGuard

COOKIE = "sid"
JSON = {"Content-Type": "application/json"}
EVIL = "https://evil.example"


async def _inner(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"passed"})


async def _send(method: str, path: str = "/api/tasks", *, trusted=(), prefix: str | None = None, **headers: str):
    options = {} if prefix is None else {"path_prefix": prefix}
    guard = CookieCsrfGuard(_inner, cookie_name=COOKIE, trusted_origins=trusted, **options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://testserver") as http:
        return await http.request(method, path, headers={key.replace("_", "-"): v for key, v in headers.items()})


def _passed(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.text == "passed"


def _refused(response: httpx.Response, status: int, detail: str) -> bool:
    body = response.content
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/json"
        and response.headers["content-length"] == str(len(body))
        and json.loads(body) == {"detail": detail}
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_a_cross_site_cookie_write_is_refused_for_every_unsafe_method(method):
    assert _refused(await _send(method, Cookie="sid=abc", Origin=EVIL, **JSON), 403, CROSS_SITE_DETAIL)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
async def test_safe_methods_pass_whatever_their_origin(method):
    response = await _send(method, Cookie="sid=abc", Origin=EVIL)
    assert response.status_code == 200


async def test_only_paths_under_the_prefix_are_guarded():
    assert _passed(await _send("POST", "/health", Cookie="sid=abc", Origin=EVIL))
    assert _passed(await _send("POST", "/api", Cookie="sid=abc", Origin=EVIL))
    assert _passed(await _send("POST", "/api/x", prefix="/mcp/", Cookie="sid=abc", Origin=EVIL))
    assert _refused(
        await _send("POST", "/mcp/x", prefix="/mcp/", Cookie="sid=abc", Origin=EVIL), 403, CROSS_SITE_DETAIL
    )


async def test_requests_without_the_session_cookie_are_not_guarded():
    assert _passed(await _send("POST", Origin=EVIL, Content_Type="text/plain"))
    assert _passed(await _send("POST", Cookie="other=abc", Origin=EVIL, Content_Type="text/plain"))
    assert _passed(await _send("POST", Cookie="sid=", Origin=EVIL, Content_Type="text/plain"))  # an empty cookie


async def test_a_bearer_token_means_the_cookie_does_not_authenticate():
    assert _passed(await _send("POST", Cookie="sid=abc", Authorization="Bearer t0k", Origin=EVIL))
    assert _passed(await _send("POST", Cookie="sid=abc", Authorization="bearer t0k", Content_Type="text/plain"))
    # Anything that is not a bearer token leaves the cookie as the credential.
    for authorization in ("Basic dXNlcjpwdw==", "Bearer ", "Bearer", "Bearertoken x"):
        refused = await _send("POST", Cookie="sid=abc", Authorization=authorization, Origin=EVIL, **JSON)
        assert _refused(refused, 403, CROSS_SITE_DETAIL), authorization


async def test_origin_must_be_this_apps_own():
    assert _passed(await _send("POST", Cookie="sid=abc", Origin="http://testserver", **JSON))
    assert _passed(await _send("POST", Cookie="sid=abc", Origin="HTTP://TestServer/", **JSON))
    assert _passed(await _send("POST", Cookie="sid=abc", Origin=" http://testserver:80 ", **JSON))
    for origin in ("null", "https://testserver", "http://testserver:8080", "http://testserver.evil", EVIL):
        assert _refused(await _send("POST", Cookie="sid=abc", Origin=origin, **JSON), 403, CROSS_SITE_DETAIL), origin
    assert _refused(await _send("POST", Cookie="sid=abc", **JSON), 403, CROSS_SITE_DETAIL)  # no Origin at all


async def test_fetch_metadata_same_origin_passes_and_nothing_else_does():
    assert _passed(await _send("POST", Cookie="sid=abc", Sec_Fetch_Site="same-origin", **JSON))
    for site in ("same-site", "cross-site", "none", "Same-Origin"):
        assert _refused(await _send("POST", Cookie="sid=abc", Sec_Fetch_Site=site, **JSON), 403, CROSS_SITE_DETAIL)


async def test_own_origin_behind_a_proxy_is_the_first_forwarded_host_and_proto():
    forwarded = {"X_Forwarded_Host": "app.example, inner.proxy", "X_Forwarded_Proto": "https, http"}
    assert _passed(await _send("POST", Cookie="sid=abc", Origin="https://app.example", **forwarded, **JSON))
    assert _passed(await _send("POST", Cookie="sid=abc", Origin="https://app.example:443", **forwarded, **JSON))
    for origin in ("http://app.example", "https://inner.proxy", "http://testserver"):
        refused = await _send("POST", Cookie="sid=abc", Origin=origin, **forwarded, **JSON)
        assert _refused(refused, 403, CROSS_SITE_DETAIL), origin
    # A forwarded scheme alone keeps the Host; a port that is not the scheme's default stays part of it.
    assert _passed(
        await _send("POST", Cookie="sid=abc", Origin="https://testserver", X_Forwarded_Proto="https", **JSON)
    )
    assert _passed(
        await _send(
            "POST", Cookie="sid=abc", Origin="http://app.example:8080", X_Forwarded_Host="app.example:8080", **JSON
        )
    )
    refused = await _send(
        "POST", Cookie="sid=abc", Origin="http://app.example", X_Forwarded_Host="app.example:8080", **JSON
    )
    assert _refused(refused, 403, CROSS_SITE_DETAIL)


async def test_configured_origins_are_trusted_in_their_normalised_form():
    trusted = ["https://Admin.Example:443/", "http://tools.example:8080"]
    for origin in ("https://admin.example", "http://tools.example:8080"):
        assert _passed(await _send("POST", Cookie="sid=abc", Origin=origin, trusted=trusted, **JSON)), origin
    for origin in ("http://admin.example", "http://tools.example"):
        refused = await _send("POST", Cookie="sid=abc", Origin=origin, trusted=trusted, **JSON)
        assert _refused(refused, 403, CROSS_SITE_DETAIL), origin


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"],
)
async def test_json_bodies_pass(content_type):
    assert _passed(await _send("PATCH", Cookie="sid=abc", Sec_Fetch_Site="same-origin", Content_Type=content_type))


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "text/json", "application/jsonp", "application/json+xml"],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_other_bodies_are_415_for_methods_with_a_body(method, content_type):
    headers = {"Content_Type": content_type} if content_type else {}
    response = await _send(method, Cookie="sid=abc", Sec_Fetch_Site="same-origin", **headers)
    assert _refused(response, 415, NOT_JSON_DETAIL)


async def test_delete_needs_no_json_body():
    assert _passed(await _send("DELETE", Cookie="sid=abc", Sec_Fetch_Site="same-origin", Content_Type="text/plain"))


async def test_conflicting_session_cookies_are_400_and_a_repeated_one_is_not():
    assert _refused(await _send("POST", Cookie="sid=a; sid=b", Origin=EVIL), 400, CONFLICTING_COOKIES_DETAIL)
    assert _refused(await _send("POST", Cookie="sid=a; sid=a", Origin=EVIL, **JSON), 403, CROSS_SITE_DETAIL)


def test_bearer_token_reads_only_the_bearer_scheme():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("BEARER  abc ") == "abc"
    assert bearer_token("Bearer a b") == "a b"
    for value in (None, "", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc", "Token abc"):
        assert bearer_token(value) is None, value


def _cookies(*values: str) -> Headers:
    return Headers(raw=[(b"cookie", value.encode()) for value in values])


def test_session_cookie_is_read_over_every_cookie_header():
    assert session_cookie(_cookies("a=1; sid=x; b=2"), "sid") == "x"
    assert session_cookie(_cookies("a=1", "sid=x"), "sid") == "x"
    assert session_cookie(_cookies("sid=x", "sid=x"), "sid") == "x"
    assert session_cookie(_cookies("a=1", "sidx=2", "xsid=3"), "sid") is None
    assert session_cookie(_cookies("sid="), "sid") is None
    assert session_cookie(_cookies(), "sid") is None
    assert session_cookie(_cookies("sid=a b;c=d"), "sid") == "a b"  # a value is read whole
    with pytest.raises(ConflictingCookies) as conflict:
        session_cookie(_cookies("sid=x", "sid=y"), "sid")
    assert conflict.value.name == "sid"  # names the cookie
    with pytest.raises(ConflictingCookies):
        session_cookie(_cookies("sid=x; sid=y"), "sid")


async def _send_scope(scope_changes: dict, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Call the guard with a hand-made ASGI scope (what a server may leave out, e.g. `scheme`)."""
    guard = CookieCsrfGuard(_inner, cookie_name=COOKIE)
    scope = {"type": "http", "method": "POST", "path": "/api/tasks", "headers": headers, **scope_changes}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await guard(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


async def test_the_scopes_scheme_is_the_own_origins_scheme_and_http_without_one():
    cookie_json = [(b"cookie", b"sid=abc"), (b"content-type", b"application/json"), (b"host", b"testserver")]
    assert await _send_scope({}, [*cookie_json, (b"origin", b"http://testserver")]) == (200, b"passed")
    assert (await _send_scope({}, [*cookie_json, (b"origin", b"https://testserver")]))[0] == 403
    assert await _send_scope({"scheme": "https"}, [*cookie_json, (b"origin", b"https://testserver")]) == (
        200,
        b"passed",
    )
    assert (await _send_scope({"scheme": "https"}, [*cookie_json, (b"origin", b"http://testserver")]))[0] == 403


async def test_without_a_host_nothing_is_the_own_origin():
    headers = [(b"cookie", b"sid=abc"), (b"content-type", b"application/json")]
    for origin in (b"http://xxxx", b"http://localhost"):
        assert (await _send_scope({"scheme": "http"}, [*headers, (b"origin", origin)]))[0] == 403, origin


async def test_ipv6_hosts_keep_their_address_when_the_default_port_is_dropped():
    headers = {"Cookie": "sid=abc", **JSON}
    assert _passed(await _send("POST", Origin="http://[::1]:80", Host="[::1]", **headers))
    assert _passed(await _send("POST", Origin="http://[::1]", Host="[::1]:80", **headers))
    assert _refused(await _send("POST", Origin="http://[::2]", Host="[::1]", **headers), 403, CROSS_SITE_DETAIL)


async def test_an_opaque_null_origin_is_refused_even_if_null_is_configured():
    refused = await _send("POST", Cookie="sid=abc", Origin="null", trusted=["null"], **JSON)  # as browsers send it
    assert _refused(refused, 403, CROSS_SITE_DETAIL)


async def test_a_passed_request_reaches_the_app_with_its_body():
    async def echo(scope, receive, send):
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message["body"]})

    guard = CookieCsrfGuard(echo, cookie_name=COOKIE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://testserver") as http:
        for headers in (
            {"Cookie": "sid=abc", "Sec-Fetch-Site": "same-origin", **JSON},  # checked, then passed
            {"Origin": EVIL},  # not cookie-authenticated
        ):
            response = await http.post("/api/tasks", content=b'{"title": "x"}', headers=headers)
            assert (response.status_code, response.content) == (200, b'{"title": "x"}')
        response = await http.post("/other", content=b"body", headers={"Cookie": "sid=abc", "Origin": EVIL})
        assert response.content == b"body"  # outside the guarded prefix
