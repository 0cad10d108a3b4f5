from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter

from app.api.deps import CurrentUser, ReadSessionDep, SessionDep
from app.schemas.common import ERROR_RESPONSES, ErrorResponse
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate
from app.services import tasks as task_service

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERROR_RESPONSES)
_TASK_LIST = TypeAdapter(list[TaskRead])
NOT_FOUND_RESPONSE = {404: {"model": ErrorResponse, "description": "No such task for this user"}}


def _not_found(error: task_service.TaskNotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error))


@router.get("", response_model=list[TaskRead])
async def list_tasks(
    current: CurrentUser,
    session: ReadSessionDep,
    completed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=task_service.MAX_LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    rows = await task_service.list_task_rows(session, current.id, completed=completed, limit=limit, offset=offset)
    await session.close()  # hand the pooled connection back before serializing: other requests are waiting for it
    # Validate and serialize the whole page in one pass inside pydantic-core (the hot path).
    return Response(_TASK_LIST.dump_json(_TASK_LIST.validate_python(rows)), media_type="application/json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskRead)
async def create_task(body: TaskCreate, current: CurrentUser, session: SessionDep) -> TaskRead:
    task = await task_service.create_task(session, current.id, title=body.title, description=body.description)
    return TaskRead.model_validate(task)


@router.get("/{task_id}", response_model=TaskRead, responses=NOT_FOUND_RESPONSE)
async def get_task(task_id: int, current: CurrentUser, session: ReadSessionDep) -> TaskRead:
    try:
        return TaskRead.model_validate(await task_service.get_task(session, current.id, task_id))
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None


@router.patch("/{task_id}", response_model=TaskRead, responses=NOT_FOUND_RESPONSE)
async def update_task(task_id: int, body: TaskUpdate, current: CurrentUser, session: SessionDep) -> TaskRead:
    given = {field: getattr(body, field) for field in body.model_fields_set}
    null_fields = [field for field in ("title", "completed") if field in given and given[field] is None]
    if null_fields:  # only description may be cleared
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", field), "msg": "may not be null", "input": None} for field in null_fields]
        )
    try:
        task = await task_service.update_task(session, current.id, task_id, **given)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return TaskRead.model_validate(task)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND_RESPONSE)
async def delete_task(task_id: int, current: CurrentUser, session: SessionDep) -> Response:
    try:
        await task_service.delete_task(session, current.id, task_id)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
