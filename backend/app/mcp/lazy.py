"""/mcp, loaded on its first request.

The MCP SDK is the heaviest import of the backend (about a third of `import main`), and most
processes never serve an MCP call; importing it at startup would slow every cold start and every
dev reload. The first /mcp request imports it, builds the server and starts its session manager;
later requests go straight to it. The app's lifespan stops it if it was started.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from app.core.body_limits import json_body_budget
from app.models.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

if TYPE_CHECKING:
    from app.services.app_services import AppServices

MCP_PATH = "/mcp"
# A tool call's arguments hold at most a task's text; the JSON-RPC envelope and client info fit in the rest.
MCP_BODY_BYTES = json_body_budget(TITLE_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, structure=16 * 1024)


class LazyMCPApp:
    max_body_bytes = MCP_BODY_BYTES  # read by app/core/body_limits.py

    def __init__(self, services: AppServices) -> None:
        self._services = services
        self._app: Any = None
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            await self._start()
        await self._app(scope, receive, send)

    async def _start(self) -> None:
        async with self._lock:
            if self._app is not None:
                return
            from app.mcp.server import build_mcp_app

            app, lifespan = build_mcp_app(self._services)
            stack = AsyncExitStack()
            await stack.enter_async_context(lifespan())
            self._stack, self._app = stack, app

    async def aclose(self) -> None:
        """Stop the session manager if a request started it (app shutdown)."""
        stack, self._stack, self._app = self._stack, None, None
        if stack is not None:
            await stack.aclose()
