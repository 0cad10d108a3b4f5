from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import TypeAdapter

from app.api.deps import CurrentUser, ReadSessionDep, SessionDep
from app.schemas.common import error_responses
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate
from app.services import tasks as task_service

router = APIRouter(prefix="/tasks", tags=["tasks"])
_TASK_LIST = TypeAdapter(list[TaskRead])
NO_SUCH_TASK = "No such task for this user"


def _not_found(error: task_service.TaskNotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error))


@router.get("", response_model=list[TaskRead], responses=error_responses(401, 422, 503))
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


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=TaskRead, responses=error_responses(400, 401, 403, 415, 422, 503)
)
async def create_task(body: TaskCreate, current: CurrentUser, session: SessionDep) -> TaskRead:
    task = await task_service.create_task(session, current.id, title=body.title, description=body.description)
    return TaskRead.model_validate(task)


@router.get("/{task_id}", response_model=TaskRead, responses=error_responses(401, 404, 422, 503, s404=NO_SUCH_TASK))
async def get_task(task_id: int, current: CurrentUser, session: ReadSessionDep) -> TaskRead:
    try:
        return TaskRead.model_validate(await task_service.get_task(session, current.id, task_id))
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None


@router.patch(
    "/{task_id}", response_model=TaskRead, responses=error_responses(400, 401, 403, 404, 415, 422, 503, s404=NO_SUCH_TASK)
)
async def update_task(task_id: int, body: TaskUpdate, current: CurrentUser, session: SessionDep) -> TaskRead:
    given = {field: getattr(body, field) for field in body.model_fields_set}  # only description may be null
    try:
        task = await task_service.update_task(session, current.id, task_id, **given)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return TaskRead.model_validate(task)


@router.delete(
    "/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404, 422, 503, s404=NO_SUCH_TASK)
)
async def delete_task(task_id: int, current: CurrentUser, session: SessionDep) -> Response:
    try:
        await task_service.delete_task(session, current.id, task_id)
    except task_service.TaskNotFound as error:
        raise _not_found(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
