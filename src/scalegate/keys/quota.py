"""Quota stores: per-key limit state, and the atomic "pick a key and reserve on it" step.

:class:`QuotaStore` is what the key pool needs; :class:`MemoryQuotaStore` keeps the state in
process memory (embedded mode). The Redis store of shared mode implements the same protocol
with one Lua script per operation, so the choice and the reservation stay one atomic step
across replicas.

Selection is part of ``reserve`` because it must be atomic with the reservation: among the
candidates, every limit of a key must take the whole demand (all or nothing); of the keys that
can, ``least_utilized`` picks the one whose tightest limit is least used after the
reservation, relative to its weight, ``round_robin`` the next in turn. When none can, the result
says how long until the first could.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from scalegate.clock import Clock, SystemClock
from scalegate.keys.buckets import SlidingWindow, TokenBucket
from scalegate.keys.model import UpstreamKey

Strategy = Literal["least_utilized", "round_robin"]

# Limit name → (unit of demand it counts, kind, window seconds)
LIMITS: dict[str, tuple[str, str, float]] = {
    "rpm": ("requests", "bucket", 60.0),
    "rph": ("requests", "window", 3600.0),
    "rpd": ("requests", "window", 86400.0),
    "itpm": ("input_tokens", "bucket", 60.0),
    "otpm": ("output_tokens", "bucket", 60.0),
}


@dataclass(frozen=True, slots=True)
class Demand:
    """What one request reserves: one request, estimated input tokens, ``max_tokens`` output."""

    requests: int = 1
    input_tokens: int = 0
    output_tokens: int = 0

    def amount(self, unit: str) -> int:
        value: int = getattr(self, unit)
        return value


@dataclass(frozen=True, slots=True)
class Candidate:
    key_id: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """``key_id`` when reserved; otherwise ``wait`` seconds until a candidate could admit."""

    key_id: str | None
    wait: float = 0.0
    blocking_limit: str | None = None
    ratios: tuple[tuple[str, float], ...] = ()  # the chosen key's use of each limit, after
    # Per minute bucket of the chosen key: (limit, what it holds after, all ever taken).
    snapshot: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class LimitUsage:
    used: float
    capacity: float
    full_in: float  # seconds until the limit is back to full capacity

    @property
    def ratio(self) -> float:
        return self.used / self.capacity if self.capacity else 0.0


class QuotaStore(Protocol):
    """Per-key limit state shared by everything that may use the keys."""

    async def register(self, key: UpstreamKey) -> None:
        """Add a key, or update its limits keeping its current usage."""

    async def remove(self, key_id: str) -> None: ...

    async def reserve(
        self, candidates: Sequence[Candidate], demand: Demand, strategy: Strategy
    ) -> ReserveResult: ...

    async def adjust(self, key_id: str, refund: Demand) -> None:
        """Give back ``refund`` (negative amounts charge more than was reserved)."""

    async def reconcile(
        self,
        key_id: str,
        snapshot: Sequence[tuple[str, float, float]],
        theirs: Mapping[str, float],
        tolerance: Mapping[str, float],
    ) -> dict[str, float]:
        """Charge use the provider saw and the gateway did not; return what was charged.

        ``snapshot`` is what the reservation saw; ``theirs`` the provider's "remaining" at its
        own deduction of that request. Everything reserved on the key since the snapshot may
        have reached the provider first (requests overtake each other on separate
        connections), so it is not counted as drift.
        """

    async def cooldown(self, key_id: str, seconds: float) -> None:
        """Make the key ineligible for ``seconds`` (a ``retry-after``); never shortens one."""

    async def usage(self, key_id: str) -> dict[str, LimitUsage]: ...

    async def cooldown_left(self, key_id: str) -> float: ...


class _KeyState:
    __slots__ = ("cooldown_until", "limits", "skew", "taken")

    def __init__(self, key: UpstreamKey, now: float, skew: float) -> None:
        self.limits: dict[str, tuple[str, TokenBucket | SlidingWindow]] = {}
        self.cooldown_until = 0.0
        self.skew = skew
        self.taken: dict[str, float] = {}  # all ever reserved, per limit (see ``reconcile``)
        self.configure(key, now)

    def configure(self, key: UpstreamKey, now: float) -> None:
        fresh: dict[str, tuple[str, TokenBucket | SlidingWindow]] = {}
        for name, (unit, kind, window) in LIMITS.items():
            limit = getattr(key.limits, name)
            if limit is None:
                continue
            old = self.limits.get(name)
            if old is not None and old[1].capacity == float(limit):
                fresh[name] = old
                continue
            lim: TokenBucket | SlidingWindow
            if kind == "bucket":
                lim = TokenBucket(limit, now, window, self.skew)
                if old is not None:  # keep what is used when a limit changes
                    lim.level = lim.capacity - old[1].used(now)
            else:
                lim = SlidingWindow(limit, window, slots=60 if window <= 3600 else 144)
                if old is not None:
                    lim.take(old[1].used(now), now)
            fresh[name] = (unit, lim)
        self.limits = fresh

    def wait(self, demand: Demand, now: float) -> tuple[float, str | None]:
        worst, which = max(0.0, self.cooldown_until - now), "cooldown"
        for name, (unit, lim) in self.limits.items():
            w = lim.wait(demand.amount(unit), now)
            if w > worst:
                worst, which = w, name
        return worst, (which if worst > 0 else None)

    def headroom(self, demand: Demand, now: float) -> float:
        """Fraction left on the tightest limit after taking ``demand``."""
        room = 1.0
        for unit, lim in self.limits.values():
            left = (lim.capacity - lim.used(now) - demand.amount(unit)) / lim.capacity
            room = min(room, left)
        return room


class MemoryQuotaStore:
    """Quota state in process memory; exact for one process (embedded mode)."""

    def __init__(self, clock: Clock | None = None, skew: float = 0.0) -> None:
        """``skew``: seconds of refill held back from admissions (see ``TokenBucket``)."""
        self._clock = clock or SystemClock()
        self._skew = skew
        self._keys: dict[str, _KeyState] = {}
        self._turn = 0

    async def register(self, key: UpstreamKey) -> None:
        now = self._clock.monotonic()
        state = self._keys.get(key.fingerprint)
        if state is None:
            self._keys[key.fingerprint] = _KeyState(key, now, self._skew)
        else:
            state.configure(key, now)

    async def remove(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    async def reserve(
        self, candidates: Sequence[Candidate], demand: Demand, strategy: Strategy
    ) -> ReserveResult:
        now = self._clock.monotonic()
        n = len(candidates)
        if n == 0:
            return ReserveResult(None, float("inf"))
        self._turn = (self._turn + 1) % n
        best: _KeyState | None = None
        best_id = ""
        best_score = float("-inf")
        min_wait, blocking = float("inf"), None
        for i in range(n):
            cand = candidates[(self._turn + i) % n]
            state = self._keys.get(cand.key_id)
            if state is None:
                continue
            wait, limit = state.wait(demand, now)
            if wait > 0:
                if wait < min_wait:
                    min_wait, blocking = wait, limit
                continue
            if strategy == "round_robin":
                best, best_id = state, cand.key_id
                break
            # Utilisation of the tightest limit after the reservation, relative to weight:
            # with weights 3:1, the first key carries three times the second's share.
            score = -(1.0 - state.headroom(demand, now)) / cand.weight
            if score > best_score:
                best, best_id, best_score = state, cand.key_id, score
        if best is None:
            return ReserveResult(None, min_wait, blocking)
        ratios, snapshot = [], []
        for name, (unit, lim) in best.limits.items():
            amount = demand.amount(unit)
            lim.take(amount, now)
            used = lim.used(now)
            ratios.append((name, used / lim.capacity))
            if isinstance(lim, TokenBucket):
                taken = best.taken[name] = best.taken.get(name, 0.0) + amount
                snapshot.append((name, lim.capacity - used, taken))
        return ReserveResult(best_id, ratios=tuple(ratios), snapshot=tuple(snapshot))

    async def adjust(self, key_id: str, refund: Demand) -> None:
        state = self._keys.get(key_id)
        if state is None:
            return
        now = self._clock.monotonic()
        for unit, lim in state.limits.values():
            amount = refund.amount(unit)
            if amount:
                lim.give(amount, now)

    async def reconcile(
        self,
        key_id: str,
        snapshot: Sequence[tuple[str, float, float]],
        theirs: Mapping[str, float],
        tolerance: Mapping[str, float],
    ) -> dict[str, float]:
        state = self._keys.get(key_id)
        if state is None:
            return {}
        now = self._clock.monotonic()
        charged: dict[str, float] = {}
        for name, ours, taken_then in snapshot:
            reported = theirs.get(name)
            entry = state.limits.get(name)
            if reported is None or entry is None:
                continue
            since = state.taken.get(name, 0.0) - taken_then
            drift = ours - reported - since
            if drift > tolerance.get(name, 0.0):
                entry[1].take(drift, now)
                charged[name] = drift
        return charged

    async def cooldown(self, key_id: str, seconds: float) -> None:
        state = self._keys.get(key_id)
        if state is not None:
            state.cooldown_until = max(state.cooldown_until, self._clock.monotonic() + seconds)

    async def cooldown_left(self, key_id: str) -> float:
        state = self._keys.get(key_id)
        return 0.0 if state is None else max(0.0, state.cooldown_until - self._clock.monotonic())

    async def usage(self, key_id: str) -> dict[str, LimitUsage]:
        state = self._keys.get(key_id)
        if state is None:
            return {}
        now = self._clock.monotonic()
        return {
            name: LimitUsage(lim.used(now), lim.capacity, lim.full_in(now))
            for name, (_, lim) in state.limits.items()
        }
