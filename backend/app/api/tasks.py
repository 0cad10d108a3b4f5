from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from app.api.deps import CurrentUser
from app.schemas.common import ERROR_RESPONSES, ErrorResponse
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate
from app.services import tasks as task_service

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERROR_RESPONSES)
NOT_FOUND_RESPONSE = {404: {"model": ErrorResponse, "description": "No such task for this user"}}


def _json(content: object, status_code: int = status.HTTP_200_OK) -> Response:
    # Service rows are already TaskRead's fields: straight to bytes, no model pass.
    return Response(orjson.dumps(content, option=orjson.OPT_UTC_Z), status_code, media_type="application/json")


def _pool(request: Request):  # noqa: ANN202 - psycopg AsyncConnectionPool
    # Inline checkout instead of a yield dependency: the connection goes back before the response is sent.
    return request.app.state.db.pool


def _not_found(error: task_service.TaskNotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error))


@router.get("", response_model=list[TaskRead])
async def list_tasks(
    request: Request,
    current: CurrentUser,
    completed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=task_service.MAX_LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    async with _pool(request).connection() as connection:
        rows = await task_service.list_task_rows(connection, current.id, completed=completed, limit=limit, offset=offset)
    return _json(rows)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskRead)
async def create_task(body: TaskCreate, request: Request, current: CurrentUser) -> Response:
    async with _pool(request).connection() as connection:
        task = await task_service.create_task(connection, current.id, title=body.title, description=body.description)
    return _json(task, status.HTTP_201_CREATED)


@router.get("/{task_id}", response_model=TaskRead, responses=NOT_FOUND_RESPONSE)
async def get_task(task_id: int, request: Request, current: CurrentUser) -> Response:
    try:
        async with _pool(request).connection() as connection:
            return _json(await task_service.get_task(connection, current.id, task_id))
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None


@router.patch("/{task_id}", response_model=TaskRead, responses=NOT_FOUND_RESPONSE)
async def update_task(task_id: int, body: TaskUpdate, request: Request, current: CurrentUser) -> Response:
    given = {field: getattr(body, field) for field in body.model_fields_set}
    null_fields = [field for field in ("title", "completed") if field in given and given[field] is None]
    if null_fields:  # only description may be cleared
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", field), "msg": "may not be null", "input": None} for field in null_fields]
        )
    try:
        async with _pool(request).connection() as connection:
            task = await task_service.update_task(connection, current.id, task_id, **given)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return _json(task)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND_RESPONSE)
async def delete_task(task_id: int, request: Request, current: CurrentUser) -> Response:
    try:
        async with _pool(request).connection() as connection:
            await task_service.delete_task(connection, current.id, task_id)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
