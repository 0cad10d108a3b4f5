"""Password hashing bounded per process.

argon2id (64 MiB, t=3, p=4) costs tens of milliseconds of CPU per call. Unbounded, a flood of login
attempts queues hashes on the shared thread pool and starves every other request, so at most `slots`
hashes run at once (sized to the pod's CPUs) on their own threads, and the excess is refused at once.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1


class HashingBusy(Exception):
    """Every hashing slot is taken; the caller answers 429 with Retry-After."""

    retry_after = RETRY_AFTER_SECONDS


class PasswordHashing:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._semaphore = asyncio.Semaphore(self.slots)
        self._executor = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="password-hash")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run a hashing call off the event loop, or raise HashingBusy without waiting."""
        if self._semaphore.locked():
            raise HashingBusy
        async with self._semaphore:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
