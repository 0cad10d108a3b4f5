"""POST /api/chat: one assistant turn in, the reply and the tool calls it made out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.body_limits import json_body_budget
from app.models.conversation import MESSAGE_MAX_LENGTH
from app.schemas.text import text_field

ChatText = text_field(MESSAGE_MAX_LENGTH, required=True, strip=True)
CHAT_BODY_BYTES = json_body_budget(MESSAGE_MAX_LENGTH)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: ChatText  # type: ignore[valid-type]
    conversation_id: int | None = Field(default=None, description="Continue this conversation; omit to start one")


class ChatAction(BaseModel):
    tool: str
    arguments: dict[str, Any]
    result: dict[str, Any]


class ChatResponse(BaseModel):
    conversation_id: int
    reply: str
    actions: list[ChatAction]
