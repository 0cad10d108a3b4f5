"""The one error shape every 4xx/5xx answer has (app/schemas/common.py ErrorResponse), asserted once."""

from __future__ import annotations

from typing import Any


def error_body(response: Any, status: int) -> dict[str, Any]:
    """Assert `response` is a `status` error in the API's error shape; return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    errors = body.get("errors", [])
    assert isinstance(errors, list), body
    for issue in errors:
        assert isinstance(issue["loc"], list) and isinstance(issue["msg"], str) and isinstance(issue["type"], str), body
    return body
