"""Password hashing bounded per process.

argon2id (64 MiB, t=3, p=4) costs tens to hundreds of milliseconds of CPU per call. Unbounded, a flood
of login attempts queues hashes on the shared thread pool and starves every other request, so at most
`slots` hashes run at once (sized to the pod's CPUs) on their own threads, and the excess is refused at
once. Those threads also run at the lowest CPU priority: when hashing saturates the pod's CPUs, the
event loop serving every other request still gets the CPU first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1
HASHING_NICENESS = 19  # Linux nice values are per thread; argon2's own lane threads inherit it


def _lower_thread_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or a sandbox forbids it: still correct
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class HashingBusy(Exception):
    """Every hashing slot is taken; the caller answers 429 with Retry-After."""

    retry_after = RETRY_AFTER_SECONDS


class PasswordHashing:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._semaphore = asyncio.Semaphore(self.slots)
        self._executor = ThreadPoolExecutor(
            max_workers=self.slots, thread_name_prefix="password-hash", initializer=_lower_thread_priority
        )

    def refuse_if_busy(self) -> None:
        """Raise HashingBusy now, before the caller spends database round trips on a request it would refuse."""
        if self._semaphore.locked():
            raise HashingBusy

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run a hashing call off the event loop, or raise HashingBusy without waiting."""
        self.refuse_if_busy()
        async with self._semaphore:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
