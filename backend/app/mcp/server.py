"""The five task tools as an MCP server (official `mcp` SDK 2.x, MCPServer, streamable HTTP at /mcp).

Auth: the same bearer JWT as the REST API. `BearerAuthGate` rejects requests without a valid token
(401) before the SDK sees them; each tool then takes the user id from that verified token in the HTTP
request, never from a tool argument. Stateless + JSON responses: any replica can answer any request,
no session affinity needed. The SDK's localhost-only DNS-rebinding check is off because the backend is
reached by in-cluster host names; a bearer token (not a cookie) is what authorises a call, so a
rebinding page cannot use a victim's session.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.core.credentials import bearer_token
from app.core.db import Database
from app.core.security import InvalidToken
from app.services.app_services import AppServices
from app.services.assistant import tools
from app.services.assistant.tools import TOOL_DESCRIPTIONS
from app.services.sessions import Authenticator

MCP_SHUTDOWN_SECONDS = 5.0
logger = logging.getLogger("taskpilot.mcp")


async def _caller(authenticator: Authenticator, ctx: Context) -> int:
    """The authenticated user id for this tool call (checked again: the session may end mid-request)."""
    headers = ctx.headers or {}
    token = bearer_token(headers.get("authorization"))
    try:
        return (await authenticator.authenticate(token or "")).user_id
    except InvalidToken:
        raise ToolError("Not authenticated") from None


ToolRunner = Callable[[Context, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def _tool_function(name: str, args_model: type[BaseModel], run: ToolRunner) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A function whose signature is the tool's argument model, field for field (MCP reads tools' schemas
    from signatures), so the assistant and MCP publish one definition of each tool."""

    async def tool(ctx: Context, **arguments: Any) -> dict[str, Any]:
        return await run(ctx, name, arguments)

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for field_name, field in args_model.model_fields.items():
        annotation = Annotated[  # a type built at run time from the model's fields
            field.annotation,  # type: ignore[name-defined]
            *field.metadata,
            Field(description=field.description, json_schema_extra=field.json_schema_extra),
        ]
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        parameters.append(
            inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        )
    tool.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    tool.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters} | {
        "return": dict[str, Any]
    }
    tool.__name__ = tool.__qualname__ = name
    return tool


def build_mcp_server(authenticator: Authenticator, db: Database) -> MCPServer:
    """The MCP server over the app's services: who calls (authenticator), and their tasks (db)."""
    server = MCPServer("taskpilot", instructions="Manage the authenticated user's TaskPilot tasks.")

    async def run(ctx: Context, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        user_id = await _caller(authenticator, ctx)
        async with db.session() as session:
            result = await tools.execute_tool(session, user_id, name, arguments)
        if not result.get("ok"):
            raise ToolError(result.get("error", "Tool failed"))
        return result

    for name, (description, args_model) in TOOL_DESCRIPTIONS.items():
        server.add_tool(_tool_function(name, args_model, run), name=name, description=description)
    return server


class BearerAuthGate:
    """ASGI app for /mcp: 401 without a valid bearer token, else hand over to the MCP session manager."""

    def __init__(self, manager: StreamableHTTPSessionManager, authenticator: Authenticator) -> None:
        self.manager = manager
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(Headers(scope=scope).get("authorization"))  # the first one, as REST reads it
        try:
            await self.authenticator.authenticate(token or "")
        except InvalidToken:
            response = JSONResponse(
                {"detail": "Not authenticated: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


def build_mcp_app(services: AppServices) -> tuple[BearerAuthGate, Any]:
    """(ASGI app to route at /mcp, lifespan context manager factory to enter in the app lifespan)."""
    server = build_mcp_server(services.authenticator, services.db)
    manager = StreamableHTTPSessionManager(
        app=server._lowlevel_server,
        stateless=True,
        json_response=True,
    )

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        # The manager's anyio task group must be entered and exited by the same task; an app lifespan
        # may be torn down from another task (e.g. session-scoped test fixtures), so give it its own.
        started, stop = asyncio.Event(), asyncio.Event()

        async def run_manager() -> None:
            async with manager.run():
                started.set()
                await stop.wait()

        runner = asyncio.create_task(run_manager(), name="mcp-session-manager")
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if runner.done():
            runner.result()  # raise the startup error
        try:
            yield
        finally:
            stop.set()
            # Shutdown must never hang on the SDK: give it a few seconds, then cancel and move on.
            done, _ = await asyncio.wait({runner}, timeout=MCP_SHUTDOWN_SECONDS)
            if not done:
                runner.cancel()
                done, _ = await asyncio.wait({runner}, timeout=1.0)
                logger.warning(
                    "MCP session manager did not stop within %ss (%s)",
                    MCP_SHUTDOWN_SECONDS,
                    "cancelled" if done else "abandoned",
                )

    return BearerAuthGate(manager, services.authenticator), lifespan
