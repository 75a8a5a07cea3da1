"""Per-key token buckets for RPM, ITPM and OTPM, and the ``anthropic-ratelimit-*`` headers.

Each bucket holds up to ``limit`` and refills continuously at ``limit / 60`` per second, so
a fresh bucket is full and 60 RPM sustains one request a second. A request needs one request,
its charged input tokens and its ``max_tokens`` up front; unused output is refunded when the
response ends. Times are the injected clock's monotonic seconds; header reset times are
wall-clock RFC 3339.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from scalegate.simulator.config import SimKeyLimits

# Float refill (limit/60 × seconds) is not exact; a bucket this close to the need covers it.
EPSILON = 1e-6

REQUESTS, INPUT, OUTPUT = "requests", "input-tokens", "output-tokens"
_UNITS = {REQUESTS: "requests", INPUT: "input tokens", OUTPUT: "output tokens"}


class TokenBucket:
    """A continuously refilled bucket of capacity ``limit``."""

    __slots__ = ("level", "limit", "rate", "updated")

    def __init__(self, limit: int, now: float) -> None:
        self.limit = limit
        self.rate = limit / 60.0
        self.level = float(limit)
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(float(self.limit), self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` is available (``inf`` if it exceeds the capacity)."""
        self.refill(now)
        if amount > self.limit + EPSILON:
            return math.inf
        missing = amount - self.level
        return 0.0 if missing <= EPSILON else missing / self.rate

    def take(self, amount: float, now: float) -> None:
        self.refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        self.refill(now)
        self.level = min(float(self.limit), self.level + amount)

    def seconds_until_full(self, now: float) -> float:
        self.refill(now)
        return max(0.0, (self.limit - self.level) / self.rate)

    def set_limit(self, limit: int, now: float) -> None:
        """Change the capacity, keeping the current level (clamped to the new capacity)."""
        self.refill(now)
        self.limit = limit
        self.rate = limit / 60.0
        self.level = min(self.level, float(limit))


@dataclass(frozen=True, slots=True)
class Need:
    """What one request takes from a key's buckets."""

    input_tokens: int
    output_tokens: int
    requests: int = 1


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a request cannot be admitted now, and for how long."""

    limit_name: str  # "requests" | "input-tokens" | "output-tokens"
    limit: int
    wait_seconds: float  # inf when the request can never fit

    @property
    def retry_after(self) -> int:
        """Whole seconds, rounded up so a client that obeys it is never early."""
        if math.isinf(self.wait_seconds):
            return 60
        return max(1, math.ceil(self.wait_seconds))

    @property
    def possible(self) -> bool:
        return not math.isinf(self.wait_seconds)

    @property
    def message(self) -> str:
        unit = _UNITS[self.limit_name]
        if not self.possible:
            return (
                f"This request would exceed your organization's rate limit of {self.limit:,} "
                f"{unit} per minute on its own: it can never be admitted. Reduce the prompt "
                f"length or max_tokens."
            )
        return (
            f"This request would exceed your organization's rate limit of {self.limit:,} "
            f"{unit} per minute. Please retry after {self.retry_after} seconds."
        )


def rfc3339(wall: float) -> str:
    """``2026-11-27T12:40:59Z`` for a wall-clock time, rounded up to the second."""
    return datetime.fromtimestamp(math.ceil(wall), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KeyLimiter:
    """The three buckets of one key (a limit of None has no bucket)."""

    def __init__(self, limits: SimKeyLimits, now: float) -> None:
        self.buckets: dict[str, TokenBucket] = {}
        self.update(limits, now)

    def update(self, limits: SimKeyLimits, now: float) -> None:
        """Apply new limits: new buckets start full, changed ones keep their level."""
        wanted = {REQUESTS: limits.rpm, INPUT: limits.itpm, OUTPUT: limits.otpm}
        for name, limit in wanted.items():
            if limit is None:
                self.buckets.pop(name, None)
            elif name in self.buckets:
                self.buckets[name].set_limit(limit, now)
            else:
                self.buckets[name] = TokenBucket(limit, now)

    def _amounts(self, need: Need) -> dict[str, int]:
        return {REQUESTS: need.requests, INPUT: need.input_tokens, OUTPUT: need.output_tokens}

    def check(self, need: Need, now: float) -> Denial | None:
        """The binding limit if ``need`` cannot be covered now, else None."""
        amounts = self._amounts(need)
        worst: Denial | None = None
        for name, bucket in self.buckets.items():
            wait = bucket.wait_for(amounts[name], now)
            if wait > 0 and (worst is None or wait > worst.wait_seconds):
                worst = Denial(name, bucket.limit, wait)
        return worst

    def take(self, need: Need, now: float) -> None:
        amounts = self._amounts(need)
        for name, bucket in self.buckets.items():
            bucket.take(amounts[name], now)

    def refund_output(self, tokens: int, now: float) -> None:
        bucket = self.buckets.get(OUTPUT)
        if bucket is not None and tokens > 0:
            bucket.give(tokens, now)

    def refill_all(self, now: float) -> None:
        for bucket in self.buckets.values():
            bucket.level = float(bucket.limit)
            bucket.updated = now

    def headers(self, now: float, wall: float) -> dict[str, str]:
        """The ``anthropic-ratelimit-*`` headers describing the buckets right now.

        Token ``remaining`` is floored to the thousand as the provider rounds it; the
        ``tokens-*`` trio repeats whichever of input/output has the smaller fraction left.
        """
        headers: dict[str, str] = {}
        for name, bucket in self.buckets.items():
            bucket.refill(now)
            remaining = max(0, math.floor(bucket.level + EPSILON))
            if name != REQUESTS:
                remaining = remaining // 1000 * 1000
            prefix = f"anthropic-ratelimit-{name}"
            headers[f"{prefix}-limit"] = str(bucket.limit)
            headers[f"{prefix}-remaining"] = str(remaining)
            headers[f"{prefix}-reset"] = rfc3339(wall + bucket.seconds_until_full(now))
        token_buckets = [n for n in (INPUT, OUTPUT) if n in self.buckets]
        if token_buckets:
            tightest = min(
                token_buckets, key=lambda n: self.buckets[n].level / self.buckets[n].limit
            )
            for field in ("limit", "remaining", "reset"):
                headers[f"anthropic-ratelimit-tokens-{field}"] = headers[
                    f"anthropic-ratelimit-{tightest}-{field}"
                ]
        return headers
