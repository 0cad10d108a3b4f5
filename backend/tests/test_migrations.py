"""Alembic migrations on a fresh database: upgrade head, downgrade base, upgrade again."""
from __future__ import annotations

import psycopg

from taskpilot_dev import harness


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_upgrade_downgrade_upgrade(database_admin_url):
    url = harness.create_database(database_admin_url)
    try:
        harness.migrate(url, "0001_users_tasks")
        assert {"users", "tasks", "alembic_version"} <= _tables(url)
        harness.migrate(url)  # head (includes later revisions)
        with psycopg.connect(url) as connection:
            indexes = {row[0] for row in connection.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'")}
        assert "ix_tasks_user_created" in indexes
        result = harness.alembic(url, "downgrade", "base")
        assert result.returncode == 0, result.stderr
        assert _tables(url) <= {"alembic_version"}
        harness.migrate(url)
        assert {"users", "tasks"} <= _tables(url)
    finally:
        harness.drop_database(database_admin_url, url)


def test_app_never_creates_tables(database_admin_url):
    """An unmigrated database stays empty when the app starts and serves requests."""
    url = harness.create_database(database_admin_url)
    try:
        with harness.backend_server(url) as base_url:
            import httpx

            assert httpx.get(base_url + "/health/ready", timeout=10).status_code == 200
        assert _tables(url) == set()
    finally:
        harness.drop_database(database_admin_url, url)
