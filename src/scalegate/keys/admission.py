"""Admission while every key is saturated: waiters served strictly by priority, then arrival.

One dispatcher task per pool walks the waiters in (priority, arrival) order whenever capacity
may have appeared (a settlement refunded tokens, a bucket refilled far enough, a cooldown
ended, a key came back). A waiter that cannot be admitted *blocks its candidate keys* for
everyone behind it in that pass, so a lower-priority request never takes capacity a
higher-priority one is waiting for, while requests for other keys (another model, another
class) still flow. Each waiter has a deadline; past it, it is refused with an honest
``retry-after``; the refusal is worded (429 or 529) by the pool from why the waiter's last
attempt found no key (``Waiter.last_reason``: a limit, or keys ejected/disabled). When the
queue is full, the lowest-priority, newest waiter is shed first.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from scalegate.clock import Clock
from scalegate.priority import Priority

logger = logging.getLogger(__name__)

L = TypeVar("L")

# The dispatcher never spins faster than this while waiting on a refill.
_MIN_WAKE = 0.002


@dataclass(eq=False, slots=True)
class Waiter(Generic[L]):
    priority: Priority
    seq: int
    deadline: float
    key_ids: frozenset[str]
    attempt: Callable[[Waiter[L], frozenset[str]], Awaitable[tuple[L | None, float]]]
    future: asyncio.Future[L] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    last_wait: float = 0.0
    last_reason: str | None = None  # why the last attempt found no key (set by the attempt)

    @property
    def order(self) -> tuple[int, int]:
        return (int(self.priority), self.seq)


class WaitQueue(Generic[L]):
    """The waiters of one pool and the task that admits them."""

    def __init__(
        self,
        clock: Clock,
        max_waiters: int,
        refuse: Callable[[Waiter[L], str], BaseException],
        release: Callable[[L], Awaitable[None]],
        all_keys: Callable[[], frozenset[str]],
    ) -> None:
        self._clock = clock
        self._max = max_waiters
        self._refuse = refuse
        self._release = release
        self._all_keys = all_keys
        self._waiters: list[Waiter[L]] = []  # sorted by order
        self._orders: list[tuple[int, int]] = []
        self._deadlines: list[tuple[float, int, Waiter[L]]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.shed_total: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    @property
    def closing(self) -> bool:
        """Shutting down: waiters are refused because the gateway stops, not for capacity."""
        return self._closing

    def has_waiters_at_or_above(self, priority: Priority) -> bool:
        return bool(self._orders) and self._orders[0][0] <= int(priority)

    def depth_by_priority(self) -> dict[str, int]:
        depth = {p.label: 0 for p in Priority}
        for w in self._waiters:
            depth[w.priority.label] += 1
        return depth

    def ahead_of(self, waiter: Waiter[L]) -> Sequence[Waiter[L]]:
        idx = bisect.bisect_left(self._orders, waiter.order)
        return self._waiters[:idx]

    def wake(self) -> None:
        if self._waiters:
            self._wake.set()

    def enqueue(
        self,
        priority: Priority,
        deadline: float,
        key_ids: frozenset[str],
        attempt: Callable[[Waiter[L], frozenset[str]], Awaitable[tuple[L | None, float]]],
        last_wait: float,
        last_reason: str | None = None,
    ) -> Waiter[L]:
        waiter = Waiter(
            priority,
            next(self._seq),
            deadline,
            key_ids,
            attempt,
            last_wait=last_wait,
            last_reason=last_reason,
        )
        if self._closing:
            waiter.future.set_exception(self._refuse(waiter, "shutdown"))
            return waiter
        if len(self._waiters) >= self._max:
            lowest = self._waiters[-1]
            if lowest.priority <= priority:
                self._count_shed(priority)
                waiter.future.set_exception(self._refuse(waiter, "queue_full"))
                return waiter
            self._remove(lowest)
            self._count_shed(lowest.priority)
            lowest.future.set_exception(self._refuse(lowest, "shed"))
        idx = bisect.bisect_left(self._orders, waiter.order)
        self._orders.insert(idx, waiter.order)
        self._waiters.insert(idx, waiter)
        heapq.heappush(self._deadlines, (deadline, waiter.seq, waiter))
        self._ensure_task()
        self._wake.set()
        return waiter

    def discard(self, waiter: Waiter[L]) -> None:
        """Forget a waiter whose caller went away. Its future is cancelled too: the caller
        may have left before it awaited the future (a cancellation that lands in the store
        call announcing the wait), and a pass already under way must then release what it
        reserves for the waiter rather than hand it to nobody."""
        self._remove(waiter)
        if not waiter.future.done():
            waiter.future.cancel()

    def _count_shed(self, priority: Priority) -> None:
        self.shed_total[priority.label] = self.shed_total.get(priority.label, 0) + 1

    def _remove(self, waiter: Waiter[L]) -> None:
        idx = bisect.bisect_left(self._orders, waiter.order)
        if idx < len(self._waiters) and self._waiters[idx] is waiter:
            del self._waiters[idx]
            del self._orders[idx]

    def _ensure_task(self) -> None:
        if self._closing:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="scalegate-admission"
            )

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            # The flag and the wake-up end the loop even if a cancellation were swallowed by
            # a library call in flight (seen with a Redis call on Python 3.11).
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for waiter in list(self._waiters):
            self._remove(waiter)
            if not waiter.future.done():
                waiter.future.set_exception(self._refuse(waiter, "shutdown"))

    def _expire(self, now: float) -> float:
        """Refuse waiters past their deadline; return seconds to the next deadline."""
        while self._deadlines:
            deadline, _, waiter = self._deadlines[0]
            if waiter.future.done():
                heapq.heappop(self._deadlines)
                continue
            if deadline > now:
                return deadline - now
            heapq.heappop(self._deadlines)
            self._remove(waiter)
            self._count_shed(waiter.priority)
            waiter.future.set_exception(self._refuse(waiter, "deadline"))
        return float("inf")

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()
            try:
                next_wake = await self._pass()
            except Exception:  # pragma: no cover - a bug here must not stall every waiter
                logger.exception("admission dispatcher pass failed")
                next_wake = 0.1
            if not self._waiters:
                await self._wake.wait()
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # lands as the timeout fires, and close() would then wait for this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(next_wake, _MIN_WAKE)):
                    await self._wake.wait()

    async def _pass(self) -> float:
        """Admit whoever can be admitted now, in order; then refuse those overdue when the
        pass began: each is refused for what an attempt made after its deadline found, not
        for what one found before a change the pass did not see (a key disabled meanwhile
        turns a 429 into a 529)."""
        began = self._clock.monotonic()
        next_wake = float("inf")
        blocked: set[str] = set()
        everything = self._all_keys()
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._remove(waiter)
                continue
            allowed = waiter.key_ids - blocked
            if allowed:
                try:
                    lease, wait = await waiter.attempt(waiter, frozenset(allowed))
                except Exception as exc:  # e.g. the store's fail-closed 529: answer it now
                    self._remove(waiter)
                    if not waiter.future.done():
                        waiter.future.set_exception(exc)
                    continue
                if lease is not None:
                    self._remove(waiter)
                    if waiter.future.done():  # the caller left while we reserved
                        await self._release(lease)
                    else:
                        waiter.future.set_result(lease)
                    continue
                waiter.last_wait = wait
                next_wake = min(next_wake, wait)
            blocked |= waiter.key_ids
            if blocked >= everything:
                break
        return min(next_wake, self._expire(began))
