"""The startup refusals, message by message: a weak or published secret in prod, a proxy list that would
trust everyone (test_config.py covers the same through a real process and the repository's fixtures)."""

from __future__ import annotations

import pytest

from app.core.config import MIN_PROD_SECRET_LENGTH, PUBLISHED_SECRETS, ConfigError, Settings

STRONG = "s" * MIN_PROD_SECRET_LENGTH
PUBLISHED = "dev-only-jwt-secret-change-me-0123456789abcdef"  # pragma: allowlist secret


def _settings(**values: object) -> Settings:
    values = {"database_url": None, "db_password": "", **values}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _refusal(**values: object) -> str:
    with pytest.raises(ConfigError) as error:
        _settings(**values).validate_for_startup()
    return str(error.value)


def test_trusted_proxies_become_normalised_networks():
    proxies = " 10.1.2.3/16, ,192.0.2.7,, fd00::/8 , ::1 "
    assert _settings(trusted_proxies=proxies).trusted_proxy_networks() == [
        "10.1.0.0/16",
        "192.0.2.7/32",
        "fd00::/8",
        "::1/128",
    ]
    assert _settings(trusted_proxies="").trusted_proxy_networks() == []
    assert _settings(trusted_proxies=" , ").trusted_proxy_networks() == []


@pytest.mark.parametrize("entry", ["*", "0.0.0.0/0", "::/0", "frontend", "10.0.0.0/33"])
def test_a_proxy_entry_that_trusts_everyone_or_is_no_address_is_refused_by_name(entry):
    message = _refusal(app_env="dev", trusted_proxies=f"10.0.0.0/8, {entry}")
    assert message == (
        f"Refusing to start: TRUSTED_PROXIES entry {entry!r} is not a proxy address or a network "
        "narrower than the whole internet; list the frontend's and the ingress controller's "
        "addresses (e.g. 10.244.0.0/16), never '*', or leave it empty."
    )


def test_a_one_address_network_is_narrow_enough():
    assert _settings(trusted_proxies="0.0.0.0/1").trusted_proxy_networks() == ["0.0.0.0/1"]


def test_the_proxy_list_is_checked_in_dev_too_and_before_the_secret():
    _settings(app_env="dev", jwt_secret="").validate_for_startup()
    assert "TRUSTED_PROXIES" in _refusal(app_env="prod", jwt_secret="", trusted_proxies="*")


def test_prod_needs_a_long_enough_secret_and_says_what_is_wrong():
    assert _refusal(app_env="prod", jwt_secret="") == (
        "Refusing to start: APP_ENV=prod but JWT_SECRET is missing; "
        f"set JWT_SECRET to a random string of at least {MIN_PROD_SECRET_LENGTH} characters."
    )
    short = "x" * (MIN_PROD_SECRET_LENGTH - 1)
    assert f"JWT_SECRET is only {MIN_PROD_SECRET_LENGTH - 1} characters;" in _refusal(app_env="prod", jwt_secret=short)
    _settings(app_env="prod", jwt_secret=STRONG).validate_for_startup()
    _settings(app_env="dev", jwt_secret="x").validate_for_startup()


def test_prod_refuses_a_published_secret_as_jwt_secret_or_database_password():
    assert PUBLISHED in PUBLISHED_SECRETS
    assert _refusal(app_env="prod", jwt_secret=PUBLISHED) == (
        "Refusing to start: APP_ENV=prod but JWT_SECRET is a dev/test value published in the "
        "TaskPilot repository; set a freshly generated secret."
    )
    by_part = _refusal(app_env="prod", jwt_secret=STRONG, db_password="dev-only-db-password")
    assert "but the database password is a dev/test value" in by_part
    in_url = _refusal(
        app_env="prod", jwt_secret=STRONG, database_url="postgresql://taskpilot:dev-only-db-password@db:5432/taskpilot"
    )
    assert "but the database password is a dev/test value" in in_url
    # The URL's password is the one used, so a published DB_PASSWORD beside it does not matter.
    _settings(
        app_env="prod", jwt_secret=STRONG, db_password="dev-only-db-password", database_url="postgres://u:fresh@db/tp"
    ).validate_for_startup()
    _settings(app_env="prod", jwt_secret=STRONG, database_url="postgres://u@db/tp").validate_for_startup()
    _settings(app_env="dev", jwt_secret=PUBLISHED, db_password="dev-only-db-password").validate_for_startup()
