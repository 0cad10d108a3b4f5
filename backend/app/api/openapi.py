"""The published OpenAPI document: FastAPI's, with our one error shape in place of its validation-error model."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API_DESCRIPTION = """\
Every error answer (4xx/5xx) has one shape, `ErrorResponse`: `detail` is one human-readable sentence;
422 answers also list every invalid part of the request in `errors`. Each operation lists the error
statuses it can answer. In addition, on every path:

- a method the path does not define answers **405** with an `Allow` header listing the ones it does;
- requests authenticated by the session cookie (not a bearer token) that change state (POST, PUT, PATCH,
  DELETE) need a same-origin `Origin` or `Sec-Fetch-Site` header (**403** otherwise) and, when they have
  a body, `Content-Type: application/json` (**415** otherwise);
- **429** answers carry `Retry-After` (seconds);
- until the database schema has reached this release's migrations, every `/api` route answers **503**
  with `Retry-After` (liveness, `/api/health`, excepted);
- a request body over the operation's `x-max-body-bytes` (4096 where none is given) answers **413** before
  it is parsed, and a body that does not arrive within the server's body timeout answers **408**;
- a session cookie sent twice with different values answers **400**.
"""

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def contract_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=API_DESCRIPTION,
            routes=app.routes,
        )
        _drop_fastapi_validation_error(document)
        app.openapi_schema = document
    return app.openapi_schema


def _drop_fastapi_validation_error(document: dict[str, Any]) -> None:
    """FastAPI adds a 422 with its own body to operations that declare none. Routes that can fail validation
    declare ours; the rest (e.g. a free-form header) cannot answer 422, so that entry is removed."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            unprocessable = operation.get("responses", {}).get("422", {})
            if "HTTPValidationError" in str(unprocessable):
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
