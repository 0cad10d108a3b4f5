"""The `Allow` header of a 405: every method the app serves at the path, not only the matched route's."""

from __future__ import annotations

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this path (a 405 from one route only knows its own methods)."""
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]
