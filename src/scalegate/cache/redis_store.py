"""The exact cache in Redis: one store shared by every replica (DESIGN §4, §7).

Layout (every key under ``scalegate:cache:``):

* ``e:<namespace>:<sha256>`` — a hash per entry: ``body``, ``v`` (the namespace's version
  triple when written), ``exp`` (absolute expiry), ``label``; a Redis ``PEXPIRE`` at the same
  moment reclaims it even if nothing reads it again;
* ``v:<scope>`` — version counters (``*`` for everything, a tenant, ``tenant/sub``):
  invalidation is one ``INCR``; entries written under an older version are dead at once on
  every replica, and removed when next read or pushed out;
* ``lru`` — a sorted set, entry key → last access (a ``tick`` counter, one step per read
  or write, so the order is exact even within a millisecond); ``hits`` — entry key → hits;
  ``sizes`` — entry key → bytes; ``stats`` — counters shared by all replicas.

**Size bound.** Every write runs ``exact_set.lua``, which evicts the least recently used
entries (lowest score in ``lru``) until the set holds at most ``max_entries`` and the byte
counter at most ``max_bytes`` — an exact LRU, atomic across replicas. Entries that expired by
TTL keep their slot in ``lru`` until they reach its tail (counted as ``expired``, not
evicted), so the bound counts them. The byte count is the values plus keys plus a fixed
per-entry overhead; Redis's own overhead per hash is a few hundred bytes more. If the same
Redis also holds the key pool's quotas, do **not** rely on ``maxmemory-policy allkeys-lru``
(it would evict quota state too); size ``max_bytes`` below ``maxmemory`` instead, or give the
cache its own Redis database/instance with ``allkeys-lru`` as a second line of defence.

A Redis error becomes :class:`~scalegate.errors.StateBackendError`; the caller's policy
(the cache fails open: the request goes upstream) applies.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.cache.keys import Namespace
from scalegate.cache.store import ENTRY_OVERHEAD, Bounds
from scalegate.clock import Clock, SystemClock
from scalegate.errors import StateBackendError
from scalegate.state import names, scripts

SUBSYSTEM = "cache"
_LRU = names.key(SUBSYSTEM, "lru")
_HITS = names.key(SUBSYSTEM, "hits")
_STATS = names.key(SUBSYSTEM, "stats")
_SIZES = names.key(SUBSYSTEM, "sizes")
_TICK = names.key(SUBSYSTEM, "tick")


def version_key(scope: str) -> str:
    return names.key(SUBSYSTEM, "v", scope or "-")


def version_keys(ns: Namespace) -> list[str]:
    return [version_key(scope) for scope in ns.scopes]


def entry_key(ns: Namespace, key: str) -> str:
    return names.key(SUBSYSTEM, "e", str(ns), key)


class RedisExactStore:
    """The :class:`~scalegate.cache.store.ExactStore` contract on a shared Redis."""

    def __init__(self, client: Redis, bounds: Bounds | None = None, *, clock: Clock | None = None):
        self.client = client
        self.bounds = bounds or Bounds()
        self.clock = clock or SystemClock()
        self._get = scripts.load(client, "scalegate.cache", "exact_get")
        self._set = scripts.load(client, "scalegate.cache", "exact_set")

    def _keys(self, ns: Namespace, key: str) -> list[str]:
        return [entry_key(ns, key), *version_keys(ns), _LRU, _HITS, _STATS, _SIZES, _TICK]

    async def get(self, ns: Namespace, key: str) -> bytes | None:
        try:
            value = await self._get(
                keys=self._keys(ns, key), args=[repr(self.clock.time()), int(ns.sub is not None)]
            )
        except RedisError as exc:
            raise StateBackendError(f"exact cache read failed: {exc}") from exc
        return bytes(value) if value else None

    async def set(
        self, ns: Namespace, key: str, value: bytes, ttl: float | None = None, label: str = ""
    ) -> bool:
        ttl = self.bounds.ttl_seconds if ttl is None else ttl
        now = self.clock.time()
        args: list[bytes | str | int | float] = [
            repr(now),
            int(ns.sub is not None),
            value,
            repr(now + ttl),
            max(1, int(ttl * 1000)),
            label[:120],
            self.bounds.max_entries,
            self.bounds.max_bytes,
            ENTRY_OVERHEAD,
        ]
        try:
            stored = await self._set(keys=self._keys(ns, key), args=args)
        except RedisError as exc:
            raise StateBackendError(f"exact cache write failed: {exc}") from exc
        return bool(stored)

    async def bump(self, scope: str) -> int:
        try:
            return int(await self.client.incr(version_key(scope)))
        except RedisError as exc:
            raise StateBackendError(f"cache invalidation failed: {exc}") from exc

    async def versions(self, ns: Namespace) -> tuple[int, int, int]:
        try:
            raw = await self.client.mget(version_keys(ns))
        except RedisError as exc:
            raise StateBackendError(f"cache version read failed: {exc}") from exc
        epoch, tenant, sub = (int(v or 0) for v in raw)
        return epoch, tenant, sub if ns.sub is not None else 0

    async def snapshot(self) -> dict[str, Any]:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(_STATS)
                pipe.zcard(_LRU)
                stats, entries = await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"cache statistics read failed: {exc}") from exc
        counts = {k.decode(): int(v) for k, v in stats.items()}
        out = {"entries": int(entries), "bytes": counts.pop("bytes", 0)}
        for name in ("hits", "misses", "evictions", "expired", "invalidated", "stores"):
            out[name] = counts.get(name, 0)
        return out

    def local_stats(self) -> dict[str, Any]:
        return {}  # shared: the store-wide numbers are in snapshot()

    async def top(self, n: int) -> list[dict[str, Any]]:
        if n <= 0:  # ZREVRANGE 0 0 would still answer one entry
            return []
        prefix = names.key(SUBSYSTEM, "e") + ":"
        try:
            best = cast(
                "list[tuple[bytes, float]]",
                await self.client.zrevrange(_HITS, 0, max(0, n - 1), withscores=True),
            )
            async with self.client.pipeline(transaction=False) as pipe:
                for member, _ in best:
                    pipe.hget(member, "label")
                    pipe.hget(_SIZES, member)
                details = await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"cache top entries read failed: {exc}") from exc
        out = []
        for i, (member, hits) in enumerate(best):
            ns, _, key = member.decode()[len(prefix) :].rpartition(":")
            label, size = details[2 * i], details[2 * i + 1]
            out.append(
                {
                    "namespace": ns,
                    "key": key,
                    "hits": int(hits),
                    "bytes": int(size or 0),
                    "label": (label or b"").decode("utf-8", "replace"),
                }
            )
        return out

    async def close(self) -> None:
        return None
