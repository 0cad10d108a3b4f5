"""Fixtures every Python test tier shares (loaded automatically: the package registers this module
as a pytest plugin).

  postgres_admin_url   superuser URL of the one PostgreSQL of the session: TEST_DATABASE_URL
                       (./dev/test.sh starts one for all tiers) or a throwaway server
  migrated_database    factory: a fresh database with every migration applied, dropped afterwards
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

from .harness import migrate
from .postgres import create_database, drop_database, start_postgres


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    # Not under pytest's basetemp: pytest resets it to mode 0700, which locks out the postgres user.
    directory = tempfile.mkdtemp(prefix="taskpilot-pg-")
    url, stop = start_postgres(directory)
    try:
        yield url
    finally:
        stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        url = create_database(postgres_admin_url)
        created.append(url)
        migrate(url)
        return url

    yield make
    for url in created:
        drop_database(postgres_admin_url, url)
