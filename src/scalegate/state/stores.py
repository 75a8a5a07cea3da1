"""One URL gives every store: the factory in the spirit of ``limits.storage_from_string``.

:func:`stores_from_url` maps ``memory://`` (or nothing) and ``redis://…`` to a
:class:`Stores` family; each subsystem asks it for the store it needs (key state, key
registry, tenant limits, exact and semantic cache entries, the job queue) through a
narrow method, and nobody else looks at which family it is. Builders import their
implementations lazily: a memory gateway never imports a Redis store module.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from scalegate.clock import Clock
from scalegate.state.backend import Backend, MemoryBackend, RedisBackend, backend_from_url

if TYPE_CHECKING:
    from scalegate.cache.semantic_store import SemanticStore
    from scalegate.cache.store import Bounds, ExactStore
    from scalegate.config import Settings
    from scalegate.jobs.backend import QueueBackend
    from scalegate.keys.registry import KeyRegistry
    from scalegate.keys.resilient_store import ResilientKeyStore
    from scalegate.sessions import SessionStore
    from scalegate.state.outage import Outages
    from scalegate.tenants.limits import TenantStore


class Stores(Protocol):
    """The family of stores one state URL stands for."""

    backend: Backend
    shared: bool  # state seen by every replica (Redis), or this process only

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool | None:
        """``None`` when there is nothing to reach (memory)."""

    async def key_store(
        self, settings: Settings, clock: Clock, outages: Outages | None = None
    ) -> ResilientKeyStore | None:
        """Shared key state behind its outage policy; ``None``: the pool keeps its own."""

    def key_registry(self) -> KeyRegistry: ...

    def tenant_store(self, clock: Clock) -> TenantStore: ...

    def exact_store(self, bounds: Bounds, clock: Clock) -> ExactStore: ...

    async def semantic_store(self, dims: int, bounds: Bounds, clock: Clock) -> SemanticStore: ...

    def queue_backend(self) -> QueueBackend: ...

    def session_store(self, clock: Clock) -> SessionStore: ...


class MemoryStores:
    """Everything in this process's memory."""

    shared = False

    def __init__(self, backend: MemoryBackend | None = None) -> None:
        self.backend: Backend = backend or MemoryBackend()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool | None:
        return None

    async def key_store(
        self, settings: Settings, clock: Clock, outages: Outages | None = None
    ) -> ResilientKeyStore | None:
        return None

    def key_registry(self) -> KeyRegistry:
        from scalegate.keys.registry import MemoryKeyRegistry

        return MemoryKeyRegistry()

    def tenant_store(self, clock: Clock) -> TenantStore:
        from scalegate.tenants.limits import MemoryTenantStore

        return MemoryTenantStore(clock)

    def exact_store(self, bounds: Bounds, clock: Clock) -> ExactStore:
        from scalegate.cache.store import MemoryExactStore

        return MemoryExactStore(bounds, clock=clock)

    async def semantic_store(self, dims: int, bounds: Bounds, clock: Clock) -> SemanticStore:
        from scalegate.cache.semantic_store import MemorySemanticStore

        return MemorySemanticStore(dims, bounds, clock=clock)

    def queue_backend(self) -> QueueBackend:
        from scalegate.jobs.memory import MemoryQueue

        return MemoryQueue()

    def session_store(self, clock: Clock) -> SessionStore:
        from scalegate.sessions import MemorySessionStore

        return MemorySessionStore(clock)


class RedisStores:
    """Everything in one Redis, over one connection pool (every replica sees it)."""

    shared = True

    def __init__(self, backend: RedisBackend) -> None:
        self.backend: Backend = backend
        self.redis = backend

    async def start(self) -> None:
        await self.redis.start()

    async def close(self) -> None:
        await self.redis.close()

    async def ping(self) -> bool | None:
        try:
            await asyncio.wait_for(self.redis.client.ping(), 1.0)
        except Exception:
            return False
        return True

    async def key_store(
        self, settings: Settings, clock: Clock, outages: Outages | None = None
    ) -> ResilientKeyStore | None:
        from scalegate.keys.redis_store import RedisKeyStore
        from scalegate.keys.resilient_store import ResilientKeyStore

        primary = RedisKeyStore(
            self.redis.client, skew=settings.admission.skew_seconds, breaker=settings.breaker
        )
        await primary.start()  # the heartbeat keeps trying while Redis is down
        return ResilientKeyStore(
            primary,
            settings.shared.on_redis_failure,
            replicas=settings.shared.replicas,
            skew=settings.admission.skew_seconds,
            breaker=settings.breaker,
            retry_after=settings.shared.retry_after_seconds,
            outages=outages,
        )

    def key_registry(self) -> KeyRegistry:
        from scalegate.keys.registry import RedisKeyRegistry

        return RedisKeyRegistry(self.redis.client)

    def tenant_store(self, clock: Clock) -> TenantStore:
        from scalegate.tenants.limits import RedisTenantStore

        return RedisTenantStore(self.redis.client)

    def exact_store(self, bounds: Bounds, clock: Clock) -> ExactStore:
        from scalegate.cache.redis_store import RedisExactStore

        return RedisExactStore(self.redis.client, bounds, clock=clock)

    async def semantic_store(self, dims: int, bounds: Bounds, clock: Clock) -> SemanticStore:
        from scalegate.cache.redis_semantic import RedisSemanticStore

        store = RedisSemanticStore(self.redis.client, dims, bounds, clock=clock)
        await store.start()
        return store

    def queue_backend(self) -> QueueBackend:
        from scalegate.jobs.redis_queue import RedisQueue

        return RedisQueue(self.redis.client)

    def session_store(self, clock: Clock) -> SessionStore:
        from scalegate.sessions import RedisSessionStore

        return RedisSessionStore(self.redis.client)


def stores_from_url(url: str | None) -> MemoryStores | RedisStores:
    """``None`` or ``memory://`` → memory; ``redis://``, ``rediss://``, ``unix://`` → Redis."""
    backend = backend_from_url(url)
    if isinstance(backend, RedisBackend):  # the one place that looks
        return RedisStores(backend)
    return MemoryStores(backend)
