"""Settings from the environment, and the prod refusal of weak JWT secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.config import ConfigError, Settings
from taskpilot_dev import harness
from taskpilot_dev.paths import CHART_DIR


def test_database_url_is_built_from_parts(monkeypatch):
    for name in ("DATABASE_URL",):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(
        db_host="db.internal", db_port=6543, db_name="tp", db_user="app", db_password="p@ss/word", _env_file=None
    )
    assert settings.sqlalchemy_url == "postgresql+psycopg://app:p%40ss%2Fword@db.internal:6543/tp"


@pytest.mark.parametrize("given", ["postgres://u:p@h:1/d", "postgresql://u:p@h:1/d", "postgresql+psycopg://u:p@h:1/d"])
def test_database_url_overrides_parts(given):
    settings = Settings(database_url=given, db_host="ignored")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@h:1/d"


def test_settings_come_from_environment(monkeypatch):
    monkeypatch.setenv("JWT_EXPIRES_MINUTES", "15")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("APP_ENV", "prod")
    settings = Settings()
    assert settings.jwt_expires_minutes == 15
    assert settings.cors_origin_list == ["http://a.test", "http://b.test"]
    assert settings.app_env == "prod"


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_prod_rejects_weak_secret(secret):
    with pytest.raises(ConfigError) as error:
        Settings(app_env="prod", jwt_secret=secret).validate_for_startup()
    assert "\n" not in str(error.value)
    assert "JWT_SECRET" in str(error.value)


def test_prod_accepts_strong_secret_and_dev_accepts_anything():
    Settings(app_env="prod", jwt_secret="x" * 32).validate_for_startup()
    Settings(app_env="dev", jwt_secret="").validate_for_startup()


@pytest.mark.parametrize("entry", ["*", "0.0.0.0/0", "::/0", "10.0.0.0/8,frontend", "10.0.0.0/33"])
def test_trusting_everyone_or_a_malformed_proxy_is_refused(entry):
    with pytest.raises(ConfigError) as error:
        Settings(app_env="dev", trusted_proxies=entry).validate_for_startup()
    assert "\n" not in str(error.value)
    assert "TRUSTED_PROXIES" in str(error.value)


def test_trusted_proxies_are_normalised_networks():
    settings = Settings(trusted_proxies=" 10.1.2.3/8, 127.0.0.1 ,fd00::/8,")
    assert settings.trusted_proxy_networks() == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert Settings(trusted_proxies="").trusted_proxy_networks() == []


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_uvicorn_refuses_to_start_in_prod_with_one_line(secret):
    env = harness.backend_env({"APP_ENV": "prod", "DATABASE_URL": "postgresql://u:p@127.0.0.1:9/none"})
    if secret is not None:
        env["JWT_SECRET"] = secret
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "main:app", "--port", str(harness.free_port())],
        cwd=harness.BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Refusing to start: APP_ENV=prod but JWT_SECRET")


def test_app_env_defaults_to_prod(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    assert Settings(_env_file=None).app_env == "prod"


def _published_fixture_secrets() -> set[str]:
    """Every secret-looking literal the repository ships for dev and tests."""
    import re

    sources = {
        CHART_DIR / "values-dev.yaml": r"(?:jwtSecret|databasePassword): (\S+)",
        Path(harness.__file__): r'TEST_JWT_SECRET = "([^"]+)"',
    }
    found = set()
    for path, pattern in sources.items():
        matches = re.findall(pattern, path.read_text())
        assert matches, f"no secret found in {path}: update this test with the file"
        found.update(matches)
    return found


@pytest.mark.parametrize("secret", sorted(_published_fixture_secrets()))
def test_prod_refuses_every_secret_published_in_the_repo(secret, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    fresh = "a-fresh-random-secret-0123456789abcdef"
    refused = [
        Settings(app_env="prod", jwt_secret=fresh, db_password=secret),
        Settings(app_env="prod", jwt_secret=fresh, database_url=f"postgresql://taskpilot:{secret}@db:5432/taskpilot"),
    ]
    if len(secret) >= 32:  # shorter ones are already refused for their length
        refused.append(Settings(app_env="prod", jwt_secret=secret, db_password=fresh))
    for settings in refused:
        with pytest.raises(ConfigError) as error:
            settings.validate_for_startup()
        assert "\n" not in str(error.value) and "published" in str(error.value)
    Settings(app_env="dev", jwt_secret=secret, db_password=secret).validate_for_startup()


def test_uvicorn_refuses_the_dev_chart_secret_in_prod_with_one_line():
    env = harness.backend_env(
        {
            "APP_ENV": "prod",
            "DATABASE_URL": "postgresql://u:p@127.0.0.1:9/none",
            "JWT_SECRET": "dev-only-jwt-secret-change-me-0123456789abcdef",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "main:app", "--port", str(harness.free_port())],
        cwd=harness.BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "published" in lines[0], result.stderr
