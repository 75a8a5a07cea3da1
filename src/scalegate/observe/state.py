"""One read of everything the gateway's health, metrics and dashboard report.

:func:`gather` asks each subsystem once — the keys' state (from Redis in shared mode), the
job queue's counts and the worker pools' heartbeats, the cache stores, a Redis PING — all at
the same time, each behind a short timeout and its own error handling, so one slow or broken
part never hides the others. Scrapes, the health endpoints and the dashboard all start from
one :class:`State`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from scalegate.errors import StateBackendError

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A part that takes longer than this is reported as unavailable rather than waited for.
PART_TIMEOUT_SECONDS = 2.0


@dataclass(slots=True)
class State:
    at: float  # wall clock
    keys: list[dict[str, Any]]
    queue: dict[str, Any] | None  # depth by priority, ready, delayed, in_flight, dead, totals
    workers: list[dict[str, Any]] | None  # live worker pools' heartbeats
    cache: dict[str, Any] | None  # CacheService.snapshot()
    redis_up: bool | None  # None in embedded mode
    errors: dict[str, str] = field(default_factory=dict)  # part → why it is missing

    @property
    def usable(self) -> int:
        return sum(1 for k in self.keys if k["status"] in ("ok", "probation", "breaker_half_open"))


async def _part(name: str, call: Awaitable[T], errors: dict[str, str]) -> T | None:
    try:
        return await asyncio.wait_for(call, PART_TIMEOUT_SECONDS)
    except (StateBackendError, TimeoutError, OSError) as exc:
        errors[name] = str(exc) or type(exc).__name__
    except Exception as exc:  # a report must come back even when a part is broken
        logger.warning("reading %s for monitoring failed", name, exc_info=True)
        errors[name] = f"{type(exc).__name__}: {exc}"
    return None


async def gather(gw: Gateway) -> State:
    """Read every part at once (see the module docstring)."""
    errors: dict[str, str] = {}
    queue = gw.jobs
    keys, counts, workers, cache, redis_up = await asyncio.gather(
        _part("keys", gw.pool.status(), errors),
        _part("queue", queue.counts(), errors),
        _part("workers", queue.workers(), errors),
        _part("cache", gw.cache.snapshot(), errors),
        gw.stores.ping(),
    )
    return State(time.time(), keys or [], counts, workers, cache, redis_up, errors)
