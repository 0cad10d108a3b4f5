"""Password hashing bounded per process.

argon2id (64 MiB, t=3, p=4) costs tens to hundreds of milliseconds of CPU per call. Unbounded, a flood
of login attempts queues hashes on the shared thread pool and starves every other request, so at most
`slots` hashes run at once (sized to the pod's CPUs) on their own threads, and the excess is refused at
once. Those threads also run at the lowest CPU priority: when hashing saturates the pod's CPUs, the
event loop serving every other request still gets the CPU first.

A flood keeps every slot busy, and refused at once, the owner of an account would be refused too. So
a login from a known device (a valid device cookie) may wait briefly for the next free slot, ahead of
everyone else: a slot that frees up goes to the longest-waiting known device, and unknown clients are
refused while any known device waits. One such wait per account at a time, so an attacker who owns an
account (and so holds a device cookie for it) cannot queue ahead of everyone with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import status

from app.core.errors import ApiError

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1
HASHING_NICENESS = 19  # Linux nice values are per thread; argon2's own lane threads inherit it
PRIORITY_WAIT_SECONDS = 10.0  # a known device waits at most this long for a slot, then gets 429 like anyone
PRIORITY_WAITERS_PER_SLOT = 8  # beyond this queue length known devices are refused at once too


def _lower_thread_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or a sandbox forbids it: still correct
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class HashingBusy(ApiError):
    """Every hashing slot is taken."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "The server is busy checking passwords; retry shortly"
    default_retry_after = RETRY_AFTER_SECONDS


class PasswordHashing:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = self.slots
        self._waiters: deque[asyncio.Future[None]] = deque()  # known devices, oldest first
        self._priority_owners: set[str] = set()  # accounts with a known-device login waiting or hashing
        self._executor = ThreadPoolExecutor(
            max_workers=self.slots, thread_name_prefix="password-hash", initializer=_lower_thread_priority
        )

    def _may_wait(self, priority_for: str | None) -> bool:
        return (
            priority_for is not None
            and priority_for not in self._priority_owners
            and len(self._waiters) < self.slots * PRIORITY_WAITERS_PER_SLOT
        )

    def refuse_if_busy(self, priority_for: str | None = None) -> None:
        """Raise HashingBusy now, before the caller spends database round trips on a request it would refuse.

        `priority_for` (the account, for a login from a known device) lets the caller wait for a slot instead.
        """
        if (self._free == 0 or self._waiters) and not self._may_wait(priority_for):
            raise HashingBusy

    async def run(self, function: Callable[..., T], *args: object, priority_for: str | None = None) -> T:
        """Run a hashing call off the event loop, or raise HashingBusy (at once, or after a known device's wait)."""
        owner = priority_for if self._may_wait(priority_for) else None
        if owner is not None:
            self._priority_owners.add(owner)
        try:
            await self._acquire(may_wait=owner is not None)
            try:
                return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
            finally:
                self._release()
        finally:
            if owner is not None:
                self._priority_owners.discard(owner)

    async def _acquire(self, *, may_wait: bool) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        if not may_wait:
            raise HashingBusy
        handed_over: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(handed_over)
        try:
            await asyncio.wait_for(asyncio.shield(handed_over), PRIORITY_WAIT_SECONDS)
        except BaseException as error:
            if handed_over.done():
                self._release()  # the slot arrived just as the wait ended: pass it on
            else:
                handed_over.cancel()  # _release skips it
            if isinstance(error, TimeoutError):
                raise HashingBusy from None
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes straight to the longest-waiting known device
                return
        self._free += 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
