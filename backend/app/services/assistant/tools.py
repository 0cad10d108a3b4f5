"""The five assistant tools over the caller's tasks, shared by the agent, the offline interpreter and MCP.

Every tool takes `user_id` as a separate, server-side argument (from the authenticated request) and
calls app/services/tasks.py with it. Tool arguments come from a model or a remote client and are never
trusted for identity: the argument schemas have no user field, and unknown fields are dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.task import TITLE_MAX_LENGTH
from app.schemas.tasks import Description, TaskRead, Title
from app.schemas.text import text_field
from app.services import tasks as task_service
from app.services.tasks import TaskRow

ToolResult = dict[str, Any]
if TYPE_CHECKING:  # see app.schemas.tasks
    TitleSearch = str
else:
    TitleSearch = text_field(TITLE_MAX_LENGTH, required=False, strip=True)


class _Args(BaseModel):
    # "ignore": a model that invents e.g. {"user_id": 2} gets it silently dropped, never used.
    model_config = ConfigDict(extra="ignore")


class AddTaskArgs(_Args):
    title: Title = Field(description="Short title of the new task")
    description: Description | None = Field(default=None, description="Optional details")


class ListTasksArgs(_Args):
    status: Literal["all", "open", "completed"] = Field(
        default="all", description="Which tasks: all, open (not completed) or completed"
    )


class TaskRefArgs(_Args):
    task_id: int | None = Field(default=None, description="Id of the task (preferred)")
    title: TitleSearch | None = Field(
        default=None, description="Text contained in the task's title, when the id is unknown"
    )


class UpdateTaskArgs(_Args):
    task_id: int = Field(description="Id of the task to change")
    title: Title | None = Field(default=None, description="New title")
    description: Description | None = Field(default=None, description="New description")
    completed: bool | None = Field(default=None, description="Mark done (true) or not done (false)")


TOOL_DESCRIPTIONS: dict[str, tuple[str, type[_Args]]] = {
    "add_task": ("Create a new task for the current user.", AddTaskArgs),
    "list_tasks": ("List the current user's tasks, optionally only open or only completed ones.", ListTasksArgs),
    "complete_task": ("Mark one of the current user's tasks as completed, by id or by title text.", TaskRefArgs),
    "update_task": ("Change the title, description or completion of one of the current user's tasks.", UpdateTaskArgs),
    "delete_task": ("Delete one of the current user's tasks, by id or by title text.", TaskRefArgs),
}
TOOL_NAMES = tuple(TOOL_DESCRIPTIONS)


def openai_tool_specs() -> list[dict[str, Any]]:
    """Chat Completions `tools` parameter for the five tools."""
    specs = []
    for name, (description, args_model) in TOOL_DESCRIPTIONS.items():
        schema = args_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        specs.append({"type": "function", "function": {"name": name, "description": description, "parameters": schema}})
    return specs


def task_json(task: TaskRow) -> dict[str, Any]:
    return TaskRead.model_validate(task).model_dump(mode="json")


def _error(message: str) -> ToolResult:
    return {"ok": False, "error": message}


class _Ambiguous(Exception):
    pass


async def _resolve(session: AsyncSession, user_id: int, ref: TaskRefArgs) -> TaskRow:
    """The caller's task by id, else by unique title match. Raises TaskNotFound / _Ambiguous."""
    if ref.task_id is not None:
        return await task_service.get_task(session, user_id, ref.task_id)
    text = (ref.title or "").strip()
    if not text:
        raise _Ambiguous("Give a task id or some text from the task's title.")
    matches = await task_service.find_tasks_by_title(session, user_id, text)
    exact = [task for task in matches if task.title.casefold() == text.casefold()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise _Ambiguous(f'No task matches "{text}".')
    listed = ", ".join(f"#{task.id} {task.title}" for task in matches[:10])
    raise _Ambiguous(f'Several tasks match "{text}": {listed}. Which one (give its id)?')


async def add_task(session: AsyncSession, user_id: int, args: AddTaskArgs) -> ToolResult:
    task = await task_service.create_task(session, user_id, title=args.title, description=args.description)
    return {"ok": True, "task": task_json(task)}


async def list_tasks(session: AsyncSession, user_id: int, args: ListTasksArgs) -> ToolResult:
    completed = {"all": None, "open": False, "completed": True}[args.status]
    tasks = await task_service.list_tasks(session, user_id, completed=completed, limit=task_service.MAX_LIST_LIMIT)
    return {"ok": True, "status": args.status, "tasks": [task_json(task) for task in tasks]}


async def complete_task(session: AsyncSession, user_id: int, args: TaskRefArgs) -> ToolResult:
    task = await _resolve(session, user_id, args)
    task = await task_service.update_task(session, user_id, task.id, completed=True)
    return {"ok": True, "task": task_json(task)}


async def update_task(session: AsyncSession, user_id: int, args: UpdateTaskArgs) -> ToolResult:
    changes = args.model_dump(include={"title", "description", "completed"}, exclude_none=True)
    if not changes:
        return _error("Nothing to change: give a new title, description or completed.")
    task = await task_service.update_task(session, user_id, args.task_id, **changes)
    return {"ok": True, "task": task_json(task)}


async def delete_task(session: AsyncSession, user_id: int, args: TaskRefArgs) -> ToolResult:
    task = await _resolve(session, user_id, args)
    deleted = task_json(task)
    await task_service.delete_task(session, user_id, task.id)
    return {"ok": True, "deleted": deleted}


_IMPLEMENTATIONS: dict[str, Callable[[AsyncSession, int, Any], Awaitable[ToolResult]]] = {
    "add_task": add_task,
    "list_tasks": list_tasks,
    "complete_task": complete_task,
    "update_task": update_task,
    "delete_task": delete_task,
}


class UnknownTool(Exception):
    pass


async def execute_tool(session: AsyncSession, user_id: int, name: str, arguments: dict[str, Any]) -> ToolResult:
    """Run one tool for `user_id` (from the auth context). Bad input becomes {"ok": false, "error": ...}."""
    if name not in TOOL_DESCRIPTIONS:
        raise UnknownTool(name)
    args_model = TOOL_DESCRIPTIONS[name][1]
    try:
        args = args_model.model_validate(arguments)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors())
        return _error(f"Invalid arguments for {name}: {problems}")
    try:
        return await _IMPLEMENTATIONS[name](session, user_id, args)
    except task_service.TaskNotFound as error:
        await session.rollback()
        return _error(f"No task with id {error.task_id} in your list.")
    except task_service.InvalidTaskData as error:
        await session.rollback()
        return _error(str(error))
    except _Ambiguous as error:
        return _error(str(error))
