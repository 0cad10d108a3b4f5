"""The bounded hashing pool through PasswordHashing itself: how many slots, who is refused at once, who
may wait and for how long, who gets a freed slot, and where the hashes run (test_login_limits.py covers
the same through the login route)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from app.core import hashing
from app.core.hashing import (
    HASHING_NICENESS,
    PRIORITY_WAITERS_PER_SLOT,
    RETRY_AFTER_SECONDS,
    HashingBusy,
    PasswordHashing,
)


@pytest.fixture
def pool():
    pools: list[PasswordHashing] = []

    def make(slots: int) -> PasswordHashing:
        pools.append(PasswordHashing(slots))
        return pools[-1]

    yield make
    for made in pools:
        made.shutdown()


class Blocker:
    """A hashing call that holds its slot until released."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, label: str = "done") -> str:
        self.started.set()
        self.release.wait(10)
        return label


async def _occupy(hashing_pool: PasswordHashing, count: int) -> tuple[Blocker, list[asyncio.Task[str]]]:
    blocker = Blocker()
    tasks = [asyncio.create_task(hashing_pool.run(blocker)) for _ in range(count)]
    await asyncio.sleep(0.05)
    assert await asyncio.to_thread(blocker.started.wait, 5)
    return blocker, tasks


def test_at_least_one_slot():
    assert HashingBusy().retry_after == RETRY_AFTER_SECONDS == 1
    for slots, expected in ((0, 1), (-2, 1), (1, 1), (3, 3)):
        made = PasswordHashing(slots)
        try:
            assert made.slots == expected
        finally:
            made.shutdown()


async def test_hashes_run_on_their_own_low_priority_threads(pool):
    hashing_pool = pool(2)

    def where() -> tuple[str, int]:
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    name, niceness = await hashing_pool.run(where)
    assert name.startswith("password-hash")
    assert niceness == HASHING_NICENESS == 19
    assert await hashing_pool.run(lambda a, b: a + b, 2, 3) == 5


async def test_every_slot_runs_at_once_and_the_next_caller_is_refused(pool):
    hashing_pool = pool(2)
    hashing_pool.refuse_if_busy()
    blocker, tasks = await _occupy(hashing_pool, 2)
    try:
        with pytest.raises(HashingBusy):
            hashing_pool.refuse_if_busy()
        with pytest.raises(HashingBusy):
            await hashing_pool.run(lambda: "refused")
        hashing_pool.refuse_if_busy(priority_for="account:a")  # a known device may wait instead
    finally:
        blocker.release.set()
    assert await asyncio.gather(*tasks) == ["done", "done"]
    hashing_pool.refuse_if_busy()
    assert await hashing_pool.run(lambda: "free") == "free"


async def test_a_freed_slot_goes_to_the_longest_waiting_known_device(pool):
    hashing_pool = pool(1)
    blocker, tasks = await _occupy(hashing_pool, 1)
    order: list[str] = []
    first = asyncio.create_task(hashing_pool.run(lambda: order.append("a") or "a", priority_for="account:a"))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(hashing_pool.run(lambda: order.append("b") or "b", priority_for="account:b"))
    await asyncio.sleep(0.02)
    with pytest.raises(HashingBusy):
        hashing_pool.refuse_if_busy()  # unknown clients: refused while a known device waits
    with pytest.raises(HashingBusy):
        hashing_pool.refuse_if_busy(priority_for="account:a")  # one wait per account
    hashing_pool.refuse_if_busy(priority_for="account:c")
    blocker.release.set()
    assert await asyncio.gather(first, second, *tasks) == ["a", "b", "done"]
    assert order == ["a", "b"]
    hashing_pool.refuse_if_busy(priority_for="account:a")  # its wait is over
    assert await hashing_pool.run(lambda: "again", priority_for="account:a") == "again"


async def test_the_waiting_line_is_bounded_per_slot(pool):
    hashing_pool = pool(1)
    blocker, tasks = await _occupy(hashing_pool, 1)
    waiters = [
        asyncio.create_task(hashing_pool.run(lambda: "w", priority_for=f"account:{n}"))
        for n in range(PRIORITY_WAITERS_PER_SLOT - 1)
    ]
    await asyncio.sleep(0.05)
    hashing_pool.refuse_if_busy(priority_for="account:last")  # one place left
    waiters.append(asyncio.create_task(hashing_pool.run(lambda: "w", priority_for="account:last")))
    await asyncio.sleep(0.05)
    with pytest.raises(HashingBusy):
        hashing_pool.refuse_if_busy(priority_for="account:one-too-many")
    with pytest.raises(HashingBusy):
        await hashing_pool.run(lambda: "x", priority_for="account:one-too-many")
    blocker.release.set()
    assert await asyncio.gather(*waiters) == ["w"] * PRIORITY_WAITERS_PER_SLOT
    await asyncio.gather(*tasks)


async def test_a_known_device_waits_only_so_long_and_its_slot_is_not_lost(pool, monkeypatch):
    monkeypatch.setattr(hashing, "PRIORITY_WAIT_SECONDS", 0.2)
    hashing_pool = pool(1)
    blocker, tasks = await _occupy(hashing_pool, 1)
    with pytest.raises(HashingBusy):
        await asyncio.wait_for(hashing_pool.run(lambda: "late", priority_for="account:a"), 5)
    # It may wait again, and a cancelled waiter gives its place up too.
    hashing_pool.refuse_if_busy(priority_for="account:a")
    cancelled = asyncio.create_task(hashing_pool.run(lambda: "never", priority_for="account:b"))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    blocker.release.set()
    await asyncio.gather(*tasks)
    hashing_pool.refuse_if_busy()  # the slot is free again: nobody is left waiting
    assert await hashing_pool.run(lambda: "free") == "free"


async def test_a_slot_that_arrives_as_the_wait_ends_is_passed_on(pool, monkeypatch):
    monkeypatch.setattr(hashing, "PRIORITY_WAIT_SECONDS", 0.3)
    hashing_pool = pool(1)
    blocker, tasks = await _occupy(hashing_pool, 1)
    waiter = asyncio.create_task(hashing_pool.run(lambda: "w", priority_for="account:a"))
    await asyncio.sleep(0.05)
    blocker.release.set()
    assert await waiter == "w"
    await asyncio.gather(*tasks)
    # Two callers in a row each get the one slot: nothing leaked or doubled.
    assert await hashing_pool.run(lambda: 1) == 1
    blocker2, tasks2 = await _occupy(hashing_pool, 1)
    with pytest.raises(HashingBusy):
        await hashing_pool.run(lambda: 2)
    blocker2.release.set()
    await asyncio.gather(*tasks2)


async def test_after_shutdown_nothing_more_is_hashed(pool):
    hashing_pool = pool(1)
    hashing_pool.shutdown()
    with pytest.raises(RuntimeError):
        await hashing_pool.run(lambda: "late")


async def test_every_slot_is_given_back(pool):
    hashing_pool = pool(2)
    for _ in range(2):  # twice: both slots come back after each round
        blocker, tasks = await _occupy(hashing_pool, 2)
        blocker.release.set()
        assert await asyncio.gather(*tasks) == ["done", "done"]


@pytest.mark.parametrize("failure", ["missing", "refused"])
async def test_hashing_works_where_thread_priorities_cannot_be_set(pool, monkeypatch, failure):
    if failure == "missing":  # not Linux
        monkeypatch.delattr(os, "setpriority")
    else:  # a sandbox forbids it

        def refuse(*args: object) -> None:
            raise PermissionError("not allowed")

        monkeypatch.setattr(os, "setpriority", refuse)
    assert await pool(1).run(lambda: "hashed") == "hashed"


async def test_shutdown_does_not_wait_for_a_running_hash(pool):
    hashing_pool = pool(1)
    blocker, tasks = await _occupy(hashing_pool, 1)
    started = time.monotonic()
    hashing_pool.shutdown()
    assert time.monotonic() - started < 1.0
    blocker.release.set()
    assert await asyncio.gather(*tasks) == ["done"]
