"""Everything the app builds from its settings, once per app, in one typed object.

create_app builds an `AppServices` and hands it to the app; routes receive it (or parts of it) through
the dependencies in api/deps.py, and the MCP server through its constructor. No module globals: two apps
in one process (tests) never share state.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from app.core.config import Settings
from app.core.db import Database
from app.core.device_cookies import DeviceCookies
from app.core.draining import Draining
from app.core.hashing import PasswordHashing
from app.core.middleware import public_instance_id
from app.core.readiness import SchemaReadiness
from app.core.security import AccessTokens
from app.services.events import TaskEventBus
from app.services.sessions import Authenticator, TokenVersions


@dataclass(frozen=True, slots=True, kw_only=True)
class AppServices:
    settings: Settings
    db: Database
    tokens: AccessTokens
    token_versions: TokenVersions
    authenticator: Authenticator
    device_cookies: DeviceCookies
    password_hashing: PasswordHashing
    readiness: SchemaReadiness
    events: TaskEventBus  # started by the lifespan
    draining: Draining
    instance_id: str  # what responses and event streams name this process by

    @classmethod
    def build(cls, settings: Settings) -> AppServices:
        db = Database(settings)
        versions = TokenVersions(db.pool, listening=lambda: events.listening)  # trusts its cache while listening
        events = TaskEventBus(
            db.dsn,
            max_streams_per_user=settings.sse_max_streams_per_user,
            max_streams_per_pod=settings.sse_max_streams_per_pod,
            max_streams_per_ip=settings.sse_max_streams_per_ip,
            on_revoked=versions.on_revoked,
            on_connected=versions.forget_all,
        )
        tokens = AccessTokens(settings)
        return cls(
            settings=settings,
            db=db,
            tokens=tokens,
            token_versions=versions,
            authenticator=Authenticator(tokens, versions),
            device_cookies=DeviceCookies(settings.jwt_secret),
            password_hashing=PasswordHashing(settings.password_hash_slots),
            readiness=SchemaReadiness(settings),
            events=events,
            draining=Draining(),
            instance_id=public_instance_id(settings.app_env),
        )


class TaskPilotApp(FastAPI):
    """The FastAPI app with its services as one typed attribute (create_app sets it)."""

    services: AppServices
