"""Backend test fixtures: real PostgreSQL, fresh database + migrations per session, clean tables per test.

Fixtures others may use:
  database_admin_url  superuser URL: the toolkit's session-wide postgres_admin_url (TEST_DATABASE_URL,
                      or a PostgreSQL this session started)
  database_url        the migrated test database (also exported as DATABASE_URL for in-process code)
  app                 the FastAPI app with its lifespan running (session-wide)
  client              httpx.AsyncClient over ASGI against `app` (base_url http://testserver, same-origin Origin)
  create_user         async factory: `user = await create_user(email=None, password=..., name=None)`
                      -> TestUser(id, email, password, token, headers)
  user                one ready user (TestUser); `user.headers` has the bearer token
  backend_server      factory of real server processes on this database:
                      `with backend_server(env={...}) as base_url: ...`
  running_lifespan    helper: `async with running_lifespan(create_app()):` for extra app instances
  db_session          an AsyncSession on the test database (for asserting rows directly)
Every test starts with all application tables empty (TRUNCATE ... RESTART IDENTITY CASCADE).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
from fake_openai import FakeOpenAI

from taskpilot_dev import harness
from taskpilot_dev.api import ApiUser as TestUser

DEFAULT_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def database_admin_url(postgres_admin_url: str) -> str:
    return postgres_admin_url


@pytest.fixture(scope="session")
def database_url(database_admin_url: str) -> Iterator[str]:
    # A database already at head to copy instead of migrating (dev/mutation sets it: one session per mutant).
    template = os.environ.get("TEST_MIGRATED_TEMPLATE_DATABASE")
    url = harness.create_database(database_admin_url, template=template)
    if not template:
        harness.migrate(url)
    saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "JWT_SECRET", "APP_ENV")}
    os.environ["DATABASE_URL"] = url
    os.environ["JWT_SECRET"] = harness.TEST_JWT_SECRET
    os.environ["APP_ENV"] = "dev"
    try:
        yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        harness.drop_database(database_admin_url, url)


@pytest_asyncio.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[object]:
    from app.main import create_app

    application = create_app()
    async with running_lifespan(application):
        yield application


@asynccontextmanager
async def running_lifespan(application: object) -> AsyncIterator[None]:
    """Run the app's lifespan in one dedicated task (anyio task groups must exit in the task that entered)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with application.router.lifespan_context(application):  # type: ignore[attr-defined]
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # startup failed: raise its error
    try:
        yield
    finally:
        stop.set()
        # The app's own shutdown is bounded; if it ever is not, fail loudly instead of hanging the run.
        await asyncio.wait_for(task, timeout=60)


@pytest_asyncio.fixture(autouse=True)
async def clean_tables(request: pytest.FixtureRequest) -> None:
    """Empty every application table before each test that touches the database."""
    if "database_url" not in request.fixturenames:
        return
    import psycopg

    from app.core.db import libpq_url

    database_url = request.getfixturevalue("database_url")
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as connection:
        tables = [
            row[0]
            for row in await (
                await connection.execute(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ).fetchall()
        ]
        if tables:
            await connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    if "app" in request.fixturenames:
        # User ids restart at 1: token versions the app remembers belong to users that are gone.
        request.getfixturevalue("app").services.token_versions.forget_all()


@pytest_asyncio.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    # Like the app's own pages: same-origin, so the session cookie it keeps passes the CSRF guard.
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"Origin": "http://testserver"}
    ) as http:
        yield http


@pytest_asyncio.fixture
async def db_session(app: object) -> AsyncIterator[object]:
    async with app.services.db.session() as session:  # type: ignore[attr-defined]
        yield session


_user_numbers = itertools.count(1)


@pytest.fixture
def create_user(client: httpx.AsyncClient) -> Callable:
    async def _create_user(
        email: str | None = None, password: str = DEFAULT_PASSWORD, name: str | None = None
    ) -> TestUser:
        email = email or f"user{next(_user_numbers)}@example.com"
        response = await client.post("/api/auth/signup", json={"email": email, "password": password, "name": name})
        assert response.status_code == 201, response.text
        body = response.json()
        return TestUser(id=body["user"]["id"], email=email, password=password, token=body["access_token"])

    return _create_user


@pytest_asyncio.fixture
async def user(create_user: Callable) -> TestUser:
    return await create_user()


@pytest.fixture
def backend_server(database_url: str) -> Callable[..., AbstractContextManager[str]]:
    """`with backend_server(env=None, port=None) as base_url:` a real uvicorn process on the test DB."""

    def _backend_server(env: dict[str, str] | None = None, port: int | None = None) -> AbstractContextManager[str]:
        return harness.backend_server(database_url, port=port, env=env)

    return _backend_server


@pytest.fixture
def fake_model(app):
    """Point the running app at a fresh fake model server (restores offline settings afterwards)."""
    fake = FakeOpenAI().start()
    original = app.services
    app.services = replace(
        original,
        settings=original.settings.model_copy(
            update={"openai_api_key": fake.api_key, "openai_base_url": fake.base_url, "openai_model": "fake-model"}
        ),
    )
    try:
        yield fake
    finally:
        app.services = original
        fake.stop()
