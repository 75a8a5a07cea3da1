"""The live simulator: config, per-key buckets, prompt cache, revocations, holds and stats.

Buckets are per key *and* rate-limit class (see :meth:`Simulator.limiter`).

One :class:`Simulator` per app, reachable as ``app[SIMULATOR_KEY]``. It is used from the
app's event loop only, so it needs no locks; in-process tests may read it between requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from aiohttp import web

from scalegate.clock import Clock, SystemClock
from scalegate.errors import AuthenticationError
from scalegate.simulator.buckets import KeyLimiter
from scalegate.simulator.catalog import ModelCatalog
from scalegate.simulator.config import SimulatorConfig, apply_config_update
from scalegate.simulator.faults import FaultRoller
from scalegate.simulator.prompt_cache import PromptCache
from scalegate.simulator.recorder import RecordedRequest, RequestLog
from scalegate.simulator.stats import SimStats

logger = logging.getLogger(__name__)


class Holds:
    """Requests parked by ``x-sim-hold: <id>`` until ``POST /_sim/release/<id>``."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: Counter[str] = Counter()

    async def wait(self, hold_id: str, max_seconds: float) -> bool:
        """Wait for a release (real time, at most ``max_seconds``); False if it timed out."""
        event = self._events.setdefault(hold_id, asyncio.Event())
        self._waiting[hold_id] += 1
        try:
            async with asyncio.timeout(max_seconds):
                await event.wait()
            return True
        except TimeoutError:
            logger.warning("hold %r not released in %.1f s; continuing", hold_id, max_seconds)
            return False
        finally:
            self._waiting[hold_id] -= 1
            if self._waiting[hold_id] <= 0:
                del self._waiting[hold_id]
                if self._events.get(hold_id) is event:
                    del self._events[hold_id]

    def release(self, hold_id: str) -> int:
        """Release every request held under ``hold_id``; returns how many there were."""
        event = self._events.pop(hold_id, None)
        if event is None:
            return 0
        event.set()
        return self._waiting.get(hold_id, 0)

    def held(self) -> list[str]:
        return sorted(self._waiting)

    def release_all(self) -> None:
        for hold_id in list(self._events):
            self.release(hold_id)


class Simulator:
    """All state of one simulated provider."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.catalog = ModelCatalog(config.models)
        self.stats = SimStats()
        self.cache = PromptCache()
        self.holds = Holds()
        self.faults = FaultRoller(config.seed)
        self.revoked: set[str] = set()
        self.requests = RequestLog(config.record_requests)
        self._limiters: dict[tuple[str, str], KeyLimiter] = {}  # (key, rate class)
        self._register_keys()

    def _register_keys(self) -> None:
        for key in self.config.keys:
            self.stats.key(key)

    def authenticate(self, key: str | None) -> str:
        """The key itself, or a 401 for a missing, unknown or revoked key."""
        if not key:
            raise AuthenticationError("x-api-key header is required")
        if key in self.revoked:
            raise AuthenticationError("This API key has been revoked.")
        if self.config.limits_for(key) is None:
            raise AuthenticationError("invalid x-api-key")
        return key

    def limiter(self, key: str, model: str) -> KeyLimiter:
        """The buckets ``key`` spends on ``model``: one set per rate-limit class.

        The provider pools some families (every Opus 4.x model draws on one limit), so two
        models of one class share these buckets while other classes have their own. Each
        class starts with the key's full configured limits.
        """
        limits = self.config.limits_for(key)
        if limits is None:  # a key removed by a config update since it authenticated
            raise AuthenticationError("invalid x-api-key")
        slot = (key, self.catalog.rate_class(model))
        limiter = self._limiters.get(slot)
        if limiter is None:
            limiter = self._limiters[slot] = KeyLimiter(limits, self.clock.monotonic())
        return limiter

    @property
    def recorded(self) -> list[RecordedRequest]:
        """Requests as they arrived, oldest first (only with ``record_requests`` set)."""
        return list(self.requests.entries)

    def ratelimit_headers(self, limiter: KeyLimiter) -> dict[str, str]:
        return limiter.headers(self.clock.monotonic(), self.clock.time())

    def revoke(self, key: str) -> None:
        self.revoked.add(key)
        self.stats.key(key)

    def restore(self, key: str) -> None:
        self.revoked.discard(key)

    def reset(self) -> None:
        """Zero stats, refill buckets, clear the prompt cache, revocations and recorded
        requests, reseed faults."""
        now = self.clock.monotonic()
        self.stats.reset()
        self._register_keys()
        for limiter in self._limiters.values():
            limiter.refill_all(now)
        self.cache.clear()
        self.revoked.clear()
        self.requests.clear()
        self.faults = FaultRoller(self.config.seed)

    def update_config(self, update: object) -> SimulatorConfig:
        """Merge a partial update (see :func:`apply_config_update`) and apply it live.

        Changed limits keep each bucket's level (clamped); new keys start with full buckets;
        keys no longer accepted lose their buckets (their next request is a 401).
        """
        config = apply_config_update(self.config, update)
        now = self.clock.monotonic()
        for slot, limiter in list(self._limiters.items()):
            limits = config.limits_for(slot[0])
            if limits is None:
                del self._limiters[slot]
            else:
                limiter.update(limits, now)
        self.config = config
        self._register_keys()
        return config


SIMULATOR_KEY: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)
