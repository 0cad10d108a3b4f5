from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from app.core.body_limits import json_body_budget
from app.models.task import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from app.schemas.text import text_field

if TYPE_CHECKING:  # to a type checker they are the str they validate to; pydantic gets the Annotated types
    Title = str
    Description = str
else:
    Title = text_field(TITLE_MAX_LENGTH, required=True, strip=True, description="Stored without surrounding whitespace")
    Description = text_field(DESCRIPTION_MAX_LENGTH, required=False, strip=False)
# Largest valid TaskCreate / TaskUpdate body (POST /api/tasks, PATCH /api/tasks/{id}, MCP tool arguments).
TASK_BODY_BYTES = json_body_budget(TITLE_MAX_LENGTH, DESCRIPTION_MAX_LENGTH)


def _absent_is_not_null(schema: dict[str, Any]) -> None:
    for field in ("title", "completed"):  # their default means "absent", not a value a client may send
        schema["properties"][field].pop("default", None)


class TaskRead(BaseModel):
    """The one public shape of a task (REST, assistant tools, events)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title
    description: Description | None = None


class TaskUpdate(BaseModel):
    """Only the fields present in the request body change. Only description may be null (it clears it)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_absent_is_not_null)

    # May be left out but not null: pydantic rejects null, and the published type has no null either.
    title: Title = None  # type: ignore[assignment]
    description: Description | None = None
    completed: bool = None  # type: ignore[assignment]
