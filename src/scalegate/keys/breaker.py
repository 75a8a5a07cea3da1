"""A circuit breaker per key in the key stores: closed → open → half-open (one probe) → closed.

No longer what takes a failing key out of service: since issue 13 the pool reports only
successes (for prompt-cache affinity) and 401/403s to the stores, and judges failures with
outlier detection (:mod:`scalegate.keys.outliers`). This breaker counted outcomes in the
order they finished — fast failures before slow successes — and so opened on every key at
once under provider-wide faults. It stays, fed nothing that opens it, because the key
stores (memory and the Redis Lua scripts) still carry its state; removing it from them is a
separate change.

Hand-written on purpose (measured: pybreaker's async path needs Tornado, aiobreaker is
unmaintained with a blocking Redis client, purgatory does two Redis reads per call). It opens
after ``consecutive_failures`` failures in a row, or when the failure rate over the last
``window_seconds`` exceeds ``failure_rate`` with at least ``min_requests`` outcomes. After
``cooldown_seconds`` one probe is let through; its outcome closes or re-opens the breaker.
"""

from __future__ import annotations

import enum
from collections import deque

from scalegate.clock import Clock
from scalegate.config import BreakerConfig


class BreakerState(enum.IntEnum):
    """Numeric values are what the ``scalegate_key_breaker_state`` gauge exports."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    __slots__ = (
        "_clock",
        "_config",
        "_consecutive",
        "_opened_at",
        "_outcomes",
        "_probe_out",
        "_state",
        "closed",
        "opened_count",
    )

    def __init__(self, config: BreakerConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._state = BreakerState.CLOSED
        self.closed = True  # ``state is CLOSED`` as an attribute: admission reads it per key
        self._consecutive = 0
        self._opened_at = 0.0
        self._probe_out = False
        # Outcomes counted per second, [second, total, failures]: memory and the rate check
        # stay bounded by the window's length, not by the request rate.
        self._outcomes: deque[list[int]] = deque()
        self.opened_count = 0

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock.monotonic() - self._opened_at >= self._config.cooldown_seconds
        ):
            self._state = BreakerState.HALF_OPEN
            self._probe_out = False
        return self._state

    def available_in(self) -> float:
        """Seconds until a request may pass (0 = now)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return 0.0
        if state is BreakerState.HALF_OPEN:
            # The probe's outcome decides; a short wait lets it come back.
            return 0.0 if not self._probe_out else 0.25
        return max(0.0, self._opened_at + self._config.cooldown_seconds - self._clock.monotonic())

    def allows(self) -> bool:
        return self.available_in() == 0.0

    def on_acquire(self) -> None:
        """Called when a request is sent through this key; half-open lets only one through."""
        if self.state is BreakerState.HALF_OPEN:
            self._probe_out = True

    def record(self, success: bool) -> None:
        now = self._clock.monotonic()
        state = self.state
        if state is BreakerState.HALF_OPEN:
            if success:
                self._close()
            else:
                self._open(now)
            return
        second = int(now)
        if self._outcomes and self._outcomes[-1][0] == second:
            bucket = self._outcomes[-1]
        else:
            bucket = [second, 0, 0]
            self._outcomes.append(bucket)
        bucket[1] += 1
        bucket[2] += 0 if success else 1
        horizon = now - self._config.window_seconds
        while self._outcomes and self._outcomes[0][0] + 1 <= horizon:
            self._outcomes.popleft()
        if success:
            self._consecutive = 0
            return
        self._consecutive += 1
        if state is BreakerState.OPEN:
            return
        if self._consecutive >= self._config.consecutive_failures or self._rate_exceeded():
            self._open(now)

    def release(self) -> None:
        """A request that says nothing about the key's health ended (cancelled, bad input)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_out = False

    def _rate_exceeded(self) -> bool:
        total = sum(b[1] for b in self._outcomes)
        if total < self._config.min_requests:
            return False
        failures = sum(b[2] for b in self._outcomes)
        return failures / total > self._config.failure_rate

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self.closed = False
        self._opened_at = now
        self._probe_out = False
        self.opened_count += 1

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self.closed = True
        self._consecutive = 0
        self._probe_out = False
        self._outcomes.clear()

    def reset(self) -> None:
        self._close()
