"""GET /api/conversations and /api/conversations/{id}/messages (the caller's only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentUser, SessionDep
from app.schemas.common import error_responses
from app.schemas.conversations import ConversationRead, MessageRead
from app.services.assistant import conversations as conversation_service

router = APIRouter(prefix="/conversations", tags=["assistant"])


@router.get("", response_model=list[ConversationRead], responses=error_responses(401, 422, 503))
async def list_conversations(
    current: CurrentUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[ConversationRead]:
    rows = await conversation_service.list_conversations(session, current.id, limit=limit)
    return [ConversationRead.model_validate(row) for row in rows]


@router.get(
    "/{conversation_id}/messages",
    response_model=list[MessageRead],
    responses=error_responses(401, 404, 422, 503, s404="No such conversation for this user"),
)
async def list_messages(conversation_id: int, current: CurrentUser, session: SessionDep) -> list[MessageRead]:
    conversation = await conversation_service.get_conversation(session, current.id, conversation_id)
    rows = await conversation_service.list_messages(session, conversation)
    return [MessageRead.model_validate(row) for row in rows]
