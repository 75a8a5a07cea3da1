"""Usage accounting per key and in total, served as ``GET /_sim/stats``.

Shape::

    {"now": <clock monotonic seconds>,
     "keys": {"<secret>": {<counters>, "revoked": bool, "events": [...]}},
     "totals": {<counters>}}

Counters: ``requests`` (arrivals at /v1/messages, whatever the outcome), ``accepted``
(admitted by the rate limiter), ``input_tokens`` (charged input: uncached + cache
creation), ``cache_creation_input_tokens``, ``cache_read_input_tokens``, ``output_tokens``
(generated and sent, partial streams included), ``quota_429``, ``injected`` ({fault: n}),
``status_counts`` ({"200": n, …}; "0" is a dropped connection), ``in_flight`` (arrived and
not yet answered in full), ``max_in_flight``, ``streams_completed``, ``streams_cancelled``,
``count_tokens_requests``.
``events`` keeps the last 10,000 arrivals of a key as ``{"t", "status", "kind",
"retry_after"}``. Requests without a key count in ``totals`` only.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

MAX_EVENTS = 10_000


@dataclass(slots=True)
class Counters:
    requests: int = 0
    accepted: int = 0
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    quota_429: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    status_counts: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0
    count_tokens_requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
            "quota_429": self.quota_429,
            "injected": dict(self.injected),
            "status_counts": dict(self.status_counts),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "streams_completed": self.streams_completed,
            "streams_cancelled": self.streams_cancelled,
            "count_tokens_requests": self.count_tokens_requests,
        }


@dataclass(slots=True)
class KeyStats(Counters):
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))


class SimStats:
    """All counters; every update goes to the key's counters (if any) and to the totals."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyStats] = {}
        self.totals = Counters()

    def key(self, key: str) -> KeyStats:
        stats = self.keys.get(key)
        if stats is None:
            stats = self.keys[key] = KeyStats()
        return stats

    def _all(self, key: str | None) -> tuple[Counters, ...]:
        return (self.totals,) if key is None else (self.totals, self.key(key))

    def arrived(self, key: str | None) -> None:
        for c in self._all(key):
            c.requests += 1
            c.in_flight += 1
            c.max_in_flight = max(c.max_in_flight, c.in_flight)

    def finished(self, key: str | None) -> None:
        for c in self._all(key):
            c.in_flight -= 1

    def outcome(
        self,
        key: str | None,
        t: float,
        status: int,
        kind: str,
        retry_after: int | None = None,
        tag: str | None = None,
    ) -> None:
        """Record how an arrival was answered (one call per /v1/messages request).

        ``tag`` is the request's ``x-sim-tag`` header: a client that tags each of its
        requests can follow one request's attempts (retries) across keys.
        """
        for c in self._all(key):
            c.status_counts[str(status)] += 1
        if key is not None:
            event = {"t": t, "status": status, "kind": kind, "retry_after": retry_after}
            if tag is not None:
                event["tag"] = tag
            self.key(key).events.append(event)

    def quota_denied(self, key: str) -> None:
        for c in self._all(key):
            c.quota_429 += 1

    def injected(self, key: str, fault: str) -> None:
        for c in self._all(key):
            c.injected[fault] += 1

    def accepted(self, key: str, charged: int, creation: int, read: int) -> None:
        for c in self._all(key):
            c.accepted += 1
            c.input_tokens += charged
            c.cache_creation_input_tokens += creation
            c.cache_read_input_tokens += read

    def output(self, key: str, tokens: int) -> None:
        for c in self._all(key):
            c.output_tokens += tokens

    def stream_ended(self, key: str, *, completed: bool) -> None:
        for c in self._all(key):
            if completed:
                c.streams_completed += 1
            else:
                c.streams_cancelled += 1

    def counted_tokens(self, key: str) -> None:
        for c in self._all(key):
            c.count_tokens_requests += 1

    def reset(self) -> None:
        """Zero everything except what is in flight right now (it will still finish)."""
        in_flight = {k: s.in_flight for k, s in self.keys.items() if s.in_flight}
        total_in_flight = self.totals.in_flight
        self.keys = {}
        self.totals = Counters(in_flight=total_in_flight, max_in_flight=total_in_flight)
        for k, n in in_flight.items():
            self.keys[k] = KeyStats(in_flight=n, max_in_flight=n)

    def snapshot(self, now: float, revoked: set[str]) -> dict[str, Any]:
        keys = {}
        for k, s in self.keys.items():
            keys[k] = {**s.as_dict(), "revoked": k in revoked, "events": list(s.events)}
        return {"now": now, "keys": keys, "totals": self.totals.as_dict()}
