"""``ExactCache``: answers stored under a hash of the whole request, LRU + TTL + versions.

Usable on its own (``from scalegate import ExactCache``)::

    cache = ExactCache(max_entries=10_000, ttl_seconds=3600)
    if (value := await cache.get(key)) is None:
        value = await compute()
        await cache.set(key, value)

Keys are any strings (the gateway uses :func:`scalegate.cache.keys.exact_key`); values are
bytes. ``namespace`` (``"tenant"`` or ``"tenant/sub"``) scopes both; :meth:`invalidate` bumps a
namespace's version, and every entry written before is dead at once. The store is memory by
default or Redis (:class:`~scalegate.cache.redis_store.RedisExactStore`) for replicas.
"""

from __future__ import annotations

import logging
from typing import Any

from scalegate.cache.keys import Namespace
from scalegate.cache.store import Bounds, ExactStore, MemoryExactStore
from scalegate.clock import Clock
from scalegate.errors import StateBackendError
from scalegate.state.outage import Outages

logger = logging.getLogger(__name__)


def as_namespace(namespace: Namespace | str | None) -> Namespace:
    if namespace is None:
        return Namespace()
    return namespace if isinstance(namespace, Namespace) else Namespace.parse(namespace)


class ExactCache:
    """An exact-match cache over an :class:`~scalegate.cache.store.ExactStore`.

    A store that fails (Redis down) makes reads misses and writes no-ops, each counted in
    ``errors`` and logged: the cache fails *open*, it never fails a request.
    """

    def __init__(
        self,
        store: ExactStore | None = None,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        ttl_seconds: float = 3600.0,
        clock: Clock | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.outages = outages  # the cache's policy (bypass) is counted there
        self.store: ExactStore = store or MemoryExactStore(
            Bounds(max_entries, max_bytes, ttl_seconds), clock=clock
        )
        self.counts = {"hits": 0, "misses": 0, "stores": 0, "errors": 0, "too_large": 0}

    async def get(self, key: str, namespace: Namespace | str | None = None) -> bytes | None:
        try:
            value = await self.store.get(as_namespace(namespace), key)
        except StateBackendError as exc:
            self._failed("read", exc)
            value = None
        else:
            if self.outages is not None and self.outages.down:
                self.outages.recovered("cache")
        self.counts["hits" if value is not None else "misses"] += 1
        return value

    async def set(
        self,
        key: str,
        value: bytes,
        namespace: Namespace | str | None = None,
        *,
        ttl: float | None = None,
        label: str = "",
    ) -> bool:
        try:
            stored = await self.store.set(as_namespace(namespace), key, value, ttl, label)
        except StateBackendError as exc:
            self._failed("write", exc)
            return False
        self.counts["stores" if stored else "too_large"] += 1
        return stored

    async def invalidate(self, namespace: Namespace | str | None = None) -> int:
        """Kill every entry of ``namespace`` (``None``: of every namespace); the new version."""
        if namespace is None or namespace == "*":
            return await self.store.bump("*")
        ns = as_namespace(namespace)
        return await self.store.bump(str(ns))

    def _failed(self, what: str, exc: StateBackendError) -> None:
        self.counts["errors"] += 1
        if self.outages is not None:
            self.outages.failed("cache", exc)
        logger.warning("exact cache %s failed, treated as a miss: %s", what, exc)

    def stats(self) -> dict[str, Any]:
        """This process's counters (plain numbers; the metrics exporter reads them)."""
        total = self.counts["hits"] + self.counts["misses"]
        out: dict[str, Any] = dict(self.counts)
        out["hit_rate"] = self.counts["hits"] / total if total else 0.0
        out.update(self.store.local_stats())
        return out

    async def snapshot(self) -> dict[str, Any]:
        """Store-wide numbers (across replicas in Redis mode) with the hit rate."""
        snap = await self.store.snapshot()
        total = snap["hits"] + snap["misses"]
        snap["hit_rate"] = snap["hits"] / total if total else 0.0
        snap["max_entries"] = self.store.bounds.max_entries
        snap["max_bytes"] = self.store.bounds.max_bytes
        snap["ttl_seconds"] = self.store.bounds.ttl_seconds
        return snap

    async def top(self, n: int = 10) -> list[dict[str, Any]]:
        return await self.store.top(n)

    async def close(self) -> None:
        await self.store.close()
