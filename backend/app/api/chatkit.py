"""POST /api/chatkit: the ChatKit server protocol (see app/services/assistant/chatkit_protocol.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app.api.deps import CurrentUser, SessionDep, SettingsDep
from app.core.body_limits import body_limit
from app.schemas.chatkit import CHATKIT_BODY_BYTES, ChatKitRequestBody
from app.schemas.common import error_responses
from app.services.assistant import chatkit_protocol as protocol

router = APIRouter(tags=["assistant"])

CHATKIT_DESCRIPTION = """\
`threads.create` and `threads.add_user_message` answer `text/event-stream` (ChatKit events); the other
request types answer JSON.

Checked by the server but not expressible in JSON Schema: the message's text (all `input_text` and
`input_tag` parts joined, then trimmed) must not be empty and must be at most 4000 characters (422).
"""


@router.post(
    "/chatkit",
    summary="ChatKit protocol endpoint",
    description=CHATKIT_DESCRIPTION,
    response_model=None,
    responses={
        200: {
            "description": "JSON for reads and updates; an SSE stream of ChatKit events for new messages",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {}},
        },
        **error_responses(400, 401, 403, 404, 408, 413, 415, 422, 429, 503, s404="No such thread for this user"),
    },
    openapi_extra=body_limit(CHATKIT_BODY_BYTES),
)
async def chatkit(
    body: ChatKitRequestBody, current: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Response:
    chatkit_request = protocol.ChatKitRequest(type=body.type, params=body.params.model_dump(), metadata=body.metadata)
    if protocol.kind_of(chatkit_request) == "streaming":
        events = await protocol.prepare_stream(session, current.id, settings, chatkit_request)
        return StreamingResponse(
            protocol.stream_events(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONResponse(await protocol.handle_non_streaming(session, current.id, chatkit_request))
