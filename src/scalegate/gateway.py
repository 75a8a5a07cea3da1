"""The running gateway: settings plus the live objects built from them, started and stopped.

``Gateway`` is what the lifespan creates and every route receives; there are no module-level
singletons. With no upstream keys configured it starts the built-in simulated provider in the
same event loop and points the pool at it (demo mode), and says so loudly.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING

from scalegate.clock import Clock, SystemClock
from scalegate.config import KeyConfig, Settings
from scalegate.keys.model import keys_from_config
from scalegate.keys.pool import KeyPool
from scalegate.pipeline import Pipeline
from scalegate.tenants import TenantDirectory
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

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.simulator: SimulatorServer | None = None
        self.started_at = time.time()
        self.draining = False
        self.tenants = TenantDirectory(settings.tenants)
        self._pool: KeyPool | None = None
        self._pipeline: Pipeline | None = None
        self._upstream: UpstreamClient | None = None

    @property
    def simulated(self) -> bool:
        return self.settings.simulated

    @property
    def pool(self) -> KeyPool:
        assert self._pool is not None, "Gateway.start() was not called"
        return self._pool

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "Gateway.start() was not called"
        return self._pipeline

    async def start(self) -> None:
        settings = self.settings
        key_configs = settings.keys
        base_url = settings.upstream.base_url
        if settings.simulated:
            key_configs, base_url = await self._start_simulator()
        self._upstream = UpstreamClient(settings.upstream, base_url)
        await self._upstream.start()
        self._pool = KeyPool(
            keys_from_config(key_configs),
            clock=self.clock,
            admission=settings.admission,
            breaker=settings.breaker,
        )
        await self._pool.start()
        self._pipeline = Pipeline(
            settings, self._pool, self._upstream, estimator=TokenEstimator(), clock=self.clock
        )
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

    async def disable_key(self, fingerprint: str) -> None:
        await self.pool.disable(fingerprint)

    async def enable_key(self, fingerprint: str) -> None:
        await self.pool.enable(fingerprint)

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self.draining = True
        if self._pool is not None:
            await self._pool.close()
        if self._upstream is not None:
            await self._upstream.close()
        if self.simulator is not None:
            await self.simulator.stop()
