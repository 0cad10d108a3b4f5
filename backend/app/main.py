"""Application factory: settings check, logging, middleware, error handlers, routers, lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from types import FrameType

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api import health
from app.api.deps import SESSION_COOKIE
from app.api.openapi import contract_openapi
from app.api.router import api_router
from app.core.body_limits import DEFAULT_BODY_LIMIT_BYTES, RequestBodyLimits
from app.core.config import Settings
from app.core.csrf import CookieCsrfGuard
from app.core.db import Database
from app.core.device_cookies import DeviceCookies
from app.core.errors import install_error_handlers
from app.core.hashing import PasswordHashing
from app.core.logging import configure_logging
from app.core.middleware import INSTANCE_ID, RequestMiddleware, public_instance_id
from app.core.readiness import SchemaGate, SchemaReadiness
from app.core.security import AccessTokens
from app.mcp.lazy import MCP_PATH, LazyMCPApp
from app.services.events import task_event_bus
from app.services.sessions import Authenticator, TokenVersions

logger = logging.getLogger("taskpilot.app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        await app.state.db.open()
        stack.push_async_callback(app.state.db.close)
        stack.push_async_callback(app.state.readiness.dispose)
        stack.callback(app.state.password_hashing.shutdown)
        _start_draining_on_sigterm(app)
        await stack.enter_async_context(task_event_bus(app))  # LISTEN/NOTIFY -> per-user SSE queues
        stack.push_async_callback(app.state.mcp_app.aclose)  # the MCP session manager, if a request started it
        gc.freeze()  # startup objects are immortal in practice: keep the cyclic GC from rescanning them
        logger.info("startup complete")
        yield
        logger.info("shutting down")


def _start_draining_on_sigterm(app: FastAPI) -> None:
    """On SIGTERM flip readiness to 503 first, then (after the drain period) let uvicorn shut down.

    uvicorn installs its own handler before the lifespan starts; we wrap it. Outside uvicorn
    (e.g. tests driving the lifespan directly) there is nothing to wrap and we leave signals alone.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return
    loop = asyncio.get_running_loop()
    drain_seconds = app.state.settings.shutdown_drain_seconds

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if not app.state.draining:
            app.state.draining = True
            logger.info("SIGTERM: draining", extra={"fields": {"drain_seconds": drain_seconds}})
        if drain_seconds > 0:
            loop.call_soon_threadsafe(partial(loop.call_later, drain_seconds, previous, signum, frame))
        else:
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def _install_services(app: FastAPI, settings: Settings) -> None:
    """Everything built from settings lives on app.state (no module globals to reset between apps)."""
    app.state.db = Database(settings)

    def listener_connected() -> bool:  # the bus starts with the lifespan, after this
        bus = getattr(app.state, "task_event_bus", None)
        return bus is not None and bus.listening

    app.state.token_versions = TokenVersions(app.state.db.pool, listening=listener_connected)
    app.state.tokens = AccessTokens(settings)
    app.state.device_cookies = DeviceCookies(settings.jwt_secret)
    app.state.authenticator = Authenticator(app.state.tokens, app.state.token_versions)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Raises ConfigError when the configuration must not run (see main.py)."""
    settings = settings or Settings()
    settings.validate_for_startup()
    configure_logging(settings.log_level)

    docs = settings.serves_api_docs  # the document itself is always app.openapi() (tests, type parity)
    app = FastAPI(
        title="TaskPilot AI",
        version="1.0.0",
        lifespan=lifespan,
        debug=False,  # never send stack traces to clients
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    app.state.draining = False
    app.state.instance_id = public_instance_id(settings.app_env)
    logger.info("instance", extra={"fields": {"instance_id": app.state.instance_id, "host": INSTANCE_ID}})
    _install_services(app, settings)
    app.state.readiness = SchemaReadiness(settings)
    app.state.password_hashing = PasswordHashing(settings.password_hash_slots)

    # Innermost: a request before the migrations gets a 503 (with CORS headers and a log line), not a 500.
    app.add_middleware(SchemaGate, readiness=app.state.readiness)
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
    app.add_middleware(RequestMiddleware, instance_id=app.state.instance_id)
    if trusted_proxies := settings.trusted_proxy_networks():
        # Outermost, and the only place forwarding headers are believed (the servers run with
        # --no-proxy-headers): request.client is then the real client, from whichever proxy it came.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
    install_error_handlers(app)
    app.openapi = partial(contract_openapi, app)  # type: ignore[method-assign]

    app.include_router(health.router)
    app.include_router(api_router)
    app.state.mcp_app = LazyMCPApp(app.state)  # MCP tools at /mcp (bearer auth), imported on first use
    app.router.add_route(MCP_PATH, app.state.mcp_app, include_in_schema=False)
    return app
