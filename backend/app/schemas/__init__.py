"""Pydantic request/response models shared by REST, assistant tools and events."""

from app.schemas.auth import AccountDeletionRequest, LoginRequest, SignupRequest, TokenResponse, UserRead
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate

__all__ = [
    "AccountDeletionRequest",
    "LoginRequest",
    "SignupRequest",
    "TaskCreate",
    "TaskRead",
    "TaskUpdate",
    "TokenResponse",
    "UserRead",
]
