"""What a notification does to the open streams: a task event reaches its user's streams, a revocation
closes the revoked ones, and a gap in listening asks every stream to reload."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from app.services.events.publish import CHANNEL, TASK_EVENT_TYPES
from app.services.events.streams import OpenStreams
from app.services.events.subscriptions import RESYNC, BusEvent
from app.services.sessions import parse_revocation

logger = logging.getLogger("taskpilot.events")


def dispatch_task_event(streams: OpenStreams, payload: str) -> None:
    try:
        data = json.loads(payload)
        user_id, event_type, task_id = int(data["user_id"]), str(data["type"]), int(data["task_id"])
    except (ValueError, KeyError, TypeError):
        logger.warning("ignoring malformed %s payload: %.200s", CHANNEL, payload)
        return
    if event_type not in TASK_EVENT_TYPES:
        logger.warning("ignoring unknown event type %r", event_type)
        return
    event = BusEvent(event_type, user_id, task_id)
    for subscription in streams.of_user(user_id):
        subscription.offer(event)


def dispatch_revocation(
    streams: OpenStreams, payload: str, on_revoked: Callable[[int, int | None], None] | None = None
) -> None:
    """Close the user's streams opened with an older token version (all of them when the account is gone)."""
    parsed = parse_revocation(payload)
    if parsed is None:
        return
    user_id, version = parsed
    if on_revoked is not None:
        on_revoked(user_id, version)
    for subscription in streams.of_user(user_id):
        if version is None or subscription.token_version < version:  # None: the account is gone
            subscription.close()
            streams.remove(subscription)


def broadcast_resync(streams: OpenStreams, reason: str) -> None:
    event = BusEvent(RESYNC, None, reason=reason)
    for subscription in streams.all():
        subscription.offer(event)
