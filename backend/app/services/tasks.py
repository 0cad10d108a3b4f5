"""THE task service: the only code that writes tasks. REST, assistant tools and MCP all call it.

Every write publishes its event inside the same transaction and commits itself.
"""
from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import utc_now
from app.models.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Task
from app.schemas.text import checked_text
from app.services import events

MAX_LIST_LIMIT = 100
MAX_SEARCH_RESULTS = 50
_MAX_ID = 2**31 - 1  # ids are PostgreSQL integers; anything larger cannot exist
_UNSET: Any = object()


class TaskNotFound(Exception):
    """No task with this id belongs to this user (another user's task looks exactly the same)."""

    def __init__(self, task_id: int) -> None:
        super().__init__(f"Task {task_id} not found")
        self.task_id = task_id


class InvalidTaskData(ValueError):
    """Input the REST schemas would reject; raised for callers that skip them (tools, MCP)."""


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


async def create_task(session: AsyncSession, user_id: int, *, title: str, description: str | None = None) -> Task:
    now = utc_now()
    # INSERT ... RETURNING straight into an ORM object: one round trip, no unit-of-work flush.
    statement = (
        insert(Task)
        .values(
            user_id=user_id,
            title=_clean_title(title),
            description=_clean_description(description),
            completed=False,
            created_at=now,
            updated_at=now,
        )
        .returning(Task)
    )
    task = (await session.scalars(statement)).one()
    await events.publish_task_event(session, user_id=user_id, type="created", task_id=task.id)
    await session.commit()
    return task


async def list_tasks(
    session: AsyncSession, user_id: int, *, completed: bool | None = None, limit: int = 50, offset: int = 0
) -> list[Task]:
    """The user's tasks, newest first."""
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = select(Task).where(Task.user_id == user_id)
    if completed is not None:
        query = query.where(Task.completed == completed)
    query = query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit).offset(max(0, offset))
    return list((await session.scalars(query)).all())


# The REST list is the hottest read: plain SQL straight to the driver (no statement compilation or
# result wrapping), rows as dicts with exactly TaskRead's fields.
_LIST_SQL = (
    "SELECT id, title, description, completed, created_at, updated_at FROM tasks "
    "WHERE user_id = %(user_id)s{completed} ORDER BY created_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
)
_LIST_ALL_SQL = _LIST_SQL.format(completed="")
_LIST_BY_COMPLETED_SQL = _LIST_SQL.format(completed=" AND completed = %(completed)s")


async def list_task_rows(
    session: AsyncSession, user_id: int, *, completed: bool | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Like list_tasks, but dicts with exactly TaskRead's fields (no ORM objects: cheaper per page)."""
    params: dict[str, Any] = {"user_id": user_id, "limit": max(1, min(limit, MAX_LIST_LIMIT)), "offset": max(0, offset)}
    sql = _LIST_ALL_SQL
    if completed is not None:
        params["completed"] = completed
        sql = _LIST_BY_COMPLETED_SQL
    connection = await session.connection()
    driver_connection = (await connection.get_raw_connection()).driver_connection
    async with driver_connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall()


async def get_task(session: AsyncSession, user_id: int, task_id: int) -> Task:
    _check_id(task_id)
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.user_id == user_id))
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def update_task(
    session: AsyncSession,
    user_id: int,
    task_id: int,
    *,
    title: str = _UNSET,
    description: str | None = _UNSET,
    completed: bool = _UNSET,
) -> Task:
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
        return await get_task(session, user_id, task_id)
    _check_id(task_id)
    changes["updated_at"] = utc_now()
    statement = (
        update(Task)
        .where(Task.id == task_id, Task.user_id == user_id)
        .values(**changes)
        .returning(Task)
        # Refresh an instance the caller may already hold in this session with the returned row.
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    task = (await session.scalars(statement)).one_or_none()
    if task is None:  # nothing was written; leave the caller's transaction alone
        raise TaskNotFound(task_id)
    await events.publish_task_event(session, user_id=user_id, type="updated", task_id=task_id)
    await session.commit()
    return task


async def delete_task(session: AsyncSession, user_id: int, task_id: int) -> None:
    _check_id(task_id)
    deleted_id = await session.scalar(
        delete(Task).where(Task.id == task_id, Task.user_id == user_id).returning(Task.id)
    )
    if deleted_id is None:
        raise TaskNotFound(task_id)
    await events.publish_task_event(session, user_id=user_id, type="deleted", task_id=task_id)
    await session.commit()


async def find_tasks_by_title(session: AsyncSession, user_id: int, text: str) -> list[Task]:
    """The user's tasks whose title contains text (case-insensitive), newest first."""
    text = _clean("text", text, max_length=TITLE_MAX_LENGTH, required=True, strip=False)
    query = (
        select(Task)
        .where(Task.user_id == user_id, Task.title.icontains(text, autoescape=True))
        .order_by(Task.created_at.desc(), Task.id.desc())
        .limit(MAX_SEARCH_RESULTS)
    )
    return list((await session.scalars(query)).all())
