"""The one rule for user text the server stores: REST schemas, assistant tools, MCP and ChatKit all use it.

PostgreSQL text holds neither NUL nor lone surrogates (they cannot be encoded), so such input is a 422,
never a 500. Limits count the text as sent, before trimming, so the published `maxLength` is exactly
what the server checks. Required text must contain a character that is not whitespace (Python's
`str.isspace()` set).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

_WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())  # none above U+3000
_WHITESPACE_CLASS = "".join(f"\\u{ord(char):04X}" for char in _WHITESPACE)
# JSON Schema patterns for the OpenAPI document, built from the same sets clean_text checks. Lone
# surrogates are not in them: they are not valid Unicode text (RFC 8259 section 8.2), and the pattern
# engines clients use (Rust regex in jsonschema-rs; ECMA-262 without the u flag) cannot name them.
STORABLE_PATTERN = r"^[^\u0000]*$"
NOT_BLANK_STORABLE_PATTERN = rf"^[^\u0000]*[^\u0000{_WHITESPACE_CLASS}][^\u0000]*$"
TEXT_RULE = "No NUL characters; valid Unicode only (no lone surrogates)."


def clean_text(value: Any, *, max_length: int, required: bool, strip: bool) -> str:
    """The text to store, or ValueError saying (without the field name) what is wrong with it."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if required and not value.strip():
        raise ValueError("must not be empty")
    return value.strip() if strip else value


def checked_text(field: str, value: Any, *, max_length: int, required: bool, strip: bool) -> str:
    """clean_text with the field name in the message, for callers outside pydantic."""
    try:
        return clean_text(value, max_length=max_length, required=required, strip=strip)
    except ValueError as error:
        raise ValueError(f"{field} {error}") from None


def _validate(value: Any, *, max_length: int, required: bool, strip: bool) -> str:
    try:
        return clean_text(value, max_length=max_length, required=required, strip=strip)
    except ValueError as error:  # a plain message ("must not be empty"), without pydantic's "Value error, "
        raise PydanticCustomError("invalid_text", str(error)) from None


def text_field(max_length: int, *, required: bool, strip: bool, description: str | None = None) -> Any:
    """An Annotated str type whose JSON Schema (minLength, maxLength, pattern) states the clean_text rule."""
    return Annotated[
        str,
        Field(
            max_length=max_length,
            min_length=1 if required else None,
            description=f"{description} {TEXT_RULE}" if description else TEXT_RULE,
            json_schema_extra={"pattern": NOT_BLANK_STORABLE_PATTERN if required else STORABLE_PATTERN},
        ),
        AfterValidator(partial(_validate, max_length=max_length, required=required, strip=strip)),
    ]


__all__ = ["NOT_BLANK_STORABLE_PATTERN", "STORABLE_PATTERN", "checked_text", "clean_text", "text_field"]
