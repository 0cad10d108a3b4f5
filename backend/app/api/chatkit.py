"""POST /api/chatkit: the ChatKit server protocol (see app/services/assistant/chatkit_protocol.py)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from app.api.chat import turn_in_progress
from app.api.deps import CurrentUser, SessionDep
from app.schemas.common import ERROR_RESPONSES
from app.services.assistant import chatkit_protocol as protocol
from app.services.assistant.turns import TurnInProgress

router = APIRouter(tags=["assistant"], responses=ERROR_RESPONSES)


@router.post(
    "/chatkit",
    summary="ChatKit protocol endpoint (threads.create / threads.add_user_message stream SSE; others JSON)",
    response_model=None,
)
async def chatkit(request: Request, current: CurrentUser, session: SessionDep) -> Response:
    try:
        body = protocol.ChatKitRequest.model_validate_json(await request.body())
    except ValidationError:
        return JSONResponse({"detail": "Body must be a ChatKit request: {type, params}"}, status_code=422)
    try:
        if protocol.kind_of(body) == "streaming":
            events = await protocol.prepare_stream(session, current.id, request.app.state.settings, body)
            return StreamingResponse(
                protocol.stream_events(events),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return JSONResponse(await protocol.handle_non_streaming(session, current.id, body))
    except protocol.ChatKitError as error:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)
    except TurnInProgress as busy:
        raise turn_in_progress(busy) from None
