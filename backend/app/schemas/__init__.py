"""Pydantic request/response models shared by REST, assistant tools and events."""

from app.schemas.auth import LoginRequest, SignupRequest, TokenResponse, UserRead
from app.schemas.tasks import TaskCreate, TaskRead, TaskUpdate

__all__ = ["LoginRequest", "SignupRequest", "TaskCreate", "TaskRead", "TaskUpdate", "TokenResponse", "UserRead"]
