from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from app.api.deps import CurrentUser, TaskPool
from app.core.body_limits import body_limit
from app.schemas.common import error_responses
from app.schemas.tasks import TASK_BODY_BYTES, TaskCreate, TaskRead, TaskUpdate
from app.services import tasks as task_service

router = APIRouter(prefix="/tasks", tags=["tasks"])
NO_SUCH_TASK = "No such task for this user"


def _json(content: object, status_code: int = status.HTTP_200_OK) -> Response:
    # Service rows are already TaskRead's fields: straight to bytes, no model pass.
    return Response(orjson.dumps(content, option=orjson.OPT_UTC_Z), status_code, media_type="application/json")


@router.get("", response_model=list[TaskRead], responses=error_responses(401, 422, 503))
async def list_tasks(
    pool: TaskPool,
    current: CurrentUser,
    completed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=task_service.MAX_LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    async with pool.connection() as connection:
        rows = await task_service.list_task_rows(
            connection, current.id, completed=completed, limit=limit, offset=offset
        )
    return _json(rows)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskRead,
    responses=error_responses(400, 401, 403, 408, 413, 415, 422, 503),
    openapi_extra=body_limit(TASK_BODY_BYTES),
)
async def create_task(body: TaskCreate, pool: TaskPool, current: CurrentUser) -> Response:
    async with pool.connection() as connection:
        task = await task_service.create_task(connection, current.id, title=body.title, description=body.description)
    return _json(task, status.HTTP_201_CREATED)


@router.get("/{task_id}", response_model=TaskRead, responses=error_responses(401, 404, 422, 503, s404=NO_SUCH_TASK))
async def get_task(task_id: int, pool: TaskPool, current: CurrentUser) -> Response:
    async with pool.connection() as connection:
        return _json(await task_service.get_task(connection, current.id, task_id))


@router.patch(
    "/{task_id}",
    response_model=TaskRead,
    responses=error_responses(400, 401, 403, 404, 408, 413, 415, 422, 503, s404=NO_SUCH_TASK),
    openapi_extra=body_limit(TASK_BODY_BYTES),
)
async def update_task(task_id: int, body: TaskUpdate, pool: TaskPool, current: CurrentUser) -> Response:
    given = {field: getattr(body, field) for field in body.model_fields_set}  # only description may be null
    async with pool.connection() as connection:
        task = await task_service.update_task(connection, current.id, task_id, **given)
    return _json(task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 422, 503, s404=NO_SUCH_TASK),
)
async def delete_task(task_id: int, pool: TaskPool, current: CurrentUser) -> Response:
    async with pool.connection() as connection:
        await task_service.delete_task(connection, current.id, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
