"""Stack-limit reference for api_bench: the same work as GET/POST /api/tasks with nothing in between.

One psycopg AsyncConnectionPool (same size as the backend's), PyJWT decode of the bearer token,
prepared statements, orjson. No ORM, no dependency injection, no validation layer, no logging.
Run by api_bench.py as `uvicorn raw_twin_app:app` with the same flags as the backend; configured by
DATABASE_URL, JWT_SECRET and POOL_SIZE. The SQL is also what tests/ compare our service against, so
the benchmark compares like with like.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import jwt
import orjson
from fastapi import FastAPI, Request, Response
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# Same columns, filter, order and page size as the list route's default page.
LIST_SQL = (
    "SELECT id, title, description, completed, created_at, updated_at FROM tasks "
    "WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT 50"
)
CREATE_SQL = (
    "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) "
    "VALUES (%s, %s, %s, false, now(), now()) "
    "RETURNING id, title, description, completed, created_at, updated_at"
)
NOTIFY_SQL = "SELECT pg_notify('task_events', %s)"
COLUMNS = ("id", "title", "description", "completed", "created_at", "updated_at")
JSON_OPTIONS = orjson.OPT_UTC_Z


def _dsn() -> str:
    return os.environ.get("DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://", 1)


SECRET = os.environ.get("JWT_SECRET", "")
# Autocommit like the backend's pool: a read is one round trip, the write opens its own transaction.
pool = AsyncConnectionPool(
    _dsn(),
    min_size=int(os.environ.get("POOL_SIZE", "20")),
    max_size=int(os.environ.get("POOL_SIZE", "20")),
    kwargs={"autocommit": True},
    open=False,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await pool.open(wait=True)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


async def list_rows(connection: AsyncConnection, user_id: int) -> list[dict]:
    cursor = await connection.execute(LIST_SQL, (user_id,), prepare=True)
    return [dict(zip(COLUMNS, row, strict=True)) for row in await cursor.fetchall()]


async def create_row(connection: AsyncConnection, user_id: int, title: str, description: str | None) -> dict:
    """INSERT ... RETURNING and pg_notify in one transaction, as the backend publishes events."""
    async with connection.transaction():
        cursor = await connection.execute(CREATE_SQL, (user_id, title, description), prepare=True)
        row = await cursor.fetchone()
        event = json.dumps({"user_id": user_id, "type": "created", "task_id": row[0]})
        await connection.execute(NOTIFY_SQL, (event,), prepare=True)
    return dict(zip(COLUMNS, row, strict=True))


def _user_id(request: Request) -> int | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        return int(jwt.decode(token, SECRET, algorithms=["HS256"])["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


@app.get("/raw/tasks")
async def list_tasks(request: Request) -> Response:
    user_id = _user_id(request)
    if user_id is None:
        return Response(status_code=401)
    async with pool.connection() as connection:
        rows = await list_rows(connection, user_id)
    return Response(orjson.dumps(rows, option=JSON_OPTIONS), media_type="application/json")


@app.post("/raw/tasks")
async def create_task(request: Request) -> Response:
    user_id = _user_id(request)
    if user_id is None:
        return Response(status_code=401)
    payload = orjson.loads(await request.body())
    async with pool.connection() as connection:
        row = await create_row(connection, user_id, payload["title"], payload.get("description"))
    return Response(orjson.dumps(row, option=JSON_OPTIONS), status_code=201, media_type="application/json")
