"""Key stores: everything about a key that must be shared by whoever uses it.

A key's limit state (buckets and windows), its cooldown after a ``retry-after``, its circuit
breaker, whether an operator disabled it or the provider got it quarantined, and which key
last served a prompt-cache prefix — one :class:`KeyStore` holds all of it, so that in shared
mode one replica's knowledge is every replica's. ``MemoryKeyStore`` keeps it in process
memory (embedded mode); ``RedisKeyStore`` in Redis, one Lua script per operation, so each
operation is atomic across replicas and a request admitted at once makes two round trips
(``reserve``, ``settle``) — one more when its sample of keys had no room (the full pass) or
lacked the key another replica chose for its prompt-cache prefix (see below).

Selection is part of ``reserve`` because it must be atomic with the reservation: among the
candidates, a key is eligible when it is enabled, its breaker lets a request through, it is
not cooling down, no higher-priority request is waiting for it (in another replica), and
every one of its limits can take the whole demand. Of the eligible keys, the one that last
served the request's prompt-cache prefix is preferred; otherwise ``least_utilized`` picks the
key whose tightest limit is least used after the reservation relative to its weight, and
``round_robin`` the next in turn. When none is eligible, the result says how long until one
could be and why not. A store examines exactly the candidates it is given, so the pool keeps
the cost of a reservation independent of the pool's size by offering a sample of the keys
first (``complete=False``, :mod:`scalegate.keys.sampling`) and all of them only when the
sample cannot admit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from scalegate.keys.model import UpstreamKey

Strategy = Literal["least_utilized", "round_robin"]
Health = Literal["success", "failure", "neutral", "auth"]

# Limit name → (unit of demand it counts, kind, window seconds)
LIMITS: dict[str, tuple[str, str, float]] = {
    "rpm": ("requests", "bucket", 60.0),
    "rph": ("requests", "window", 3600.0),
    "rpd": ("requests", "window", 86400.0),
    "itpm": ("input_tokens", "bucket", 60.0),
    "otpm": ("output_tokens", "bucket", 60.0),
}

# Sliding-window granularity: an hour in 60 one-minute slots, a day in 144 ten-minute ones.
WINDOW_SLOTS = {"rph": 60, "rpd": 144}

# Differences between the provider's "remaining" and ours that are rounding, not drift: the
# provider reports requests exactly and floors token counts to the thousand.
DRIFT_TOLERANCE = {"rpm": 1.0, "itpm": 1000.0, "otpm": 1000.0}

# How long a prompt-cache prefix remembers the key that served it (the provider's cache TTL).
AFFINITY_SECONDS = 300.0

QUARANTINE_REASON = "quarantined: the provider rejected the key (401/403)"


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
    """``key_id`` when reserved; otherwise ``wait`` seconds until one could be, and why not.

    ``reason`` is the limit name (``rpm`` …), ``cooldown``, ``breaker``, ``disabled`` or
    ``priority`` (a higher-priority request waits for the key elsewhere) — or, only for a
    reserve with ``complete=False``, ``affinity``: the key that holds the request's
    prompt-cache prefix (``preferred``) was not among the candidates, and nothing was
    reserved; offer it too (when the request may use it) and ask again.
    """

    key_id: str | None
    wait: float = 0.0
    reason: str | None = None
    preferred: str | None = None  # with reason "affinity"
    ratios: tuple[tuple[str, float], ...] = ()  # the chosen key's use of each limit, after
    # Per minute bucket of the chosen key: (limit, what it holds after, all ever taken).
    snapshot: tuple[tuple[str, float, float], ...] = ()
    origin: str = "primary"  # which store made the reservation (see ResilientKeyStore)


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a call on a key ended, as the store needs to know it."""

    refund: Demand  # positive gives back, negative charges more than was reserved
    health: Health = "neutral"  # feeds the breaker; "auth" quarantines the key
    cooldown: float = 0.0  # seconds the key must rest (a retry-after)
    snapshot: tuple[tuple[str, float, float], ...] = ()  # from the reservation
    observed: Mapping[str, float] | None = None  # the provider's remaining, by limit name
    # The limits the provider reports for this key (its share, for a key in a group): the
    # bucket's capacity becomes min(configured, reported).
    reported: Mapping[str, float] | None = None
    affinity: str | None = None  # prompt-cache prefix this key now holds (on success)
    origin: str = "primary"  # echoes ReserveResult.origin


@dataclass(frozen=True, slots=True)
class SettleResult:
    drift: Mapping[str, float] = field(default_factory=dict)  # charged for unseen use
    quarantined: bool = False  # this settlement quarantined the key
    breaker_opened: bool = False


@dataclass(frozen=True, slots=True)
class LimitUsage:
    used: float
    capacity: float
    full_in: float  # seconds until the limit is back to full capacity

    @property
    def ratio(self) -> float:
        return self.used / self.capacity if self.capacity else 0.0


@dataclass(frozen=True, slots=True)
class KeyStatus:
    limits: Mapping[str, LimitUsage]
    cooldown: float  # seconds left
    breaker: str  # closed, half_open, open
    disabled: str | None  # reason, when disabled or quarantined
    quarantined: bool

    @property
    def usable(self) -> bool:
        return self.disabled is None and self.breaker != "open"


class KeyStore(Protocol):
    """Per-key state shared by everything that may use the keys."""

    async def register(self, key: UpstreamKey) -> None:
        """Add a key, or update its limits keeping its current usage and state."""

    async def remove(self, key_id: str) -> None: ...

    async def reserve(
        self,
        candidates: Sequence[Candidate],
        demand: Demand,
        strategy: Strategy,
        rank: int,
        affinity: str | None = None,
        *,
        complete: bool = True,
    ) -> ReserveResult:
        """Choose an eligible key and reserve ``demand`` on all its limits, atomically.

        ``complete=False``: the candidates are a sample of the eligible keys, not all of
        them (:mod:`scalegate.keys.sampling`). Then they are taken in the order given
        (``round_robin`` takes the first that can admit; the pool keeps the turn), and when
        the prefix's key is not among them the answer is ``reason="affinity"``.
        """

    async def settle(self, key_id: str, settlement: Settlement) -> SettleResult:
        """Refund, reconcile with the provider's headers, cool down, feed the breaker."""

    async def set_disabled(self, key_id: str, reason: str | None) -> None:
        """Disable with a reason, or (``None``) enable: clears quarantine and breaker."""

    async def status(self, key_id: str) -> KeyStatus | None: ...

    async def set_waiting(self, key_ids: Sequence[str], rank: int, waiting: bool) -> None:
        """Announce (or withdraw) that requests of priority ``rank`` wait for these keys."""

    async def close(self) -> None: ...
