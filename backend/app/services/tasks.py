"""THE task service: the only code that reads or writes tasks. REST, assistant tools and MCP all call it,
and every query here is scoped to the calling user (isolation is enforced here, not in routes).

Every write publishes its event inside the same transaction and commits itself.

Callers pass either a pooled psycopg connection (the REST routes: autocommit, one round trip per
read) or an SQLAlchemy session (assistant, MCP), whose own connection then runs the same SQL. The
SQL is plain, prepared text on the driver: the ORM's statement building, result wrapping and
greenlet bridge cost more than the query itself on these paths (docs/backend.md has the profile).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from fastapi import status
from psycopg import AsyncConnection
from psycopg.rows import class_row, dict_row
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ApiError
from app.models.base import utc_now
from app.models.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from app.schemas.text import checked_text
from app.services import events

TaskDB = AsyncConnection | AsyncSession
_Result = TypeVar("_Result")

MAX_LIST_LIMIT = 100
MAX_SEARCH_RESULTS = 50
_MAX_ID = 2**31 - 1  # ids are PostgreSQL integers; anything larger cannot exist
_UNSET: Any = object()


@dataclass(slots=True)
class TaskRow:
    """A task as callers see it (TaskRead's fields)."""

    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class TaskNotFound(ApiError):
    """No task with this id belongs to this user (another user's task looks exactly the same)."""

    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, task_id: int) -> None:
        super().__init__(f"Task {task_id} not found")
        self.task_id = task_id


class InvalidTaskData(ApiError, ValueError):
    """Input the REST schemas would reject; raised for callers that skip them (tools, MCP)."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


def _clean(field: str, value: object, *, max_length: int, required: bool, strip: bool) -> str:
    try:
        return checked_text(field, value, max_length=max_length, required=required, strip=strip)
    except ValueError as error:
        raise InvalidTaskData(str(error)) from None


def _clean_title(title: object) -> str:
    return _clean("title", title, max_length=TITLE_MAX_LENGTH, required=True, strip=True)


def _clean_description(description: object) -> str | None:
    if description is None:
        return None
    return _clean("description", description, max_length=DESCRIPTION_MAX_LENGTH, required=False, strip=False)


def _check_id(task_id: int) -> None:
    if not 0 < task_id <= _MAX_ID:
        raise TaskNotFound(task_id)


_COLUMNS = "id, title, description, completed, created_at, updated_at"
_CREATE_SQL = (
    "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) "
    f"VALUES (%s, %s, %s, false, %s, %s) RETURNING {_COLUMNS}"
)
_LIST_SQL = (
    f"SELECT {_COLUMNS} FROM tasks WHERE user_id = %(user_id)s{{completed}} "
    "ORDER BY created_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
)
_LIST_ALL_SQL = _LIST_SQL.format(completed="")
_LIST_BY_COMPLETED_SQL = _LIST_SQL.format(completed=" AND completed = %(completed)s")
_GET_SQL = f"SELECT {_COLUMNS} FROM tasks WHERE id = %s AND user_id = %s"
_UPDATE_SQL = "UPDATE tasks SET {assignments} WHERE id = %(id)s AND user_id = %(user_id)s RETURNING " + _COLUMNS
_DELETE_SQL = "DELETE FROM tasks WHERE id = %s AND user_id = %s RETURNING id"
_FIND_SQL = (
    f"SELECT {_COLUMNS} FROM tasks WHERE user_id = %s AND title ILIKE %s ESCAPE '\\' "
    "ORDER BY created_at DESC, id DESC LIMIT %s"
)
_UPDATABLE = ("title", "description", "completed")


async def _connection(db: TaskDB) -> AsyncConnection:
    if isinstance(db, AsyncConnection):
        return db
    connection = await db.connection()
    return cast(AsyncConnection, (await connection.get_raw_connection()).driver_connection)  # psycopg's own


async def _write(db: TaskDB, work: Callable[[AsyncConnection], Awaitable[_Result]]) -> _Result:
    """Run work in a transaction (a savepoint inside a session's open one) and commit."""
    connection = await _connection(db)
    async with connection.transaction():
        result = await work(connection)
    if isinstance(db, AsyncSession):
        await db.commit()  # the session's transaction holds the work (and whatever the caller added)
    return result


async def create_task(db: TaskDB, user_id: int, *, title: str, description: str | None = None) -> TaskRow:
    now = utc_now()
    values = (user_id, _clean_title(title), _clean_description(description), now, now)

    async def insert(connection: AsyncConnection) -> TaskRow:
        async with connection.cursor(row_factory=class_row(TaskRow)) as cursor:
            await cursor.execute(_CREATE_SQL, values, prepare=True)
            task = cast(TaskRow, await cursor.fetchone())  # INSERT ... RETURNING: always one row
        await events.publish_task_event(connection, user_id=user_id, type="created", task_id=task.id)
        return task

    return await _write(db, insert)


async def list_task_rows(
    db: TaskDB, user_id: int, *, completed: bool | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """The user's tasks, newest first, as dicts with exactly TaskRead's fields (ready for JSON)."""
    params: dict[str, Any] = {"user_id": user_id, "limit": max(1, min(limit, MAX_LIST_LIMIT)), "offset": max(0, offset)}
    sql = _LIST_ALL_SQL
    if completed is not None:
        params["completed"] = completed
        sql = _LIST_BY_COMPLETED_SQL
    async with (await _connection(db)).cursor(row_factory=dict_row) as cursor:
        await cursor.execute(sql, params, prepare=True)
        return await cursor.fetchall()


async def list_tasks(
    db: TaskDB, user_id: int, *, completed: bool | None = None, limit: int = 50, offset: int = 0
) -> list[TaskRow]:
    """The user's tasks, newest first."""
    rows = await list_task_rows(db, user_id, completed=completed, limit=limit, offset=offset)
    return [TaskRow(**row) for row in rows]


async def _get(connection: AsyncConnection, user_id: int, task_id: int) -> TaskRow:
    _check_id(task_id)
    async with connection.cursor(row_factory=class_row(TaskRow)) as cursor:
        await cursor.execute(_GET_SQL, (task_id, user_id), prepare=True)
        task = await cursor.fetchone()
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def get_task(db: TaskDB, user_id: int, task_id: int) -> TaskRow:
    return await _get(await _connection(db), user_id, task_id)


async def update_task(
    db: TaskDB,
    user_id: int,
    task_id: int,
    *,
    title: str = _UNSET,
    description: str | None = _UNSET,
    completed: bool = _UNSET,
) -> TaskRow:
    """Change only the given fields (description=None clears it)."""
    changes: dict[str, Any] = {}
    if title is not _UNSET:
        changes["title"] = _clean_title(title)
    if description is not _UNSET:
        changes["description"] = _clean_description(description)
    if completed is not _UNSET:
        if not isinstance(completed, bool):
            raise InvalidTaskData("completed must be true or false")
        changes["completed"] = completed
    if not changes:
        return await get_task(db, user_id, task_id)
    _check_id(task_id)
    changes["updated_at"] = utc_now()
    # Column names come from the fixed _UPDATABLE list, never from input.
    assignments = ", ".join(f"{column} = %({column})s" for column in (*_UPDATABLE, "updated_at") if column in changes)
    sql = _UPDATE_SQL.format(assignments=assignments)

    async def apply(connection: AsyncConnection) -> TaskRow:
        async with connection.cursor(row_factory=class_row(TaskRow)) as cursor:
            await cursor.execute(sql, {**changes, "id": task_id, "user_id": user_id}, prepare=True)
            task = await cursor.fetchone()
        if task is None:  # nothing was written; the transaction block rolls back
            raise TaskNotFound(task_id)
        await events.publish_task_event(connection, user_id=user_id, type="updated", task_id=task_id)
        return task

    return await _write(db, apply)


async def delete_task(db: TaskDB, user_id: int, task_id: int) -> None:
    _check_id(task_id)

    async def remove(connection: AsyncConnection) -> None:
        deleted = await (await connection.execute(_DELETE_SQL, (task_id, user_id), prepare=True)).fetchone()
        if deleted is None:
            raise TaskNotFound(task_id)
        await events.publish_task_event(connection, user_id=user_id, type="deleted", task_id=task_id)

    await _write(db, remove)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find_tasks_by_title(db: TaskDB, user_id: int, text: str) -> list[TaskRow]:
    """The user's tasks whose title contains text (case-insensitive), newest first."""
    pattern = _like_pattern(_clean("text", text, max_length=TITLE_MAX_LENGTH, required=True, strip=False))
    async with (await _connection(db)).cursor(row_factory=class_row(TaskRow)) as cursor:
        await cursor.execute(_FIND_SQL, (user_id, pattern, MAX_SEARCH_RESULTS), prepare=True)
        return await cursor.fetchall()
