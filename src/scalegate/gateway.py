"""The running gateway: settings plus the live objects built from them, started and stopped.

``Gateway`` is what the lifespan creates and every route receives; there are no module-level
singletons. With no upstream keys configured it starts the built-in simulated provider in the
same event loop and points the pool at it (demo mode), and says so loudly.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING

from scalegate.attempts import Attempts
from scalegate.cache.service import CacheService
from scalegate.capacity import GatewayCapacity
from scalegate.clock import Clock, SystemClock
from scalegate.config import KeyConfig, Settings
from scalegate.errors import StateBackendError
from scalegate.jobs.pool import WorkerPool
from scalegate.jobs.queue import JobQueue
from scalegate.jobs.runner import PipelineRunner
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.manager import KeyManager
from scalegate.keys.model import keys_from_config
from scalegate.keys.pool import KeyPool
from scalegate.keys.resilient_store import ResilientKeyStore
from scalegate.observe.observer import Observer
from scalegate.pipeline import Pipeline
from scalegate.pricing import PriceTable
from scalegate.priority import Priority
from scalegate.retry import Backoff
from scalegate.sessions import SessionStore
from scalegate.state.outage import Outages
from scalegate.state.stores import MemoryStores, Stores, stores_from_url
from scalegate.tenants import TenantDirectory
from scalegate.tenants.limits import TenantLimiter
from scalegate.tokens import TokenEstimator
from scalegate.upstream.client import UpstreamClient

if TYPE_CHECKING:
    from scalegate.simulator import SimulatorServer

logger = logging.getLogger(__name__)


class Gateway:
    """Owns the pool, the upstream session and the pipeline for one process.

    Embed it in a Python app with ``async with Gateway(load_settings()) as gw:`` and call
    ``await gw.pipeline.message({...})``; the HTTP app (:func:`scalegate.create_app`) wraps
    the same object.
    """

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, workers: bool | None = None
    ) -> None:
        self.settings = settings
        # Run a job worker pool in this process: always without Redis (the queue lives
        # here), else as queue.embedded_workers says; `scalegate worker` passes True.
        self.run_workers = (
            workers
            if workers is not None
            else (settings.queue.embedded_workers or not settings.redis_url)
        )
        self._jobs: JobQueue | None = None
        self.workers: WorkerPool | None = None
        self.clock = clock or SystemClock()
        self.simulator: SimulatorServer | None = None
        self.started_at = time.time()
        self.draining = False
        self._workers_stopping: asyncio.Task[None] | None = None
        self.tenants = TenantDirectory(settings.tenants)
        self.limiter: TenantLimiter | None = None
        self._pool: KeyPool | None = None
        self._pipeline: Pipeline | None = None
        self._upstream: UpstreamClient | None = None
        self._cache: CacheService | None = None
        self.stores: Stores = MemoryStores()
        self.sessions: SessionStore = self.stores.session_store(self.clock)
        self.outages = Outages.from_settings(
            settings.shared.on_redis_failure,
            settings.shared.tenants_on_failure,
            settings.shared.retry_after_seconds,
        )
        self.key_store: ResilientKeyStore | None = None
        self._keys: KeyManager | None = None
        # Metrics, health, dashboard data, alert webhook (started last, stopped first).
        self.observer = Observer(settings)

    @property
    def simulated(self) -> bool:
        return self.settings.simulated

    @property
    def pool(self) -> KeyPool:
        assert self._pool is not None, "Gateway.start() was not called"
        return self._pool

    @property
    def keys(self) -> KeyManager:
        assert self._keys is not None, "Gateway.start() was not called"
        return self._keys

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "Gateway.start() was not called"
        return self._pipeline

    @property
    def cache(self) -> CacheService:
        assert self._cache is not None, "Gateway.start() was not called"
        return self._cache

    @property
    def jobs(self) -> JobQueue:
        assert self._jobs is not None, "Gateway.start() was not called"
        return self._jobs

    async def _start_jobs(self) -> None:
        self._jobs = JobQueue.on_stores(self.stores, self.settings.queue, clock=self.clock)
        await self._jobs.start()
        if self.run_workers:
            self.workers = WorkerPool(
                self._jobs,
                PipelineRunner(self.pipeline, self.settings.queue),
                capacity=self.pool.free_capacity,
                outages=self.outages,
            )
            await self.workers.start()

    async def _start_stores(self) -> None:
        """One Redis connection pool for keys, caches and jobs (shared mode), or memory.

        Shared mode needs Redis from the start (the keys' state, the queue, the caches all
        live there): the gateway waits for it up to ``shared.startup_wait_seconds`` and then
        gives up with one clear error. Once running, an outage is handled by each
        subsystem's policy instead (:mod:`scalegate.state.outage`).
        """
        stores = stores_from_url(self.settings.redis_url)
        wait = self.settings.shared.startup_wait_seconds
        deadline = time.monotonic() + wait
        while True:
            try:
                await stores.start()
                break
            except StateBackendError as exc:
                if time.monotonic() >= deadline:
                    await stores.close()
                    raise StateBackendError(f"{exc} (waited {wait:g} s at start)") from exc
                logger.warning("waiting for redis: %s", exc)
                await asyncio.sleep(1.0)
        self.stores = stores

    async def start(self) -> None:
        settings = self.settings
        key_configs = settings.keys
        base_url = settings.upstream.base_url
        if settings.simulated:
            key_configs, base_url = await self._start_simulator()
        await self._start_stores()
        stores = self.stores
        self._upstream = UpstreamClient(settings.upstream, base_url)
        await self._upstream.start()
        self.key_store = await stores.key_store(settings, self.clock, self.outages)
        self._pool = KeyPool(
            keys_from_config(key_configs),
            store=self.key_store,
            clock=self.clock,
            admission=settings.admission,
            breaker=settings.breaker,
            on_wait=self.observer.sink.admission_wait,
            alerts=AlertTracker(listeners=self.observer.alert_listeners()),
        )
        await self._pool.start()
        self._keys = KeyManager(self._pool, stores.key_registry(), key_configs, self.outages)
        await self._keys.start(poll=stores.shared)
        self.limiter = TenantLimiter(stores.tenant_store(self.clock), self.clock)
        self.sessions = stores.session_store(self.clock)
        self._cache = await CacheService.start(
            settings, stores, clock=self.clock, outages=self.outages
        )
        attempts = Attempts(
            settings,
            self._pool,
            self._upstream,
            TokenEstimator(),
            self.clock,
            Backoff(settings.retry),
        )
        self._pipeline = Pipeline(
            attempts,
            self.tenants,
            clock=self.clock,
            prices=PriceTable(settings.prices),
            outages=self.outages,
            limiter=self.limiter,
            cache=self._cache,
            sink=self.observer.sink,
            default_wait={p: settings.admission.wait_for(p) for p in Priority},
            capacity=GatewayCapacity(
                settings.upstream.max_connections, settings.server.max_open_streams
            ),
        )
        await self._start_jobs()
        await self.observer.start(self)
        if not settings.tenants:
            logger.warning(
                "no tenants configured: the gateway is OPEN (any client key is accepted)"
            )
        logger.info(
            "gateway ready: %d upstream key(s) → %s%s",
            len(key_configs),
            base_url,
            " (SIMULATED provider)" if settings.simulated else "",
        )

    async def _start_simulator(self) -> tuple[tuple[KeyConfig, ...], str]:
        from scalegate.simulator import (
            LatencyConfig,
            SimKeyLimits,
            SimulatorConfig,
            SimulatorServer,
        )

        demo = self.settings.demo
        secrets_ = [f"sk-sim-demo{i + 1}-{secrets.token_hex(16)}" for i in range(demo.keys)]
        limits = SimKeyLimits(rpm=demo.limits.rpm, itpm=demo.limits.itpm, otpm=demo.limits.otpm)
        config = SimulatorConfig(
            keys=dict.fromkeys(secrets_, limits),
            latency=LatencyConfig(ttft_ms=demo.ttft_ms, tokens_per_second=demo.tokens_per_second),
        )
        self.simulator = SimulatorServer(config)
        await self.simulator.start()
        logger.warning(
            "no upstream API keys configured: serving against the built-in SIMULATED provider "
            "at %s with %d generated keys (%s rpm, %s input / %s output tokens per minute each)",
            self.simulator.url,
            demo.keys,
            demo.limits.rpm,
            demo.limits.itpm,
            demo.limits.otpm,
        )
        keys = tuple(
            KeyConfig.model_validate(
                {"secret": s, "name": f"demo{i + 1}", "limits": demo.limits.model_dump()}
            )
            for i, s in enumerate(secrets_)
        )
        return keys, self.simulator.url

    async def add_key(self, cfg: KeyConfig) -> str:
        return await self.keys.add(cfg)

    async def remove_key(self, fingerprint: str) -> None:
        await self.keys.remove(fingerprint)

    async def reload(self, settings: Settings) -> None:
        """SIGHUP: take the file's key list now; other changes need a restart (logged)."""
        if settings.model_dump(exclude={"keys"}) != self.settings.model_dump(exclude={"keys"}):
            logger.warning("configuration reloaded: only key changes apply without a restart")
        if not self.simulated:
            await self.keys.reload(settings.keys)

    async def disable_key(self, fingerprint: str) -> None:
        await self.pool.disable(fingerprint)

    async def enable_key(self, fingerprint: str) -> None:
        await self.pool.enable(fingerprint)

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def begin_shutdown(self) -> None:
        """SIGTERM: refuse new work at once, and let job workers stop leasing and finish
        their jobs while the HTTP server drains, rather than after it (the two graces
        overlap instead of adding up)."""
        self.draining = True
        if self.workers is not None and self._workers_stopping is None:
            self._workers_stopping = asyncio.get_running_loop().create_task(
                self.workers.stop(), name="scalegate-workers-stop"
            )

    async def stop(self) -> None:
        self.draining = True
        await self.observer.stop()
        if self._workers_stopping is not None:
            await self._workers_stopping
        elif self.workers is not None:  # finish or release held jobs while upstream works
            await self.workers.stop()
        if self._jobs is not None:
            await self._jobs.close()
        if self._keys is not None:
            await self._keys.close()
        if self._pool is not None:
            await self._pool.close()
        if self._upstream is not None:
            await self._upstream.close()
        if self._cache is not None:
            await self._cache.close()
        await self.stores.close()
        if self.simulator is not None:
            await self.simulator.stop()
