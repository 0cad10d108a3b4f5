"""The TaskPilot REST API as a client uses it: sign-up/login, tasks, chat. Synchronous (httpx).

    api = TaskApi("http://localhost:8000")
    user = api.sign_in("me@example.com", "password")      # sign up, or log in when the account exists
    task = api.create_task("Buy milk")

Unexpected statuses raise ApiError (with the status and the start of the body), so callers report a
clear reason instead of a KeyError. Network problems raise httpx.HTTPError.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "e2e-password-123"  # noqa: S105  # every generated test user's password
DEFAULT_TIMEOUT = 30.0  # argon2 hashing on a busy machine takes a while


def unique_email(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


class ApiError(RuntimeError):
    def __init__(self, action: str, response: httpx.Response) -> None:
        self.status = response.status_code
        super().__init__(f"{action}: HTTP {response.status_code} {response.text[:200]}")


@dataclass
class ApiUser:
    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class TaskApi:
    """One user's session against one backend (bearer token after sign_in/signup/login)."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self.user: ApiUser | None = None
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TaskApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def _expect(self, response: httpx.Response, action: str, *statuses: int) -> httpx.Response:
        if response.status_code not in statuses:
            raise ApiError(action, response)
        return response

    # -- accounts ----------------------------------------------------------------------
    def _use(self, email: str, password: str, response: httpx.Response) -> ApiUser:
        body = response.json()
        self.user = ApiUser(body["user"]["id"], email, password, body["access_token"])
        self.http.headers["Authorization"] = f"Bearer {self.user.token}"
        return self.user

    def signup(self, email: str, password: str = PASSWORD, name: str | None = None) -> ApiUser:
        response = self.http.post("/api/auth/signup", json={"email": email, "password": password, "name": name})
        return self._use(email, password, self._expect(response, "sign up", 201))

    def login(self, email: str, password: str = PASSWORD) -> ApiUser:
        response = self.http.post("/api/auth/login", json={"email": email, "password": password})
        return self._use(email, password, self._expect(response, "log in", 200))

    def sign_in(self, email: str, password: str = PASSWORD, name: str | None = None) -> ApiUser:
        """Sign up, or log in when the account already exists (idempotent helpers)."""
        response = self.http.post("/api/auth/signup", json={"email": email, "password": password, "name": name})
        if response.status_code == 409:
            return self.login(email, password)
        return self._use(email, password, self._expect(response, "sign up", 201))

    def me(self) -> dict:
        return self._expect(self.http.get("/api/auth/me"), "read the current user", 200).json()

    # -- tasks -------------------------------------------------------------------------
    def list_tasks(self, **params: Any) -> list[dict]:
        return self._expect(self.http.get("/api/tasks", params=params), "list tasks", 200).json()

    def create_task(self, title: str, description: str | None = None) -> dict:
        response = self.http.post("/api/tasks", json={"title": title, "description": description})
        return self._expect(response, "create a task", 201).json()

    def get_task(self, task_id: int) -> dict | None:
        """The task, or None when the API says 404 (gone, or another user's)."""
        response = self.http.get(f"/api/tasks/{task_id}")
        return None if response.status_code == 404 else self._expect(response, f"read task {task_id}", 200).json()

    def update_task(self, task_id: int, **fields: Any) -> dict:
        response = self.http.patch(f"/api/tasks/{task_id}", json=fields)
        return self._expect(response, f"update task {task_id}", 200).json()

    def delete_task(self, task_id: int) -> bool:
        """True when deleted now, False when it was already gone."""
        response = self._expect(self.http.delete(f"/api/tasks/{task_id}"), f"delete task {task_id}", 204, 404)
        return response.status_code == 204

    def chat(self, message: str, conversation_id: str | None = None) -> dict:
        body: dict[str, Any] = {"message": message}
        if conversation_id:
            body["conversation_id"] = conversation_id
        return self._expect(self.http.post("/api/chat", json=body), "chat", 200).json()


def client_on(address: str, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client whose connections come from `address` (a loopback address: a distinct client to the server)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), base_url=base_url, timeout=timeout)


def async_client_on(address: str, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(local_address=address), base_url=base_url, timeout=timeout
    )


def signup(base_url: str, prefix: str = "e2e") -> ApiUser:
    """A brand-new user with a unique address (for tests that need fresh, isolated accounts)."""
    with TaskApi(base_url) as api:
        return api.signup(unique_email(prefix), PASSWORD, prefix)
