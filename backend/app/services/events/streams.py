"""The process's open streams, by user and by client address, with their caps."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from fastapi import status

from app.core.errors import ApiError
from app.services.events.subscriptions import SUBSCRIBER_QUEUE_SIZE, Subscription

STREAM_LIMIT_RETRY_AFTER_SECONDS = 30


class StreamLimitReached(ApiError):
    """Too many open streams for this user, this client address or this process; the detail says which."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_retry_after = STREAM_LIMIT_RETRY_AFTER_SECONDS


class OpenStreams:
    """Open streams per user, counted per client address too: one person's share, however many accounts
    they sign up, and the process's total."""

    def __init__(
        self,
        *,
        queue_size: int = SUBSCRIBER_QUEUE_SIZE,
        max_per_user: int = 10,
        max_per_pod: int = 1000,
        max_per_ip: int = 100,
    ) -> None:
        self.queue_size = queue_size
        self.max_per_user = max_per_user
        self.max_per_pod = max_per_pod
        self.max_per_ip = max_per_ip
        self._by_user: dict[int, set[Subscription]] = defaultdict(set)
        self._per_address: Counter[str] = Counter()

    def check_capacity(self, user_id: int, address: str | None = None) -> None:
        """Raise StreamLimitReached when one more stream for this user, or this client address, would exceed
        a cap (per user, per address, per process)."""
        if len(self._by_user.get(user_id, ())) >= self.max_per_user:
            raise StreamLimitReached(f"Too many open event streams for this user (limit {self.max_per_user})")
        if address is not None and self._per_address[address] >= self.max_per_ip:
            raise StreamLimitReached(f"Too many open event streams from this address (limit {self.max_per_ip})")
        if self.count() >= self.max_per_pod:
            raise StreamLimitReached(f"Too many open event streams on this server (limit {self.max_per_pod})")

    def open(self, user_id: int, token_version: int = 0, address: str | None = None) -> Subscription:
        """A new stream's queue; raises StreamLimitReached over a cap."""
        self.check_capacity(user_id, address)
        subscription = Subscription(user_id, self.queue_size, token_version, address)
        self._by_user[user_id].add(subscription)
        if address is not None:
            self._per_address[address] += 1
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """Forget a stream (the route and a revocation may both let go: counted once)."""
        subscribers = self._by_user.get(subscription.user_id)
        if subscribers is not None and subscription in subscribers:
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_user[subscription.user_id]
            if subscription.address is not None:
                self._per_address[subscription.address] -= 1
                if self._per_address[subscription.address] <= 0:
                    del self._per_address[subscription.address]

    def of_user(self, user_id: int) -> tuple[Subscription, ...]:
        return tuple(self._by_user.get(user_id, ()))

    def all(self) -> Iterator[Subscription]:
        """Every open stream (a snapshot: callers may close and remove streams while iterating)."""
        for subscribers in tuple(self._by_user.values()):
            yield from tuple(subscribers)

    def count(self) -> int:
        return sum(len(subscribers) for subscribers in self._by_user.values())

    def close_all(self) -> None:
        for subscription in self.all():
            subscription.close()
        self._by_user.clear()
        self._per_address.clear()
