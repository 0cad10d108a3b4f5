"""POST /api/chat: one assistant turn (AI model when OPENAI_API_KEY is set, offline interpreter otherwise)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentUser, SessionDep, SettingsDep
from app.core.body_limits import body_limit
from app.schemas.chat import CHAT_BODY_BYTES, ChatAction, ChatRequest, ChatResponse
from app.schemas.common import error_responses
from app.services.assistant import conversations as conversation_service

router = APIRouter(tags=["assistant"])


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses=error_responses(
        400,
        401,
        403,
        404,
        408,
        413,
        415,
        422,
        429,
        503,
        s404="No such conversation for this user",
        s429="Another assistant turn of this user is still running",
    ),
    openapi_extra=body_limit(CHAT_BODY_BYTES),
)
async def chat(body: ChatRequest, current: CurrentUser, session: SessionDep, settings: SettingsDep) -> ChatResponse:
    turn = await conversation_service.run_turn(session, current.id, settings, body.message, body.conversation_id)
    return ChatResponse(
        conversation_id=turn.conversation.id,
        reply=turn.reply,
        actions=[ChatAction(**action) for action in turn.actions],
    )
