"""Validators shared by request schemas."""
from __future__ import annotations

from pydantic import AfterValidator, BaseModel


def _storable_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded: reject them as 422, not 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text") from error
    return value


StorableText = AfterValidator(_storable_text)


class ErrorResponse(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorResponse, "description": "Missing, invalid or expired credentials"},
}

__all__ = ["ERROR_RESPONSES", "ErrorResponse", "StorableText"]
