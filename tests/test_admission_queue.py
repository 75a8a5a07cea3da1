"""The wait queue alone: a waiter whose caller left is never handed a reservation."""

from __future__ import annotations

import asyncio

from scalegate.clock import ManualClock
from scalegate.keys.admission import Waiter, WaitQueue
from scalegate.priority import Priority

FAR = 1e12


async def test_a_pass_under_way_releases_what_it_reserved_for_a_waiter_that_left() -> None:
    """The caller left before it awaited its future (the cancellation landed in the store
    call that announces the wait), while a pass was reserving for it: the reservation goes
    back, it is not set on a future nobody awaits (that leaked one request's quota)."""
    released: list[str] = []
    in_attempt, go = asyncio.Event(), asyncio.Event()

    async def release(lease: str) -> None:
        released.append(lease)

    async def attempt(waiter: Waiter[str], allowed: frozenset[str]) -> tuple[str | None, float]:
        in_attempt.set()
        await go.wait()
        return "lease", 0.0

    queue: WaitQueue[str] = WaitQueue(
        ManualClock(),
        10,
        refuse=lambda waiter, why: RuntimeError(why),
        release=release,
        all_keys=lambda: frozenset({"k"}),
    )
    waiter = queue.enqueue(Priority.NORMAL, FAR, frozenset({"k"}), attempt, 1.0)
    await asyncio.wait_for(in_attempt.wait(), 5)
    queue.discard(waiter)
    assert len(queue) == 0
    go.set()
    for _ in range(1000):  # the dispatcher finishes its pass: state, not time, decides
        if released:
            break
        await asyncio.sleep(0)
    assert released == ["lease"]
    assert waiter.future.cancelled()
    await queue.close()
