"""The exact cache's storage protocol, and the in-process implementation.

Both implementations keep the same contract (tests/test_cache_exact.py runs one suite against
each): entries live in a namespace, carry the namespace's version triple at write time and
an absolute expiry; a read that finds a stale version or a past expiry removes the entry and
answers a miss; writes evict least-recently-used entries until both bounds (entries, bytes)
hold. Time comes from the injected clock's wall time (``clock.time()``), which in Redis mode
is what every replica agrees on well enough for TTLs of seconds or more.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from scalegate.cache.keys import Namespace
from scalegate.clock import Clock, SystemClock

# Per-entry bookkeeping charged against max_bytes besides the value itself (key, tuple,
# OrderedDict node): an estimate, so that a cache of tiny values is still bounded honestly.
ENTRY_OVERHEAD = 200


@dataclass(frozen=True, slots=True)
class Bounds:
    max_entries: int = 10_000
    max_bytes: int = 256 * 1024 * 1024
    ttl_seconds: float = 3600.0


@runtime_checkable
class ExactStore(Protocol):
    """Where exact-cache entries live (memory or Redis)."""

    bounds: Bounds

    async def get(self, ns: Namespace, key: str) -> bytes | None:
        """The value, or ``None`` (missing, expired or invalidated); counts a hit or miss."""
        ...

    async def set(
        self, ns: Namespace, key: str, value: bytes, ttl: float | None = None, label: str = ""
    ) -> bool:
        """Store (replacing); evict LRU entries past the bounds; ``False`` if too large."""
        ...

    async def bump(self, scope: str) -> int:
        """Increment a scope's version (``*``, a tenant, or ``tenant/sub``); return it."""
        ...

    async def versions(self, ns: Namespace) -> tuple[int, int, int]:
        """The current version triple of ``ns`` (epoch, tenant, sub-namespace)."""
        ...

    async def snapshot(self) -> dict[str, Any]:
        """Store-wide numbers: entries, bytes, hits, misses, evictions, expired."""
        ...

    def local_stats(self) -> dict[str, Any]:
        """What this process alone knows (entries, bytes, evictions of a memory store;
        nothing for a shared one, whose numbers are in :meth:`snapshot`)."""

    async def top(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` live entries with most hits: namespace, key, hits, bytes, label."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Entry:
    value: bytes
    versions: tuple[int, int, int]
    expires: float
    size: int
    label: str
    hits: int = 0


class MemoryExactStore:
    """An ``OrderedDict`` LRU: O(1) get, set and eviction; one process only."""

    def __init__(self, bounds: Bounds | None = None, *, clock: Clock | None = None) -> None:
        self.bounds = bounds or Bounds()
        self.clock = clock or SystemClock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._versions: dict[str, int] = {}
        self.bytes = 0
        self.counts = {"hits": 0, "misses": 0, "evictions": 0, "expired": 0, "invalidated": 0}

    def _current(self, ns: Namespace) -> tuple[int, int, int]:
        get = self._versions.get
        epoch, tenant, sub = ns.scopes
        return (get(epoch, 0), get(tenant, 0), get(sub, 0) if sub else 0)

    async def versions(self, ns: Namespace) -> tuple[int, int, int]:
        return self._current(ns)

    def _drop(self, slot: tuple[str, str], reason: str) -> None:
        entry = self._entries.pop(slot)
        self.bytes -= entry.size
        self.counts[reason] += 1

    async def get(self, ns: Namespace, key: str) -> bytes | None:
        slot = (str(ns), key)
        entry = self._entries.get(slot)
        if entry is None:
            self.counts["misses"] += 1
            return None
        if entry.versions != self._current(ns):
            self._drop(slot, "invalidated")
            self.counts["misses"] += 1
            return None
        if entry.expires <= self.clock.time():
            self._drop(slot, "expired")
            self.counts["misses"] += 1
            return None
        self._entries.move_to_end(slot)
        entry.hits += 1
        self.counts["hits"] += 1
        return entry.value

    async def set(
        self, ns: Namespace, key: str, value: bytes, ttl: float | None = None, label: str = ""
    ) -> bool:
        size = len(value) + len(key) + ENTRY_OVERHEAD
        if size > self.bounds.max_bytes:
            return False
        slot = (str(ns), key)
        old = self._entries.pop(slot, None)
        if old is not None:
            self.bytes -= old.size
        expires = self.clock.time() + (self.bounds.ttl_seconds if ttl is None else ttl)
        self._entries[slot] = _Entry(value, self._current(ns), expires, size, label[:120])
        self.bytes += size
        while len(self._entries) > self.bounds.max_entries or self.bytes > self.bounds.max_bytes:
            oldest = next(iter(self._entries))
            victim = self._entries[oldest]
            reason = "expired" if victim.expires <= self.clock.time() else "evictions"
            self._drop(oldest, reason)
        return True

    async def bump(self, scope: str) -> int:
        self._versions[scope] = self._versions.get(scope, 0) + 1
        # Free the memory now rather than when each dead entry is next read.
        dead = [
            slot
            for slot, entry in self._entries.items()
            if entry.versions != self._current(Namespace.parse(slot[0]))
        ]
        for slot in dead:
            self._drop(slot, "invalidated")
        return self._versions[scope]

    async def snapshot(self) -> dict[str, Any]:
        return {"entries": len(self._entries), "bytes": self.bytes, **self.counts}

    def local_stats(self) -> dict[str, Any]:
        return {
            "entries": len(self._entries),
            "bytes": self.bytes,
            "evictions": self.counts["evictions"],
            "expired": self.counts["expired"],
        }

    async def top(self, n: int) -> list[dict[str, Any]]:
        best = sorted(self._entries.items(), key=lambda item: item[1].hits, reverse=True)[:n]
        return [
            {"namespace": ns, "key": key, "hits": e.hits, "bytes": e.size, "label": e.label}
            for (ns, key), e in best
        ]

    async def close(self) -> None:
        return None
