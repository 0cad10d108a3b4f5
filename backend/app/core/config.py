"""Settings, read from the environment only (see the README's env-var table)."""
from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_PROD_SECRET_LENGTH = 32


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
    app_env: Literal["dev", "prod"] = "dev"
    log_level: str = "INFO"
    cors_origins: str = ""  # comma-separated origins; empty = no CORS headers
    # Open SSE streams allowed at once; the excess is answered 429 with Retry-After.
    sse_max_streams_per_user: int = Field(default=10, ge=1)
    sse_max_streams_per_pod: int = Field(default=1000, ge=1)
    # Seconds between SIGTERM and closing the listener, while /health/ready answers 503 (0 = stop at once).
    shutdown_drain_seconds: float = 0.0

    # Reserved for the assistant.
    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"

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

    def validate_for_startup(self) -> None:
        """Raise ConfigError when the process must not start (prod with a weak JWT secret)."""
        if self.app_env == "prod" and len(self.jwt_secret) < MIN_PROD_SECRET_LENGTH:
            problem = "is missing" if not self.jwt_secret else f"is only {len(self.jwt_secret)} characters"
            raise ConfigError(
                f"Refusing to start: APP_ENV=prod but JWT_SECRET {problem}; "
                f"set JWT_SECRET to a random string of at least {MIN_PROD_SECRET_LENGTH} characters."
            )


def to_psycopg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and return the psycopg form."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def get_settings() -> Settings:
    """Settings from the environment, for code outside the app (Alembic); the app reads app.state.settings."""
    return Settings()
