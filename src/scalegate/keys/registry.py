"""Keys added and removed at run time (admin API, CLI), shared by every replica.

The configuration file and ``ANTHROPIC_API_KEYS`` give each replica its keys at start; an
operator can then add a key, or remove one (also one from the file), without a restart. The
registry records those changes — in process memory, or in Redis so that every replica applies
them: each change bumps a generation counter that the replicas poll, and a replica that sees a
new generation recomputes its key set (file keys + added − removed) and applies the
difference to its pool without dropping requests in flight.

In shared mode the secrets of keys added at run time are stored in Redis (under
``scalegate:keys:registry``): Redis must be private to the gateway (AUTH, TLS, network
policy), as it already is for the quotas it guards.
"""

from __future__ import annotations

from typing import Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.config import KeyConfig
from scalegate.errors import StateBackendError
from scalegate.keys.model import fingerprint
from scalegate.state.names import key as rkey


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _dump(cfg: KeyConfig) -> bytes:
    doc = cfg.model_dump(by_alias=True, exclude_none=True)
    doc["secret"] = cfg.secret.get_secret_value()
    return orjson.dumps(doc)


class KeyRegistry(Protocol):
    async def generation(self) -> int: ...

    async def added(self) -> dict[str, KeyConfig]: ...

    async def removed(self) -> set[str]: ...

    async def add(self, cfg: KeyConfig) -> str:
        """Record a key; returns its fingerprint (a removed one comes back)."""

    async def remove(self, fp: str) -> None: ...


class MemoryKeyRegistry:
    def __init__(self) -> None:
        self._added: dict[str, KeyConfig] = {}
        self._removed: set[str] = set()
        self._gen = 0

    async def generation(self) -> int:
        return self._gen

    async def added(self) -> dict[str, KeyConfig]:
        return dict(self._added)

    async def removed(self) -> set[str]:
        return set(self._removed)

    async def add(self, cfg: KeyConfig) -> str:
        fp = fingerprint(cfg.secret.get_secret_value(), cfg.name)
        self._added[fp] = cfg
        self._removed.discard(fp)
        self._gen += 1
        return fp

    async def remove(self, fp: str) -> None:
        self._added.pop(fp, None)
        self._removed.add(fp)
        self._gen += 1


class RedisKeyRegistry:
    def __init__(self, client: Redis) -> None:
        self._redis = client
        self._added_key = rkey("keys", "registry", "added")
        self._removed_key = rkey("keys", "registry", "removed")
        self._gen_key = rkey("keys", "registry", "generation")

    async def generation(self) -> int:
        try:
            value = await self._redis.get(self._gen_key)
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
        return int(value or 0)

    async def added(self) -> dict[str, KeyConfig]:
        try:
            raw = await self._redis.hgetall(self._added_key)
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
        return {_text(k): KeyConfig.model_validate(orjson.loads(v)) for k, v in raw.items()}

    async def removed(self) -> set[str]:
        try:
            raw = await self._redis.smembers(self._removed_key)
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
        return {_text(m) for m in raw}

    async def add(self, cfg: KeyConfig) -> str:
        fp = fingerprint(cfg.secret.get_secret_value(), cfg.name)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._added_key, fp, _dump(cfg))
                pipe.srem(self._removed_key, fp)
                pipe.incr(self._gen_key)
                await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
        return fp

    async def remove(self, fp: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._added_key, fp)
                pipe.sadd(self._removed_key, fp)
                pipe.incr(self._gen_key)
                await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
