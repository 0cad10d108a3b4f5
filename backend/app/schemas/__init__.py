"""Pydantic request/response models shared by REST, assistant tools and events."""

from app.schemas.auth import AccountDeletionRequest, LoginRequest, SignupRequest, TokenResponse, UserRead
from app.schemas.chat import ChatAction, ChatRequest, ChatResponse
from app.schemas.conversations import ConversationRead, MessageRead
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate

__all__ = [
    "AccountDeletionRequest",
    "ChatAction",
    "ChatRequest",
    "ChatResponse",
    "ConversationRead",
    "LoginRequest",
    "MessageRead",
    "SignupRequest",
    "TaskCreate",
    "TaskRead",
    "TaskUpdate",
    "TokenResponse",
    "UserRead",
]
