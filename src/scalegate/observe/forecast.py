"""When will a key limit run out at the current rate?

Every read of the keys' state (a scrape, the dashboard, the sampler every
``monitoring.sample_seconds``) feeds :meth:`Forecaster.observe` with each limit's use. The
net rate of change of that use over the last ``window`` seconds (a least-squares slope, so
one burst does not swing it) is what the key gains per second *after* its refill: for a
token bucket, demand minus refill; for an hour or day window, demand minus what leaves the
window. While that rate is positive the limit runs out in ``(capacity - used) / rate``
seconds; while it is zero or negative it does not run out at all (``inf``). Samples come from
the store, so in shared mode the forecast covers every replica's traffic.
"""

from __future__ import annotations

import math
from collections import deque

# Fewer samples than this, or a shorter span, is not a rate yet.
MIN_SAMPLES = 3
MIN_SPAN_SECONDS = 4.0
# A net rise smaller than this share of the limit over the window is noise, not a trend.
SIGNIFICANT_SHARE = 0.01
# At most one sample per limit this often: many readers must not crowd the window.
MIN_SPACING_SECONDS = 0.5


class Forecaster:
    def __init__(self, window: float = 120.0) -> None:
        self.window = window
        self._samples: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self._capacity: dict[tuple[str, str], float] = {}

    def observe(self, key: str, limit: str, used: float, capacity: float, now: float) -> None:
        slot = (key, limit)
        samples = self._samples.get(slot)
        if samples is None:
            samples = self._samples[slot] = deque()
        if samples and now - samples[-1][0] < MIN_SPACING_SECONDS:
            samples[-1] = (samples[-1][0], used)  # keep the newest value, not the spacing
        else:
            samples.append((now, used))
        while len(samples) > MIN_SAMPLES and now - samples[0][0] > self.window:
            samples.popleft()
        self._capacity[slot] = capacity

    def rate(self, key: str, limit: str) -> float | None:
        """Net units per second gained by the limit's use, or ``None`` without enough data."""
        samples = self._samples.get((key, limit))
        if samples is None or len(samples) < MIN_SAMPLES:
            return None
        t0 = samples[0][0]
        if samples[-1][0] - t0 < MIN_SPAN_SECONDS:
            return None
        n = len(samples)
        mean_t = sum(t - t0 for t, _ in samples) / n
        mean_u = sum(u for _, u in samples) / n
        var = sum((t - t0 - mean_t) ** 2 for t, _ in samples)
        if var <= 0:
            return None
        cov = sum((t - t0 - mean_t) * (u - mean_u) for t, u in samples)
        return cov / var

    def seconds_left(self, key: str, limit: str) -> float | None:
        """Seconds until the limit is used up at the current rate; ``inf`` if never;
        ``None`` while there is not enough history to tell."""
        slot = (key, limit)
        samples = self._samples.get(slot)
        if not samples:
            return None
        used = samples[-1][1]
        capacity = self._capacity[slot]
        if used >= capacity:
            return 0.0
        rate = self.rate(key, limit)
        if rate is None:
            return None
        span = samples[-1][0] - samples[0][0]
        # Flat, falling, or a rise too small to tell from noise (under 1 % of the limit over
        # the window): at this rate it does not run out.
        if rate * span < capacity * SIGNIFICANT_SHARE:
            return math.inf
        return (capacity - used) / rate

    def forget(self, keep: set[str]) -> None:
        """Drop the history of keys no longer in the pool."""
        for slot in [s for s in self._samples if s[0] not in keep]:
            del self._samples[slot]
            self._capacity.pop(slot, None)
