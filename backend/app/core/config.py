"""Settings, read from the environment only (see the README's env-var table)."""

from __future__ import annotations

import ipaddress
import os
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_PROD_SECRET_LENGTH = 32
# Secrets published in this repository (dev chart values, test and e2e fixtures). Anyone can read them,
# so prod refuses them; tests/ check that every fixture secret in the repo is listed here. The first two
# come from helm/taskpilot-ai/values-dev.yaml; the pragma tells secret scanners (of the repo and of the
# image) that this value is public on purpose.
PUBLISHED_SECRETS = frozenset(
    {
        "dev-only-jwt-secret-change-me-0123456789abcdef",  # pragma: allowlist secret
        "dev-only-db-password",
        "test-only-jwt-secret-that-is-long-enough-0123456789",  # dev/toolkit/taskpilot_dev/harness.py
        "e2e-only-jwt-secret-that-is-long-enough-0123456789",  # the browser tests' stack in the git history
    }
)


class ConfigError(Exception):
    """Configuration that must stop the process; str() is a one-line human message."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "taskpilot"
    db_user: str = "taskpilot"
    db_password: str = ""
    database_url: str | None = None  # overrides the DB_* parts when set
    # Connections per replica: task hot paths (psycopg pool) + ORM sessions (accounts, assistant).
    # 15 + 5 keeps 4 replicas plus listeners under PostgreSQL's default max_connections of 100.
    db_pool_size: int = Field(default=15, ge=1, le=200)
    db_session_pool_size: int = Field(default=5, ge=1, le=200)

    jwt_secret: str = ""
    jwt_expires_minutes: int = 60 * 24
    # Fails closed: a deployment that forgets APP_ENV gets the prod checks.
    app_env: Literal["dev", "prod"] = "prod"
    log_level: str = "INFO"
    cors_origins: str = ""  # comma-separated origins; empty = no CORS headers
    # Peers whose X-Forwarded-For/-Proto are believed (the frontend's /api proxy, the ingress controller):
    # comma-separated addresses or CIDR networks. Empty = believe nobody: the socket peer is the client.
    trusted_proxies: str = ""
    # Open SSE streams allowed at once; the excess is answered 429 with Retry-After.
    sse_max_streams_per_user: int = Field(default=10, ge=1)
    sse_max_streams_per_pod: int = Field(default=1000, ge=1)
    # One client address's share of the per-pod streams (all its users together), so no one takes them all.
    sse_max_streams_per_ip: int = Field(default=100, ge=1)
    # Seconds between SIGTERM and closing the listener, while /health/ready answers 503 (0 = stop at once).
    shutdown_drain_seconds: float = 0.0

    # Reserved for the assistant.
    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"

    # Abuse limits (docs/security.md lists each with the test that proves it).
    # Concurrent password hashes per process; 0 = the CPUs this process may use (cgroup quota aware).
    password_hash_concurrency: int = Field(default=0, ge=0)
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_ip: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    signup_max_per_ip: int = Field(default=20, ge=1)  # signup attempts per client address per window
    signup_window_seconds: int = Field(default=3600, ge=1)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)  # 0 = no limit
    db_idle_in_transaction_timeout_ms: int = Field(default=30_000, ge=0)  # 0 = no limit
    assistant_turn_timeout_seconds: float = Field(default=120.0, gt=0)
    assistant_max_tool_calls_per_step: int = Field(default=8, ge=1)

    # Hostile clients at the edge (docs/security.md, "The edge under hostile input").
    # Largest request body any route accepts (routes sized by their schema accept less); the chart's
    # ingress enforces the same number.
    request_body_max_bytes: int = Field(default=65_536, ge=1024)
    request_body_timeout_seconds: float = Field(default=15.0, gt=0)  # from the end of the headers
    # Read by the HTTP protocol (app/core/http_protocol.py), not the app: from a connection's first byte.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_max_header_bytes: int = Field(default=32_768, ge=1024)
    # Serve /docs, /redoc and /openapi.json in prod too (dev always serves them).
    api_docs: bool = False

    @property
    def serves_api_docs(self) -> bool:
        return self.api_docs or self.app_env == "dev"

    @property
    def password_hash_slots(self) -> int:
        return self.password_hash_concurrency or available_cpus()

    @property
    def sqlalchemy_url(self) -> str:
        """Async SQLAlchemy URL (psycopg 3 driver), from DATABASE_URL or the DB_* parts."""
        if self.database_url:
            return to_psycopg_url(self.database_url)
        password = f":{quote(self.db_password, safe='')}" if self.db_password else ""
        user = quote(self.db_user, safe="")
        return f"postgresql+psycopg://{user}{password}@{self.db_host}:{self.db_port}/{self.db_name}"

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def trusted_proxy_networks(self) -> list[str]:
        """TRUSTED_PROXIES as normalised networks; ConfigError for a malformed entry or one that trusts everyone."""
        networks = []
        for entry in (part.strip() for part in self.trusted_proxies.split(",")):
            if not entry:
                continue
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                network = None
            if network is None or network.prefixlen == 0:
                raise ConfigError(
                    f"Refusing to start: TRUSTED_PROXIES entry {entry!r} is not a proxy address or a network "
                    "narrower than the whole internet; list the frontend's and the ingress controller's "
                    "addresses (e.g. 10.244.0.0/16), never '*', or leave it empty."
                )
            networks.append(str(network))
        return networks

    def _database_password(self) -> str:
        if self.database_url:
            return urlsplit(to_psycopg_url(self.database_url)).password or ""
        return self.db_password

    def validate_for_startup(self) -> None:
        """Raise ConfigError when the process must not start (prod with a weak or published secret, or
        a TRUSTED_PROXIES entry that would let any client pick its own address)."""
        self.trusted_proxy_networks()
        if self.app_env != "prod":
            return
        if len(self.jwt_secret) < MIN_PROD_SECRET_LENGTH:
            problem = "is missing" if not self.jwt_secret else f"is only {len(self.jwt_secret)} characters"
            raise ConfigError(
                f"Refusing to start: APP_ENV=prod but JWT_SECRET {problem}; "
                f"set JWT_SECRET to a random string of at least {MIN_PROD_SECRET_LENGTH} characters."
            )
        for name, value in (("JWT_SECRET", self.jwt_secret), ("the database password", self._database_password())):
            if value in PUBLISHED_SECRETS:
                raise ConfigError(
                    f"Refusing to start: APP_ENV=prod but {name} is a dev/test value published in the "
                    "TaskPilot repository; set a freshly generated secret."
                )


def available_cpus() -> int:
    """CPUs this process may use: the cgroup v2 quota (a pod's CPU limit) or the affinity mask."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as quota_file:
            quota, period = quota_file.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def to_psycopg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and return the psycopg form."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def get_settings() -> Settings:
    """Settings from the environment, for code outside the app (Alembic); the app reads AppServices.settings."""
    return Settings()
