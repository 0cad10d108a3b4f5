"""Publishing a task event: pg_notify in the writer's own transaction (delivered on commit, dropped on rollback)."""

from __future__ import annotations

import json
from typing import Literal

from psycopg import AsyncConnection

CHANNEL = "task_events"
EventType = Literal["created", "updated", "deleted"]
TASK_EVENT_TYPES = frozenset({"created", "updated", "deleted"})
_NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', %s)"


async def publish_task_event(connection: AsyncConnection, *, user_id: int, type: EventType, task_id: int) -> None:
    """Queue a task event in the connection's open transaction (ids only: NOTIFY payloads cap at 8000 bytes)."""
    payload = json.dumps({"user_id": user_id, "type": type, "task_id": task_id})
    await connection.execute(_NOTIFY_SQL, (payload,), prepare=True)
