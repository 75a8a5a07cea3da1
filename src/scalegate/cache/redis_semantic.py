"""The semantic cache in Redis with the search module, through ``redisvl`` (shared mode).

Each entry is a hash ``scalegate:cache:s:<id>`` with fields ``part`` (a TAG: namespace,
its version triple and the request partition, hashed), ``vec`` (float32, an HNSW cosine
index), and unindexed ``prompt``, ``value``, ``exp``, ``label``, ``hits``. A search is one
``FT.SEARCH`` KNN query filtered by the tag; cosine *distance* (0..2) becomes similarity
``1 - distance``. Versions are counters ``scalegate:cache:sv:<scope>`` (separate from the exact
cache's, so each cache works alone); bumping one makes every partition written under the
old value unreachable at once, and the entries expire by TTL. The entry count is bounded by
``semantic_add.lua`` with an LRU sorted set, like the exact cache.

The server must have the search module (Redis Stack, or Redis 8 with the query engine);
:meth:`RedisSemanticStore.start` checks and raises :class:`ConfigError` otherwise — the gateway
refuses to start rather than silently keeping a per-replica index (DESIGN §4).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from scalegate.cache.embed.base import Vector
from scalegate.cache.keys import Namespace
from scalegate.cache.semantic_store import Candidate
from scalegate.cache.store import Bounds
from scalegate.clock import Clock, SystemClock
from scalegate.errors import ConfigError, StateBackendError
from scalegate.state import names, scripts

SUBSYSTEM = "cache"
INDEX_NAME = "scalegate-cache-semantic"
_PREFIX = names.key(SUBSYSTEM, "s")
_LRU = names.key(SUBSYSTEM, "slru")
_STATS = names.key(SUBSYSTEM, "sstats")
_TICK = names.key(SUBSYSTEM, "stick")


def _version_key(scope: str) -> str:
    return names.key(SUBSYSTEM, "sv", scope or "-")


class RedisSemanticStore:
    kind = "redis"

    def __init__(
        self,
        client: Redis,
        dimensions: int,
        bounds: Bounds | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.dimensions = dimensions
        self.bounds = bounds or Bounds()
        self.clock = clock or SystemClock()
        self._add = scripts.load(client, "scalegate.cache", "semantic_add")
        self._touch = scripts.load(client, "scalegate.cache", "semantic_touch")
        self._index: Any = None
        self.index_name = f"{INDEX_NAME}-{dimensions}"

    async def start(self) -> None:
        """Check for the search module and create the index if it does not exist."""
        # redisvl ships no type information.
        from redisvl.index import AsyncSearchIndex  # type: ignore[import-untyped]  # the package ships no type hints
        from redisvl.schema import IndexSchema  # type: ignore[import-untyped]  # the package ships no type hints

        try:
            await self.client.execute_command("FT._LIST")  # type: ignore[no-untyped-call]  # redis-py's execute_command is untyped
        except ResponseError as exc:
            raise ConfigError(
                "cache.semantic: REDIS_URL points at a Redis without the search module "
                "(FT.* commands); use Redis Stack or Redis 8 with the query engine, or set "
                "cache.semantic.enabled: false"
            ) from exc
        except RedisError as exc:
            raise StateBackendError(f"semantic cache: redis unreachable: {exc}") from exc
        schema = IndexSchema.from_dict(
            {
                "index": {
                    "name": self.index_name,
                    "prefix": f"{_PREFIX}:{self.dimensions}:",
                    "storage_type": "hash",
                },
                "fields": [
                    {"name": "part", "type": "tag"},
                    {
                        "name": "vec",
                        "type": "vector",
                        "attrs": {
                            "dims": self.dimensions,
                            "algorithm": "hnsw",
                            "distance_metric": "cosine",
                            "datatype": "float32",
                        },
                    },
                ],
            }
        )
        self._index = AsyncSearchIndex(schema, redis_client=self.client)
        await self._ensure_index()

    async def _ensure_index(self) -> None:
        from redisvl.exceptions import RedisVLError  # type: ignore[import-untyped]  # the package ships no type hints

        try:
            if not await self._index.exists():
                await self._index.create(overwrite=False)
        except (RedisError, RedisVLError) as exc:
            raise StateBackendError(f"semantic cache: cannot create the index: {exc}") from exc

    async def _versions(self, ns: Namespace) -> tuple[int, int, int]:
        raw = await self.client.mget([_version_key(s) for s in ns.scopes])
        epoch, tenant, sub = (int(v or 0) for v in raw)
        return epoch, tenant, sub if ns.sub is not None else 0

    async def _tag(self, ns: Namespace, partition: str) -> str:
        versions = await self._versions(ns)
        raw = f"{ns}|{versions}|{partition}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    async def search(
        self, ns: Namespace, partition: str, vector: Vector, k: int, floor: float
    ) -> list[Candidate]:
        from redisvl.exceptions import RedisVLError
        from redisvl.query import VectorQuery  # type: ignore[import-untyped]  # the package ships no type hints
        from redisvl.query.filter import Tag  # type: ignore[import-untyped]  # the package ships no type hints

        try:
            tag = await self._tag(ns, partition)
            query = VectorQuery(
                vector.astype("float32").tobytes(),
                "vec",
                return_fields=["prompt", "value", "exp", "label"],
                filter_expression=Tag("part") == tag,
                num_results=k,
            )
            rows = await self._index.query(query)
        # redisvl wraps the redis errors of a query in its own (not a RedisError).
        except (RedisError, RedisVLError) as exc:
            if "no such index" in str(exc).lower():
                # Redis restarted empty (or was flushed) and the index went with the data:
                # make it again, so the cache recovers without a gateway restart.
                await self._ensure_index()
                return []
            raise StateBackendError(f"semantic cache search failed: {exc}") from exc
        now = self.clock.time()
        out = []
        for row in rows:
            similarity = 1.0 - float(row["vector_distance"])
            if similarity < floor:
                continue
            if float(_text(row.get("exp")) or 0) <= now:
                continue
            out.append(
                Candidate(
                    _text(row["id"]),
                    similarity,
                    _text(row.get("prompt")),
                    _bytes(row.get("value")),
                    _text(row.get("label")),
                )
            )
        out.sort(key=lambda c: c.similarity, reverse=True)
        return out

    async def add(
        self,
        ns: Namespace,
        partition: str,
        prompt: str,
        vector: Vector,
        value: bytes,
        ttl: float | None = None,
        label: str = "",
    ) -> bool:
        ttl = self.bounds.ttl_seconds if ttl is None else ttl
        now = self.clock.time()
        key = f"{_PREFIX}:{self.dimensions}:{secrets.token_hex(12)}"
        try:
            tag = await self._tag(ns, partition)
            await self._add(
                keys=[key, _LRU, _STATS, _TICK],
                args=[
                    repr(now),
                    tag,
                    prompt,
                    vector.astype("float32").tobytes(),
                    value,
                    repr(now + ttl),
                    max(1, int(ttl * 1000)),
                    f"{ns} {label}"[:160],
                    self.bounds.max_entries,
                ],
            )
        except RedisError as exc:
            raise StateBackendError(f"semantic cache write failed: {exc}") from exc
        return True

    async def touch(self, candidate: Candidate) -> None:
        try:
            await self._touch(keys=[candidate.id, _LRU, _STATS, _TICK], args=[])
        except RedisError as exc:
            raise StateBackendError(f"semantic cache update failed: {exc}") from exc

    async def bump(self, scope: str) -> int:
        try:
            return int(await self.client.incr(_version_key(scope)))
        except RedisError as exc:
            raise StateBackendError(f"semantic cache invalidation failed: {exc}") from exc

    async def snapshot(self) -> dict[str, Any]:
        try:
            stats = await self.client.hgetall(_STATS)
            entries = await self.client.zcard(_LRU)
        except RedisError as exc:
            raise StateBackendError(f"semantic cache statistics failed: {exc}") from exc
        counts = {_text(k): int(v) for k, v in stats.items()}
        return {
            "entries": int(entries),
            "evictions": counts.get("evictions", 0),
            "expired": counts.get("expired", 0),
            "stores": counts.get("stores", 0),
            "hits": counts.get("hits", 0),
        }

    async def top(self, n: int) -> list[dict[str, Any]]:
        # Hit counts live in the entries; scan the most recently used ones for the best.
        try:
            recent = cast("list[bytes]", await self.client.zrevrange(_LRU, 0, max(4 * n, 100)))
            async with self.client.pipeline(transaction=False) as pipe:
                for member in recent:
                    pipe.hmget(member, "hits", "label")
                details = await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"semantic cache top entries failed: {exc}") from exc
        rows = [
            {"key": m.decode(), "hits": int(h or 0), "label": (lab or b"").decode()}
            for m, (h, lab) in zip(recent, details, strict=True)
            if h is not None
        ]
        rows.sort(key=lambda r: r["hits"], reverse=True)
        return rows[:n]

    async def close(self) -> None:
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()
