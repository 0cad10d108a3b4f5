"""Task change events: published inside the writer's transaction, fanned out per process.

Publishing (publish.py): `publish_task_event` runs pg_notify in the caller's transaction, so PostgreSQL
delivers the event on commit and drops it on rollback. The payload holds ids only (NOTIFY payloads cap
at 8000 bytes); the SSE route loads the task itself.

Fan-out (bus.py): each process runs one `TaskEventBus`. Its listener (listener.py) holds ONE dedicated
psycopg connection (outside the app's pools, autocommit) doing LISTEN, and dispatch.py hands every
notification to the queues (subscriptions.py) of that user's open streams (streams.py). Every replica
receives every commit, so a change made through any replica reaches subscribers on all of them.

No event ids and no replay: a client that reconnects (the browser does on every error) reloads its task
list, which is the one resync mechanism. Replaying from a per-process buffer could not work across
replicas anyway, and a full reload of one page of tasks is cheap.

Sessions: the listener also LISTENs for token revocations (services/sessions.py) and closes the revoked
user's streams; each stream also ends when its token expires (api/events.py). Open streams are capped
per user, per client address and per process (StreamLimitReached).

Gaps: when the listener connection drops (database restart, pg_terminate_backend, network), the listener
reconnects with capped exponential backoff and then broadcasts `resync` to every subscriber, because
notifications sent while nobody listened are gone. A subscriber whose queue is full (a stalled client)
gets its queue replaced by a single `resync` instead of growing without bound.

Lifespan (lifespan.py): the app starts the bus with its lifespan and ends every stream when draining begins.
"""

from app.services.events.bus import TaskEventBus
from app.services.events.lifespan import running_event_bus
from app.services.events.publish import CHANNEL, TASK_EVENT_TYPES, EventType, publish_task_event
from app.services.events.streams import STREAM_LIMIT_RETRY_AFTER_SECONDS, OpenStreams, StreamLimitReached
from app.services.events.subscriptions import RESYNC, SUBSCRIBER_QUEUE_SIZE, BusEvent, Subscription

__all__ = [
    "CHANNEL",
    "RESYNC",
    "STREAM_LIMIT_RETRY_AFTER_SECONDS",
    "SUBSCRIBER_QUEUE_SIZE",
    "TASK_EVENT_TYPES",
    "BusEvent",
    "EventType",
    "OpenStreams",
    "StreamLimitReached",
    "Subscription",
    "TaskEventBus",
    "publish_task_event",
    "running_event_bus",
]
