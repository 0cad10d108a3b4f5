"""TaskEventBus: the process's listener, its open streams and the dispatch between them."""

from __future__ import annotations

from collections.abc import Callable

from app.services.events.dispatch import broadcast_resync, dispatch_revocation, dispatch_task_event
from app.services.events.listener import NotificationListener
from app.services.events.publish import CHANNEL
from app.services.events.streams import OpenStreams
from app.services.events.subscriptions import SUBSCRIBER_QUEUE_SIZE, Subscription
from app.services.sessions import REVOCATION_CHANNEL


class TaskEventBus:
    """Per-process LISTEN connection + per-user subscriber queues, with caps on open streams."""

    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = SUBSCRIBER_QUEUE_SIZE,
        max_streams_per_user: int = 10,
        max_streams_per_pod: int = 1000,
        max_streams_per_ip: int = 100,
        on_revoked: Callable[[int, int | None], None] | None = None,
        on_connected: Callable[[], None] | None = None,
    ):
        self.streams = OpenStreams(
            queue_size=queue_size,
            max_per_user=max_streams_per_user,
            max_per_pod=max_streams_per_pod,
            max_per_ip=max_streams_per_ip,
        )
        self.listener = NotificationListener(dsn, (CHANNEL, REVOCATION_CHANNEL), self.dispatch, self._connected)
        self._on_revoked = on_revoked
        self._on_connected = on_connected
        self._closed = False
        self._streams_closed = False

    # ---- streams ---------------------------------------------------------------------------
    def check_capacity(self, user_id: int, address: str | None = None) -> None:
        """Raise StreamLimitReached when one more stream for this user or this client address would exceed a cap."""
        self.streams.check_capacity(user_id, address)

    def subscribe(self, user_id: int, token_version: int = 0, address: str | None = None) -> Subscription:
        """A new stream's queue; raises StreamLimitReached over a cap."""
        if self._streams_closed:
            subscription = Subscription(user_id, self.streams.queue_size, token_version, address)
            subscription.close()  # draining: the stream sends its preamble and ends
            return subscription
        return self.streams.open(user_id, token_version, address)

    def unsubscribe(self, subscription: Subscription) -> None:
        self.streams.remove(subscription)

    def subscriber_count(self) -> int:
        return self.streams.count()

    def close_streams(self) -> None:
        """End every open stream now and every later one right after its preamble (shutdown)."""
        self._streams_closed = True
        self.streams.close_all()

    # ---- dispatch --------------------------------------------------------------------------
    def dispatch(self, channel: str, payload: str) -> None:
        if channel == REVOCATION_CHANNEL:
            self.dispatch_revocation(payload)
        else:
            self.dispatch_payload(payload)

    def dispatch_payload(self, payload: str) -> None:
        dispatch_task_event(self.streams, payload)

    def dispatch_revocation(self, payload: str) -> None:
        dispatch_revocation(self.streams, payload, self._on_revoked)

    def broadcast_resync(self, reason: str) -> None:
        broadcast_resync(self.streams, reason)

    def _connected(self, reconnected: bool) -> None:
        if self._on_connected is not None:
            self._on_connected()
        # Anything committed while nobody listened is lost: every open stream must reload.
        # (Also sent on the first connect: streams opened before it may have missed events.)
        self.broadcast_resync("listener_reconnected" if reconnected else "listener_connected")

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if not self._closed:
            self.listener.start()

    async def wait_listening(self, timeout: float) -> bool:
        return await self.listener.wait_listening(timeout)

    @property
    def listening(self) -> bool:
        return self.listener.listening

    @property
    def listener_pid(self) -> int | None:
        return self.listener.pid

    @property
    def application_name(self) -> str:
        return self.listener.application_name

    @property
    def running(self) -> bool:
        """Started and not yet stopped: streams can be served."""
        return self.listener.started and not self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        self._closed = True
        self.close_streams()
        await self.listener.stop()
