"""ChatKit server protocol (what the ChatKit web component sends to POST /api/chatkit), on our own store.

Why not the `openai-chatkit` package at run time: its server module imports `openai-agents`; the two add
9.6 MB to the 200 MB-capped image for an agent runtime we don't use (see agent.py). The wire format is
small and stable, so we speak it here; the tests validate every request and event we produce against the
official SDK's pydantic types (openai-chatkit is a dev/test dependency only).

Mapping: a ChatKit thread is a Conversation (id "thr_<id>"), a user/assistant message item is a Message
(id "msg_<id>"). So ChatKit threads and /api/chat conversations are the same data.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from fastapi import status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import ApiError
from app.models.conversation import CONVERSATION_TITLE_MAX_LENGTH, MESSAGE_MAX_LENGTH, Conversation, Message
from app.schemas.chatkit import UserMessageInput
from app.schemas.text import checked_text
from app.services.assistant import conversations as store

DEFAULT_PAGE_SIZE = 20
STREAMING_TYPES = {"threads.create", "threads.add_user_message"}


class ChatKitError(ApiError):
    """A ChatKit request refused; answered in the API's error shape like any other refusal."""


class ThreadNotFound(ChatKitError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Thread not found"


class InvalidChatKitInput(ChatKitError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT


class UnsupportedChatKitRequest(ChatKitError):
    status_code = status.HTTP_400_BAD_REQUEST


# --- requests: validated by the route against app/schemas/chatkit.py, handled here as plain data ----


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatKitRequest(_Loose):
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


# --- ids and serialisation ------------------------------------------------------------------------


def thread_id(conversation: Conversation) -> str:
    return f"thr_{conversation.id}"


def _parse_id(value: Any, prefix: str) -> int | None:
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    digits = value[len(prefix) :]
    return int(digits) if digits.isdigit() and 0 < int(digits) <= 2**31 - 1 else None


def _iso(value: datetime) -> str:
    return value.isoformat()


def thread_json(
    conversation: Conversation, items: list[dict[str, Any]] | None = None, has_more: bool = False
) -> dict[str, Any]:
    thread: dict[str, Any] = {
        "id": thread_id(conversation),
        "created_at": _iso(conversation.created_at),
        "status": {"type": "active"},
        "items": {"data": items or [], "has_more": has_more},
    }
    if conversation.title:
        thread["title"] = conversation.title
    return thread


def item_json(message: Message, conversation: Conversation) -> dict[str, Any]:
    base = {"id": f"msg_{message.id}", "thread_id": thread_id(conversation), "created_at": _iso(message.created_at)}
    if message.role == "user":
        return {
            **base,
            "type": "user_message",
            "content": [{"type": "input_text", "text": message.content}],
            "attachments": [],
            "inference_options": {},
        }
    return {
        **base,
        "type": "assistant_message",
        "content": [{"type": "output_text", "text": message.content, "annotations": []}],
    }


def sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    has_more = len(items) > limit
    data = items[:limit]
    page: dict[str, Any] = {"data": data, "has_more": has_more}
    if has_more and data:
        page["after"] = data[-1]["id"]
    return page


def _limit(params: dict[str, Any]) -> int:
    value = params.get("limit") or DEFAULT_PAGE_SIZE
    return max(1, min(int(value), 100)) if isinstance(value, int) else DEFAULT_PAGE_SIZE


# --- handlers -------------------------------------------------------------------------------------


async def _thread(session: AsyncSession, user_id: int, params: dict[str, Any]) -> Conversation:
    conversation_id = _parse_id(params.get("thread_id"), "thr_")
    if conversation_id is None:
        raise ThreadNotFound
    try:
        return await store.get_conversation(session, user_id, conversation_id)
    except store.ConversationNotFound:
        raise ThreadNotFound from None


def _user_text(params: dict[str, Any]) -> str:
    try:
        text = UserMessageInput.model_validate(params.get("input") or {}).text()
    except ValueError:
        raise InvalidChatKitInput("input must be a ChatKit user message") from None
    return _checked("message", text, max_length=MESSAGE_MAX_LENGTH, required=True)


def _checked(field: str, value: str, *, max_length: int, required: bool) -> str:
    try:
        return checked_text(field, value, max_length=max_length, required=required, strip=False)
    except ValueError as error:
        raise InvalidChatKitInput(str(error)) from None


async def handle_non_streaming(session: AsyncSession, user_id: int, request: ChatKitRequest) -> dict[str, Any]:
    params = request.params
    match request.type:
        case "threads.get_by_id":
            conversation = await _thread(session, user_id, params)
            messages = await store.list_messages(session, conversation, limit=DEFAULT_PAGE_SIZE + 1)
            page = _page([item_json(m, conversation) for m in messages], DEFAULT_PAGE_SIZE)
            return thread_json(conversation, page["data"], page["has_more"])
        case "threads.list":
            limit = _limit(params)
            newest_first = params.get("order", "desc") != "asc"
            after = _parse_id(params.get("after"), "thr_")
            rows = await store.list_conversations(
                session, user_id, limit=limit + 1, after_id=after, newest_first=newest_first
            )
            return _page([thread_json(row) for row in rows], limit)
        case "items.list":
            conversation = await _thread(session, user_id, params)
            limit = _limit(params)
            newest_first = params.get("order", "desc") != "asc"
            after = _parse_id(params.get("after"), "msg_")
            messages = await store.list_messages(
                session, conversation, limit=limit + 1, after_id=after, newest_first=newest_first
            )
            return _page([item_json(m, conversation) for m in messages], limit)
        case "threads.update":
            conversation = await _thread(session, user_id, params)
            title = _checked(
                "title", params.get("title") or "", max_length=CONVERSATION_TITLE_MAX_LENGTH, required=False
            )
            await store.rename_conversation(session, conversation, title)
            return thread_json(conversation)
        case "threads.delete":
            await store.delete_conversation(session, await _thread(session, user_id, params))
            return {}
        case "items.feedback":
            await _thread(session, user_id, params)
            return {}
    raise UnsupportedChatKitRequest(f"Unsupported ChatKit request type: {request.type}")


async def prepare_stream(
    session: AsyncSession, user_id: int, settings: Settings, request: ChatKitRequest
) -> list[dict[str, Any]]:
    """Run the turn (and any tools) before streaming, so the request's DB session is never used by the stream.

    Returns the ChatKit events in order: [thread.created], user item done, stream options, assistant item
    added/updated/done.
    """
    params = request.params
    text = _user_text(params)
    events: list[dict[str, Any]] = []
    conversation_id = None if request.type == "threads.create" else (await _thread(session, user_id, params)).id
    turn = await store.run_turn(session, user_id, settings, text, conversation_id)
    conversation = turn.conversation
    if request.type == "threads.create":
        events.append({"type": "thread.created", "thread": thread_json(conversation)})
    events.append({"type": "thread.item.done", "item": item_json(turn.user_message, conversation)})
    events.append({"type": "stream_options", "stream_options": {"allow_cancel": False}})
    assistant = item_json(turn.assistant_message, conversation)
    text_part = assistant["content"][0]
    events.append({"type": "thread.item.added", "item": {**assistant, "content": []}})
    events.append(
        {
            "type": "thread.item.updated",
            "item_id": assistant["id"],
            "update": {
                "type": "assistant_message.content_part.added",
                "content_index": 0,
                "content": {"type": "output_text", "text": "", "annotations": []},
            },
        }
    )
    events.append(
        {
            "type": "thread.item.updated",
            "item_id": assistant["id"],
            "update": {
                "type": "assistant_message.content_part.text_delta",
                "content_index": 0,
                "delta": text_part["text"],
            },
        }
    )
    events.append(
        {
            "type": "thread.item.updated",
            "item_id": assistant["id"],
            "update": {"type": "assistant_message.content_part.done", "content_index": 0, "content": text_part},
        }
    )
    events.append({"type": "thread.item.done", "item": assistant})
    return events


async def stream_events(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield sse(event)


Kind = Literal["streaming", "json"]


def kind_of(request: ChatKitRequest) -> Kind:
    return "streaming" if request.type in STREAMING_TYPES else "json"
