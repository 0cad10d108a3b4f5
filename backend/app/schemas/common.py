"""The one error shape: every 4xx/5xx answer is an ErrorResponse, declared per route with error_responses()."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "title"] or ["query", "limit"]')
    msg: str
    type: str = Field(description="Machine-readable kind, e.g. string_too_long, missing, value_error")


class ErrorResponse(BaseModel):
    """Body of every error answer. `detail` is always one human-readable sentence."""

    detail: str
    errors: list[ValidationIssue] = Field(
        default_factory=list, description="422 only: every invalid part of the request (the first is in detail)"
    )


RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
}

# What each status means on this API; a route lists the ones it can answer.
ERROR_MEANINGS: dict[int, str] = {
    400: "The request could not be read (body not UTF-8 / not parseable, or conflicting session cookies)",
    401: "Missing, invalid or expired credentials",
    403: "Cross-site request refused: a request authenticated by the session cookie needs a same-origin "
    "Origin or Sec-Fetch-Site header (bearer-token clients are not affected)",
    404: "No such resource for this user",
    408: "The request body did not arrive in time (REQUEST_BODY_TIMEOUT_SECONDS)",
    409: "Conflicts with existing data",
    413: "The request body is larger than this route accepts (its limit is `x-max-body-bytes` on the operation)",
    415: "A request authenticated by the session cookie must send Content-Type: application/json",
    422: "Invalid input: detail names the first problem, errors lists them all",
    429: "Too many requests: wait Retry-After seconds",
    503: "Temporarily unavailable (database unreachable or the process is shutting down)",
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the ErrorResponse body.

    A keyword `s404="No such task"` overrides one status's description.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": ErrorResponse,
            "description": descriptions.get(f"s{status}", ERROR_MEANINGS[status]),
        }
        if status == 429:
            entry["headers"] = RETRY_AFTER_HEADER
        responses[status] = entry
    return responses


__all__ = ["ERROR_MEANINGS", "RETRY_AFTER_HEADER", "ErrorResponse", "ValidationIssue", "error_responses"]
