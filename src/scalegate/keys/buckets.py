"""Limit primitives: a continuous token bucket (minute limits) and a sliding window (hour/day).

Both answer the same two questions: how long until ``amount`` fits (``wait``), and how full
the limit is (``used``). Neither knows about keys; :mod:`scalegate.keys.quota` composes them.
"""

from __future__ import annotations

from collections import deque


class TokenBucket:
    """Capacity ``limit`` refilled continuously at ``limit / period`` per second.

    The level may go negative when a settlement charges more than was reserved (the provider
    does the same: usage beyond the estimate is debt repaid by the refill).
    """

    __slots__ = ("capacity", "level", "margin", "period", "rate", "skew", "updated")

    def __init__(
        self,
        limit: float,
        now: float,
        period: float = 60.0,
        skew: float = 0.0,
        empty: bool = False,
    ) -> None:
        self.capacity = float(limit)
        self.period = period
        self.skew = skew
        self.rate = self.capacity / period
        self.level = 0.0 if empty else self.capacity
        self.updated = now
        # Refill the provider may not have credited yet: its deduction happens a network
        # hop after ours, and that hop's length varies. Kept back from every admission.
        self.margin = self.rate * skew

    def resize(self, limit: float, now: float) -> None:
        """A new capacity (a learned limit), keeping what is used; the refill rate and the
        skew margin follow the new capacity."""
        self._refill(now)
        used = self.capacity - self.level
        self.capacity = float(limit)
        self.rate = self.capacity / self.period
        self.margin = self.rate * self.skew
        self.level = self.capacity - used

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` fits (0 when it fits now)."""
        self._refill(now)
        # The margin never makes a request that fits the capacity unadmittable.
        need = min(self.capacity, amount + self.margin) if amount <= self.capacity else amount
        if self.level >= need:
            return 0.0
        return (need - self.level) / self.rate

    def probe(self, amount: float, now: float) -> tuple[float, float]:
        """``wait(amount)`` and ``used()`` at once: what selection asks of every candidate
        (written out, no calls: this runs for each limit of each key offered)."""
        level, capacity = self.level, self.capacity
        if now > self.updated:
            level += (now - self.updated) * self.rate
            if level > capacity:
                level = capacity
            self.level, self.updated = level, now
        need = amount
        if amount <= capacity:
            need += self.margin
            if need > capacity:
                need = capacity
        if level >= need:
            return 0.0, capacity - level
        return (need - level) / self.rate, capacity - level

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Refund (positive) or charge (negative) ``amount``; never above capacity."""
        self._refill(now)
        self.level = min(self.capacity, self.level + amount)

    def used(self, now: float) -> float:
        self._refill(now)
        return self.capacity - self.level

    def full_in(self, now: float) -> float:
        """Seconds until the bucket is full again."""
        self._refill(now)
        return (self.capacity - self.level) / self.rate


class SlidingWindow:
    """At most ``limit`` units in any ``window`` seconds, counted in ``slots`` sub-intervals.

    A slot counts until its *end* leaves the window, so the count never underestimates: the
    limit can be undershot by at most one slot's worth of time, never exceeded.
    """

    __slots__ = ("capacity", "slot_len", "slots", "total", "window")

    def __init__(self, limit: int, window: float, slots: int = 60) -> None:
        self.capacity = float(limit)
        self.window = window
        self.slot_len = window / slots
        self.slots: deque[list[float]] = deque()  # [slot_start, count]
        self.total = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self.slots and self.slots[0][0] + self.slot_len <= horizon:
            self.total -= self.slots.popleft()[1]

    def wait(self, amount: float, now: float) -> float:
        self._expire(now)
        excess = self.total + amount - self.capacity
        if excess <= 0:
            return 0.0
        freed = 0.0
        for start, count in self.slots:
            freed += count
            if freed >= excess:
                return max(0.0, start + self.slot_len + self.window - now)
        return self.window  # amount exceeds the limit itself; callers refuse that earlier

    def probe(self, amount: float, now: float) -> tuple[float, float]:
        """``wait(amount)`` and ``used()`` at once: what selection asks."""
        wait = self.wait(amount, now)
        return wait, self.total

    def take(self, amount: float, now: float) -> None:
        self._expire(now)
        start = now - (now % self.slot_len)
        if self.slots and self.slots[-1][0] == start:
            self.slots[-1][1] += amount
        else:
            self.slots.append([start, amount])
        self.total += amount

    def give(self, amount: float, now: float) -> None:
        """Return ``amount`` units taken in the newest slots (a request that never left)."""
        self._expire(now)
        for slot in reversed(self.slots):
            back = min(slot[1], amount)
            slot[1] -= back
            self.total -= back
            amount -= back
            if amount <= 0:
                break

    def used(self, now: float) -> float:
        self._expire(now)
        return self.total

    def full_in(self, now: float) -> float:
        self._expire(now)
        if not self.slots:
            return 0.0
        return max(0.0, self.slots[-1][0] + self.slot_len + self.window - now)
