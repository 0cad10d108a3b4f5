"""JSON responses for answers that may echo client input."""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse


class LenientJSONResponse(JSONResponse):
    """Echoed client input may hold lone surrogates, which strict UTF-8 encoding would turn into a 500."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8", "replace")
