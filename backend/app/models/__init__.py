"""ORM models. Import them from here so every mapper is registered before use."""

from app.models.base import Base
from app.models.conversation import Conversation, Message
from app.models.limits import AssistantTurn, LoginFailures
from app.models.task import Task
from app.models.user import User

__all__ = ["AssistantTurn", "Base", "Conversation", "LoginFailures", "Message", "Task", "User"]
