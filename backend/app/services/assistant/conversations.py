"""Conversation store and one chat turn: used by /api/chat and /api/chatkit.

Everything lives in PostgreSQL and is reloaded per request, so any replica can serve the next turn.
The user's message is committed before the model is called: a provider failure never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import status
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import ApiError
from app.models.base import utc_now
from app.models.conversation import CONVERSATION_TITLE_MAX_LENGTH, Conversation, Message
from app.services.assistant.agent import ProviderProblem, run_agent
from app.services.assistant.offline import respond_offline
from app.services.assistant.turns import exclusive_turn

logger = logging.getLogger("taskpilot.assistant")

HISTORY_MESSAGES = 20  # earlier turns sent to the model; older ones stay stored but unsent
TITLE_LENGTH = 80


class ConversationNotFound(ApiError):
    """No such conversation for this user (another user's looks the same)."""

    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Conversation not found"

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


@dataclass
class TurnResult:
    conversation: Conversation
    user_message: Message
    assistant_message: Message
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reply(self) -> str:
        return self.assistant_message.content


def offline_mode(settings: Settings) -> bool:
    return not settings.openai_api_key.strip()


async def get_conversation(session: AsyncSession, user_id: int, conversation_id: int) -> Conversation:
    if not 0 < conversation_id <= 2**31 - 1:
        raise ConversationNotFound(conversation_id)
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
    )
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation


async def create_conversation(session: AsyncSession, user_id: int, title: str = "") -> Conversation:
    conversation = Conversation(user_id=user_id, title=title[:CONVERSATION_TITLE_MAX_LENGTH])
    session.add(conversation)
    await session.flush()
    return conversation


async def list_conversations(
    session: AsyncSession, user_id: int, *, limit: int = 50, after_id: int | None = None, newest_first: bool = True
) -> list[Conversation]:
    query = select(Conversation).where(Conversation.user_id == user_id)
    if after_id is not None:
        query = query.where(Conversation.id < after_id if newest_first else Conversation.id > after_id)
    order = Conversation.id.desc() if newest_first else Conversation.id.asc()
    return list((await session.scalars(query.order_by(order).limit(limit))).all())


async def list_messages(
    session: AsyncSession,
    conversation: Conversation,
    *,
    limit: int = 200,
    after_id: int | None = None,
    newest_first: bool = False,
) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id < after_id if newest_first else Message.id > after_id)
    order = Message.id.desc() if newest_first else Message.id.asc()
    return list((await session.scalars(query.order_by(order).limit(limit))).all())


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> None:
    await session.delete(conversation)
    await session.commit()


async def rename_conversation(session: AsyncSession, conversation: Conversation, title: str) -> None:
    conversation.title = title[:CONVERSATION_TITLE_MAX_LENGTH]
    await session.commit()


async def _history(session: AsyncSession, conversation_id: int) -> list[dict[str, str]]:
    rows = (
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(HISTORY_MESSAGES)
        )
    ).all()
    return [{"role": row.role, "content": row.content} for row in reversed(rows)]


async def run_turn(
    session: AsyncSession, user_id: int, settings: Settings, message: str, conversation_id: int | None = None
) -> TurnResult:
    """Store the user's message, answer it (model or offline interpreter), store and return the reply.

    Raises TurnInProgress when the user already has a turn running (on any replica).
    """
    async with exclusive_turn(session, user_id, settings.assistant_turn_timeout_seconds):
        return await _run_turn(session, user_id, settings, message, conversation_id)


async def _run_turn(
    session: AsyncSession, user_id: int, settings: Settings, message: str, conversation_id: int | None
) -> TurnResult:
    if conversation_id is None:
        conversation = await create_conversation(session, user_id, _title_from(message))
        history: list[dict[str, str]] = []
    else:
        conversation = await get_conversation(session, user_id, conversation_id)
        history = await _history(session, conversation.id)
    user_message = Message(conversation_id=conversation.id, role="user", content=message, actions=[])
    session.add(user_message)
    await _touch(session, conversation.id)
    await session.commit()

    conversation_id = conversation.id  # tools may roll back, which expires loaded objects

    reply, actions = await _answer(session, user_id, settings, history, message)

    assistant_message = Message(conversation_id=conversation_id, role="assistant", content=reply, actions=actions)
    session.add(assistant_message)
    await _touch(session, conversation_id)
    await session.commit()
    await session.refresh(conversation)
    await session.refresh(user_message)
    return TurnResult(conversation, user_message, assistant_message, actions)


async def _answer(
    session: AsyncSession, user_id: int, settings: Settings, history: list[dict[str, str]], message: str
) -> tuple[str, list[dict[str, Any]]]:
    if offline_mode(settings):
        return await respond_offline(session, user_id, message)
    actions: list[dict[str, Any]] = []  # filled as tools run, so a timed-out turn still reports them
    try:
        async with asyncio.timeout(settings.assistant_turn_timeout_seconds):
            result = await run_agent(session, user_id, settings, history, message, actions)
        return result.reply, result.actions
    except TimeoutError:
        logger.warning("assistant turn deadline", extra={"fields": {"user_id": user_id}})
        await session.rollback()
        return (
            f"I ran out of time ({settings.assistant_turn_timeout_seconds:g} s) before finishing. "
            "Changes listed here were made; please ask again for the rest."
        ), actions
    except ProviderProblem as problem:
        logger.warning("assistant provider problem", extra={"fields": {"reason": problem.reason, "user_id": user_id}})
        await session.rollback()
        return problem.reply, getattr(problem, "actions", [])
    except Exception as error:
        logger.warning(
            "assistant failed", exc_info=error, extra={"fields": {"reason": type(error).__name__, "user_id": user_id}}
        )
        await session.rollback()
        return "Something went wrong while answering. Your message is saved; please try again.", []


async def _touch(session: AsyncSession, conversation_id: int) -> None:
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utc_now()))


def _title_from(message: str) -> str:
    title = " ".join(message.split())
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"
