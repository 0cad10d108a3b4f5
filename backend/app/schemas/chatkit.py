"""The ChatKit requests POST /api/chatkit serves, as one union on `type` (shapes follow the official chatkit.types).

Unknown fields are ignored (the ChatKit client may send more than we use); unknown request types are a 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.body_limits import json_body_budget
from app.models.conversation import CONVERSATION_TITLE_MAX_LENGTH, MESSAGE_MAX_LENGTH
from app.schemas.text import text_field

ThreadId = Annotated[str, Field(description='"thr_<number>"; any other value is a thread that does not exist (404)')]
Limit = Annotated[int | None, Field(description="Page size; the server clamps it to 1..100 (default 20)")]
Order = Literal["asc", "desc"]
# One message's text (all parts together, checked by the server) plus room for the protocol's own fields
# (part objects, tag data, metadata), which the schema leaves open.
CHATKIT_BODY_BYTES = json_body_budget(MESSAGE_MAX_LENGTH, structure=16 * 1024)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class InputText(_Loose):
    type: Literal["input_text"]
    text: text_field(MESSAGE_MAX_LENGTH, required=False, strip=False)  # type: ignore[valid-type]


class InputTag(_Loose):
    type: Literal["input_tag"]
    id: str
    text: text_field(MESSAGE_MAX_LENGTH, required=False, strip=False)  # type: ignore[valid-type]
    data: dict[str, Any] = Field(default_factory=dict)


class UserMessageInput(_Loose):
    content: list[Annotated[InputText | InputTag, Field(discriminator="type")]]
    attachments: list[str] = Field(default_factory=list)
    quoted_text: str | None = None
    inference_options: dict[str, Any] = Field(default_factory=dict)

    def text(self) -> str:
        """Plain text of the message: its input_text and input_tag parts, joined and trimmed."""
        return "".join(part.text for part in self.content).strip()


class ThreadRef(_Loose):
    thread_id: ThreadId


class NewThreadParams(_Loose):
    input: UserMessageInput


class AddUserMessageParams(ThreadRef):
    input: UserMessageInput


class ThreadListParams(_Loose):
    limit: Limit = None
    order: Order = "desc"
    after: str | None = None


class ItemsListParams(ThreadRef):
    limit: Limit = None
    order: Order = "desc"
    after: str | None = None


class ThreadUpdateParams(ThreadRef):
    title: text_field(CONVERSATION_TITLE_MAX_LENGTH, required=False, strip=False)  # type: ignore[valid-type]


class ItemFeedbackParams(ThreadRef):
    item_ids: list[str]
    kind: Literal["positive", "negative"]


class _Request(_Loose):
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadsCreate(_Request):
    type: Literal["threads.create"]
    params: NewThreadParams


class ThreadsAddUserMessage(_Request):
    type: Literal["threads.add_user_message"]
    params: AddUserMessageParams


class ThreadsGetById(_Request):
    type: Literal["threads.get_by_id"]
    params: ThreadRef


class ThreadsList(_Request):
    type: Literal["threads.list"]
    params: ThreadListParams = Field(default_factory=ThreadListParams)


class ItemsList(_Request):
    type: Literal["items.list"]
    params: ItemsListParams


class ThreadsUpdate(_Request):
    type: Literal["threads.update"]
    params: ThreadUpdateParams


class ThreadsDelete(_Request):
    type: Literal["threads.delete"]
    params: ThreadRef


class ItemsFeedback(_Request):
    type: Literal["items.feedback"]
    params: ItemFeedbackParams


ChatKitRequestBody = Annotated[
    ThreadsCreate
    | ThreadsAddUserMessage
    | ThreadsGetById
    | ThreadsList
    | ItemsList
    | ThreadsUpdate
    | ThreadsDelete
    | ItemsFeedback,
    Field(discriminator="type"),
]
