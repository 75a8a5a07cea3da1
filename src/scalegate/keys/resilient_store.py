"""What happens to admission when Redis is unreachable: an explicit, configured policy.

``fail_closed`` (the default) refuses requests with a 529 ``overloaded_error`` and a
``retry-after`` while shared state is unreachable: no replica can know what the others
spent, so none spends. ``fail_open`` switches every replica to a clearly marked local
limiter whose limits are each key's limit divided by the number of replicas (configured, or
the number last seen alive); its minute buckets start *empty* and fill at that share of the
rate, so the replicas together never exceed a key's limit even though they cannot see each
other. Either way every failure is counted, health says so, and the store tries Redis again
at most once a second: when it answers, shared state is back in charge (a lease reserved
locally settles locally).

There is no silent fallback: the policy is configuration, and the degraded state is visible.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Literal, TypeVar

from scalegate.clock import Clock, SystemClock
from scalegate.config import BreakerConfig, KeyLimits
from scalegate.errors import OverloadedError, StateBackendError
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import UpstreamKey
from scalegate.keys.redis_store import RedisKeyStore
from scalegate.keys.store import (
    Candidate,
    Demand,
    KeyStatus,
    ReserveResult,
    Settlement,
    SettleResult,
    Strategy,
)
from scalegate.state.outage import Outages

logger = logging.getLogger(__name__)

T = TypeVar("T")
Policy = Literal["fail_closed", "fail_open"]
LOCAL = "local"
RETRY_SECONDS = 1.0
JOURNAL_MAX = 100_000  # settlements kept through an outage (oldest dropped beyond)


def share_of(key: UpstreamKey, replicas: int) -> UpstreamKey:
    """The key with each limit divided among ``replicas`` (never below 1)."""
    if replicas <= 1:
        return key
    scaled = {
        name: None if value is None else max(1, value // replicas)
        for name, value in key.limits.model_dump().items()
    }
    return replace(key, limits=KeyLimits(**scaled))


class ResilientKeyStore:
    """A Redis key store with an outage policy; see the module docstring."""

    def __init__(
        self,
        primary: RedisKeyStore,
        policy: Policy,
        *,
        replicas: int | None = None,
        skew: float = 0.0,
        breaker: BreakerConfig | None = None,
        clock: Clock | None = None,
        retry_after: float = 5.0,
        outages: Outages | None = None,
    ) -> None:
        self.primary = primary
        self.policy = policy
        self._replicas = replicas
        self._skew = skew
        self._breaker = breaker
        self._clock = clock or SystemClock()
        self._retry_after = retry_after
        self._keys: dict[str, UpstreamKey] = {}
        self._fallback: MemoryKeyStore | None = None
        self._down_since: float | None = None
        self._down_wall = 0.0
        self._last_try = 0.0
        self.errors_total = 0
        self.fallback_reservations = 0
        self.last_error: str | None = None
        self._outages = outages
        # Settlements that could not be written (fail-closed outage): replayed on recovery,
        # so an answer the provider produced is never turned into an error by its settling.
        self._journal: collections.deque[tuple[str, Settlement]] = collections.deque(
            maxlen=JOURNAL_MAX
        )
        self.journaled_total = 0

    # -- state ------------------------------------------------------------------------------

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def replicas(self) -> int:
        return self._replicas or self.primary.replicas_alive

    def health(self) -> tuple[str, str]:
        if not self.down:
            return "ok", f"redis reachable; {self.primary.replicas_alive} replica(s) alive"
        since = time.strftime("%H:%M:%S", time.gmtime(self._down_wall))
        if self.policy == "fail_open":
            return "degraded", (
                f"redis unreachable since {since} UTC: "
                f"FAIL-OPEN on local limits (1/{self.replicas} of each key's) — {self.last_error}"
            )
        return "down", f"redis unreachable: FAIL-CLOSED, refusing requests — {self.last_error}"

    async def _call(
        self,
        primary: Callable[[], Awaitable[T]],
        fallback: Callable[[MemoryKeyStore], Awaitable[T]],
    ) -> T:
        now = self._clock.monotonic()
        if self.down and now - self._last_try < RETRY_SECONDS:
            return await self._degraded(fallback)
        try:
            result = await primary()
        except StateBackendError as exc:
            self._failed(exc, now)
            return await self._degraded(fallback)
        if self.down:
            logger.warning(
                "redis is reachable again: shared key state is back in charge",
                extra={"event": "redis_recovered"},
            )
            self._down_since = None
            self._fallback = None
            if self._outages is not None:
                self._outages.recovered("keys")
            await self._replay()
        return result

    async def _replay(self) -> None:
        """Write the journaled settlements (oldest first) now that Redis answers."""
        while self._journal:
            key_id, settlement = self._journal[0]
            try:
                await self.primary.settle(key_id, settlement)
            except StateBackendError:
                return  # down again: keep the rest for the next recovery
            self._journal.popleft()

    def _failed(self, exc: StateBackendError, now: float) -> None:
        self.errors_total += 1
        if self._outages is not None:
            self._outages.failed("keys", exc)
        self._last_try = now
        self.last_error = str(exc)
        if self._down_since is None:
            self._down_since = now
            self._down_wall = time.time()
            logger.error(
                "redis unreachable (%s): applying the %s policy",
                exc,
                self.policy.replace("_", "-"),
                extra={"event": "redis_down", "policy": self.policy},
            )

    async def _degraded(self, fallback: Callable[[MemoryKeyStore], Awaitable[T]]) -> T:
        if self.policy == "fail_closed":
            raise OverloadedError(
                "shared rate-limit state (Redis) is unreachable; the gateway fails closed",
                retry_after=self._retry_after,
            )
        return await fallback(await self._local())

    async def _local(self) -> MemoryKeyStore:
        if self._fallback is None:
            store = MemoryKeyStore(
                self._clock, self._skew, self._breaker, start_empty=True, origin=LOCAL
            )
            for key in list(self._keys.values()):
                await store.register(share_of(key, self.replicas))
            self._fallback = store
        return self._fallback

    # -- the protocol -----------------------------------------------------------------------

    async def register(self, key: UpstreamKey) -> None:
        self._keys[key.fingerprint] = key
        if self._fallback is not None:
            await self._fallback.register(share_of(key, self.replicas))
        try:
            await self.primary.register(key)
        except StateBackendError as exc:
            self._failed(exc, self._clock.monotonic())

    async def remove(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        if self._fallback is not None:
            await self._fallback.remove(key_id)
        await self._call(lambda: self.primary.remove(key_id), lambda s: s.remove(key_id))

    async def reserve(
        self,
        candidates: Sequence[Candidate],
        demand: Demand,
        strategy: Strategy,
        rank: int,
        affinity: str | None = None,
        *,
        complete: bool = True,
    ) -> ReserveResult:
        async def local(store: MemoryKeyStore) -> ReserveResult:
            result = await store.reserve(
                candidates, demand, strategy, rank, affinity, complete=complete
            )
            if result.key_id is not None:
                self.fallback_reservations += 1
            return result

        return await self._call(
            lambda: self.primary.reserve(
                candidates, demand, strategy, rank, affinity, complete=complete
            ),
            local,
        )

    async def settle(self, key_id: str, settlement: Settlement) -> SettleResult:
        if settlement.origin == LOCAL:
            if self._fallback is None:
                return SettleResult()  # the outage is over; the local state went with it
            return await self._fallback.settle(key_id, settlement)
        try:
            return await self._call(
                lambda: self.primary.settle(key_id, settlement),
                lambda s: s.settle(key_id, replace(settlement, snapshot=())),
            )
        except OverloadedError:  # fail-closed: the answer exists, its settlement waits
            self._journal.append((key_id, settlement))
            self.journaled_total += 1
            return SettleResult()

    async def set_disabled(self, key_id: str, reason: str | None) -> None:
        if self._fallback is not None:
            await self._fallback.set_disabled(key_id, reason)
        await self._call(
            lambda: self.primary.set_disabled(key_id, reason),
            lambda s: s.set_disabled(key_id, reason),
        )

    async def status(self, key_id: str) -> KeyStatus | None:
        """Never raises: health and metrics must answer while Redis is down."""
        try:
            return await self._call(lambda: self.primary.status(key_id), lambda s: s.status(key_id))
        except OverloadedError:
            return KeyStatus({}, 0.0, "unknown", None, False)

    async def set_waiting(self, key_ids: Sequence[str], rank: int, waiting: bool) -> None:
        async def nothing(_: MemoryKeyStore) -> None:
            return None

        # Fail-closed refuses new work; withdrawing a waiting flag is best effort.
        with contextlib.suppress(OverloadedError):
            await self._call(lambda: self.primary.set_waiting(key_ids, rank, waiting), nothing)

    async def close(self) -> None:
        await self.primary.close()
