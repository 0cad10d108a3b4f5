"""Application factory: settings check, logging, services, middleware, error handlers, routers, lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api import health
from app.api.deps import SESSION_COOKIE
from app.api.openapi import contract_openapi
from app.api.router import api_router
from app.core.body_limits import DEFAULT_BODY_LIMIT_BYTES, RequestBodyLimits
from app.core.config import Settings
from app.core.csrf import CookieCsrfGuard
from app.core.draining import drain_on_sigterm
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging
from app.core.middleware import INSTANCE_ID, RequestMiddleware
from app.core.readiness import SchemaGate
from app.mcp.lazy import MCP_PATH, LazyMCPApp
from app.services.app_services import AppServices, TaskPilotApp
from app.services.events import running_event_bus

logger = logging.getLogger("taskpilot.app")


def _lifespan(services: AppServices, mcp_app: LazyMCPApp) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await services.db.open()
            stack.push_async_callback(services.db.close)
            stack.push_async_callback(services.readiness.dispose)
            stack.callback(services.password_hashing.shutdown)
            drain_on_sigterm(services.draining, services.settings.shutdown_drain_seconds)
            # LISTEN/NOTIFY -> per-user SSE queues
            await stack.enter_async_context(running_event_bus(services.events, services.draining))
            stack.push_async_callback(mcp_app.aclose)  # the MCP session manager, if a request started it
            gc.freeze()  # startup objects are immortal in practice: keep the cyclic GC from rescanning them
            logger.info("startup complete")
            yield
            logger.info("shutting down")

    return lifespan


def _add_middleware(app: FastAPI, services: AppServices) -> None:
    settings = services.settings
    # Innermost: a request before the migrations gets a 503 (with CORS headers and a log line), not a 500.
    app.add_middleware(SchemaGate, readiness=services.readiness)
    # Inside CORS and the request log: its 403/415 answers still get CORS headers and a log line.
    app.add_middleware(CookieCsrfGuard, cookie_name=SESSION_COOKIE, trusted_origins=settings.cors_origin_list)
    # Outside the guard, so its 413/408 answers also get CORS headers and a log line.
    app.add_middleware(
        RequestBodyLimits,
        default=DEFAULT_BODY_LIMIT_BYTES,
        maximum=settings.request_body_max_bytes,
        timeout_seconds=settings.request_body_timeout_seconds,
    )
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(RequestMiddleware, instance_id=services.instance_id, draining=services.draining)
    if trusted_proxies := settings.trusted_proxy_networks():
        # Outermost, and the only place forwarding headers are believed (the servers run with
        # --no-proxy-headers): request.client is then the real client, from whichever proxy it came.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)


def create_app(settings: Settings | None = None) -> TaskPilotApp:
    """Build the app. Raises ConfigError when the configuration must not run (see main.py)."""
    settings = settings or Settings()
    settings.validate_for_startup()
    configure_logging(settings.log_level)

    # Everything built from settings lives in `services` (no module globals to reset between apps).
    services = AppServices.build(settings)
    logger.info("instance", extra={"fields": {"instance_id": services.instance_id, "host": INSTANCE_ID}})
    mcp_app = LazyMCPApp(services)  # MCP tools at /mcp (bearer auth), imported on first use

    docs = settings.serves_api_docs  # the document itself is always app.openapi() (tests, type parity)
    app = TaskPilotApp(
        title="TaskPilot AI",
        version="1.0.0",
        lifespan=_lifespan(services, mcp_app),
        debug=False,  # never send stack traces to clients
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.services = services
    _add_middleware(app, services)
    install_error_handlers(app)
    app.openapi = partial(contract_openapi, app)  # type: ignore[method-assign]

    app.include_router(health.router)
    app.include_router(api_router)
    app.router.routes.append(Route(MCP_PATH, mcp_app, include_in_schema=False))  # an ASGI app, not an endpoint
    return app
