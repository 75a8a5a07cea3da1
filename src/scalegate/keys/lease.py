"""What the pool hands out and takes back: a :class:`Lease` on a key, the call's
:class:`Outcome` and :class:`Usage`, and the pool's local view of each key (:class:`KeyEntry`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from scalegate.keys.model import UpstreamKey
from scalegate.keys.store import Candidate, Demand
from scalegate.priority import Priority


class Outcome(enum.Enum):
    """How a call on a leased key ended, as far as the key's health is concerned."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"  # 429 from the provider
    OVERLOADED = "overloaded"  # 529, or an overloaded_error event
    SERVER_ERROR = "server_error"  # 500, 502, 503, 504
    CONNECTION_ERROR = "connection_error"  # refused, reset, timed out
    AUTH_FAILED = "auth_failed"  # 401 / 403: the key is quarantined
    CLIENT_ERROR = "client_error"  # other 4xx: the request's fault, not the key's
    CANCELLED = "cancelled"  # the client went away


COOLS_DOWN = {Outcome.RATE_LIMITED, Outcome.OVERLOADED, Outcome.SERVER_ERROR}
# What the key store is told: "success" (it records prompt-cache affinity) and "auth" (it
# quarantines the key); everything else is "neutral". Failures are judged by the pool's
# outlier detection (keys/outliers.py), never by the store's breaker, which counted them in
# the order they finished and opened on every key under provider-wide faults (issue 13).
HEALTH = {
    Outcome.SUCCESS: "success",
    Outcome.AUTH_FAILED: "auth",
}


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the provider counted against the key's limits (cache reads excluded)."""

    input_tokens: int
    output_tokens: int


@dataclass(eq=False, slots=True)
class Lease:
    key: UpstreamKey
    demand: Demand
    priority: Priority
    waited: float = 0.0
    settled: bool = False
    # What the key's minute buckets held right after this reservation; compared at
    # settlement with the provider's "remaining" for the same moment.
    snapshot: tuple[tuple[str, float, float], ...] = ()
    affinity: str | None = None  # the prompt-cache prefix this request carries
    origin: str = "primary"  # the store that made the reservation
    started: float | None = None  # when the request started on the key (outlier detection)
    probe: bool = False  # one of the requests let through to a key on probation


@dataclass(slots=True)
class KeyEntry:
    """A key as this process knows it, with its local counters."""

    key: UpstreamKey
    in_flight: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last: str | None = None  # the latest outcome (health: is the provider reachable?)
    # What admission offers the store for this key (immutable: built once, not per request).
    candidate: Candidate = field(init=False)

    def __post_init__(self) -> None:
        self.candidate = Candidate(self.key.fingerprint, self.key.weight)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        self.last = what
