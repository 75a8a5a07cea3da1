"""The key store in Redis (shared mode): every replica sees and changes the same key state.

Data layout (all under ``scalegate:keys:``):

* ``<fp>`` — hash: capacity, level and last update of each minute bucket (``cap:rpm``,
  ``lvl:rpm``, ``upd:rpm`` …), everything ever reserved (``taken:…``), the cooldown end
  (``cool``), the breaker (``b:state`` 0 closed / 1 half-open / 2 open, ``b:opened``,
  ``b:consec``, ``b:probe``), ``disabled`` (a reason) and ``quarantined``;
* ``<fp>:w:rph`` / ``<fp>:w:rpd`` — hash: the sliding window's slots (slot start → count);
* ``<fp>:b`` — hash: the breaker's outcome counts per second of its window;
* ``<fp>:waiting`` — hash: ``<replica>:<rank>`` present while that replica has requests of
  that priority waiting for the key (cross-replica priority, see ``KeyPool``);
* ``scalegate:keys:replicas`` — hash: replica id → last heartbeat (server time);
* ``scalegate:affinity:<prefix hash>`` — string: the key that last served a prompt-cache
  prefix, expiring with the provider's cache.

Each operation is one Lua script (``lua/*.lua``, sharing ``common.lua``), so reserve and
settle are atomic and one round trip each. Time is the Redis server's clock unless a clock is
injected (tests), so replicas never disagree about refill or cooldowns. Every Redis failure
leaves as :class:`~scalegate.errors.StateBackendError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Sequence
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from scalegate.clock import Clock
from scalegate.config import BreakerConfig
from scalegate.errors import StateBackendError
from scalegate.keys.model import UpstreamKey
from scalegate.keys.store import (
    AFFINITY_SECONDS,
    DRIFT_TOLERANCE,
    QUARANTINE_REASON,
    Candidate,
    Demand,
    KeyStatus,
    LimitUsage,
    ReserveResult,
    Settlement,
    SettleResult,
    Strategy,
)
from scalegate.state.names import key as rkey

logger = logging.getLogger(__name__)

T = TypeVar("T")

HEARTBEAT_SECONDS = 2.0
ALIVE_SECONDS = 10.0  # a replica silent this long no longer holds keys for its waiters
_HEALTH_CODES = {"success": "s", "failure": "f", "neutral": "n", "auth": "a"}
_BUCKETS = ("rpm", "itpm", "otpm")
EPOCH = "epoch"  # the snapshot entry naming the key state it was taken in


@cache
def _source(name: str) -> str:
    lua = resources.files("scalegate.keys") / "lua"
    return (lua / "common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


def _f(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _reserved(
    rest: Sequence[Any],
) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float, float], ...]]:
    """The reserve script's (limit, use ratio, left, taken) entries as the ratios and the
    snapshot of a :class:`ReserveResult`; its "epoch" entry names the key state the
    snapshot counts in ('' from a state older than epochs: none)."""
    ratios, snapshot = [], []
    for i in range(0, len(rest), 4):
        name = _s(rest[i])
        if name == EPOCH:
            if _s(rest[i + 2]):
                snapshot.append((EPOCH, 0.0, _f(rest[i + 2])))
            continue
        ratios.append((name, _f(rest[i + 1])))
        if name in _BUCKETS:
            snapshot.append((name, _f(rest[i + 2]), _f(rest[i + 3])))
    return tuple(ratios), tuple(snapshot)


class RedisKeyStore:
    """Key state in Redis; see :class:`scalegate.keys.store.KeyStore`."""

    def __init__(
        self,
        client: Redis,
        *,
        clock: Clock | None = None,
        skew: float = 0.0,
        breaker: BreakerConfig | None = None,
        replica: str | None = None,
    ) -> None:
        """``clock=None`` uses the Redis server's clock (production); tests inject one."""
        self._redis = client
        self._clock = clock
        self._skew = skew
        self._breaker = breaker or BreakerConfig()
        self.replica = replica or secrets.token_hex(6)
        self._scripts: dict[str, AsyncScript] = {}
        self._turn = 0
        self._heartbeat: asyncio.Task[None] | None = None
        self._registered: dict[str, UpstreamKey] = {}
        # The provider's last reported remaining per key (fingerprint → limit → count).
        self._remaining: dict[str, dict[str, float]] = {}
        self._reported: dict[str, dict[str, float]] = {}  # and the limits it reported
        self.replicas_alive = 1

    def _now(self) -> str:
        return "-1" if self._clock is None else repr(self._clock.monotonic())

    def _script(self, name: str) -> AsyncScript:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self._redis.register_script(_source(name))
        return script

    async def _run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._guard(self._script(name)(keys=list(keys), args=list(args)))

    @staticmethod
    async def _guard(call: Awaitable[T]) -> T:
        try:
            return await call
        except RedisError as exc:
            raise StateBackendError(f"redis: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _keys(fp: str) -> tuple[str, str, str, str, str]:
        return (
            rkey("keys", fp),
            rkey("keys", fp, "waiting"),
            rkey("keys", fp, "w", "rph"),
            rkey("keys", fp, "w", "rpd"),
            rkey("keys", fp, "b"),
        )

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Announce this replica and keep doing so (also while Redis is down: it retries)."""
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat_forever(), name="scalegate-replica-heartbeat"
        )
        with contextlib.suppress(StateBackendError):
            await self.beat()

    async def beat(self) -> int:
        alive = await self._run(
            "heartbeat", [rkey("keys", "replicas")], [self._now(), self.replica, ALIVE_SECONDS]
        )
        self.replicas_alive = max(1, int(alive))
        return self.replicas_alive

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.beat()
            except StateBackendError as exc:
                logger.warning("replica heartbeat failed: %s", exc)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        with contextlib.suppress(RedisError):
            await self._redis.hdel(rkey("keys", "replicas"), self.replica)

    # -- the protocol -----------------------------------------------------------------------

    async def register(self, key: UpstreamKey, *, conservative: bool = False) -> None:
        """Register ``key``'s configured limits. ``conservative``: Redis lost the key's state
        (restarted empty), so its minute buckets start from what the provider last reported
        remaining — or empty — instead of full: the provider's own buckets are nearly
        empty, and a full start would send it a burst of 429s."""
        self._registered[key.fingerprint] = key
        limits = key.limits
        caps = [limits.rpm, limits.itpm, limits.otpm, limits.rph, limits.rpd]
        args: list[Any] = [self._now(), *("" if c is None else c for c in caps)]
        if conservative:
            seen = self._remaining.get(key.fingerprint, {})
            learned = self._reported.get(key.fingerprint, {})
            args += ["levels", *(seen.get(name, "") for name in _BUCKETS)]
            args += [learned.get(name, "") for name in _BUCKETS]
        else:
            args += ["full", *[""] * (2 * len(_BUCKETS))]
        # A new key state (first registration, or Redis lost it) gets a new epoch: a lease
        # reserved in an earlier one is not reconciled against counters that started over.
        args.append(secrets.randbits(52))
        await self._run("register", [rkey("keys", key.fingerprint)], args)

    async def remove(self, key_id: str) -> None:
        self._registered.pop(key_id, None)
        await self._guard(self._redis.delete(*self._keys(key_id)))

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
        n = len(candidates)
        if n == 0:
            return ReserveResult(None, float("inf"), "disabled")
        turn = 0  # a sample comes in the order to take it (the pool keeps the turn)
        if complete:
            self._turn = turn = (self._turn + 1) % n
        keys = [rkey("keys", "replicas"), rkey("affinity", affinity or "-")]
        args: list[Any] = [
            self._now(),
            n,
            demand.requests,
            demand.input_tokens,
            demand.output_tokens,
            "r" if strategy == "round_robin" else "l",
            rank,
            self._skew,
            turn,
            self._breaker.cooldown_seconds,
            ALIVE_SECONDS,
            1 if complete else 0,
        ]
        for cand in candidates:
            state, waiting, rph, rpd, _ = self._keys(cand.key_id)
            keys += [state, waiting, rph, rpd]
            args += [cand.key_id, cand.weight]
        reply = await self._run("reserve", keys, args)
        index = int(reply[0])
        if index == -2:  # a sample without the prefix's key: the caller offers it
            return ReserveResult(None, 0.0, "affinity", preferred=_s(reply[3]))
        if index == -1:
            # Redis lost the keys' state (restarted empty, flushed): register them again with
            # full buckets — what a fresh start would do — and try once more.
            lost = [_s(fp) for fp in reply[3:]]
            logger.warning("redis had no state for %s: registering again", ", ".join(lost))
            for fp in lost:
                if fp in self._registered:
                    await self.register(self._registered[fp], conservative=True)
            reply = await self._run("reserve", keys, args)
            index = max(0, int(reply[0]))
        if index == 0:
            return ReserveResult(None, _f(reply[1]), _s(reply[2]))
        ratios, snapshot = _reserved(reply[3:])
        return ReserveResult(candidates[index - 1].key_id, ratios=ratios, snapshot=snapshot)

    async def settle(self, key_id: str, settlement: Settlement) -> SettleResult:
        state, _, rph, rpd, breaker_window = self._keys(key_id)
        refund = settlement.refund
        cfg = self._breaker
        args: list[Any] = [
            self._now(),
            refund.requests,
            refund.input_tokens,
            refund.output_tokens,
            _HEALTH_CODES[settlement.health],
            settlement.cooldown,
            cfg.consecutive_failures,
            cfg.failure_rate,
            max(1, int(cfg.window_seconds)),
            cfg.min_requests,
        ]
        snap = {name: (left, taken) for name, left, taken in settlement.snapshot}
        observed = settlement.observed or {}
        if observed:  # what a conservative re-registration starts from
            self._remaining[key_id] = dict(observed)
        for name in _BUCKETS:
            left, taken = snap.get(name, ("", ""))
            seen = observed.get(name, "")
            args += [left, taken, seen, DRIFT_TOLERANCE[name]]
        affinity = settlement.affinity
        args += [key_id if affinity else "", AFFINITY_SECONDS, QUARANTINE_REASON]
        reported = settlement.reported or {}
        if reported:
            self._reported[key_id] = dict(reported)
        args += [reported.get(name, "") for name in _BUCKETS]
        epoch = snap.get(EPOCH)
        args.append("" if epoch is None else int(epoch[1]))
        affinity_key = rkey("affinity", affinity or "-")
        reply = await self._run("settle", [state, rph, rpd, breaker_window, affinity_key], args)
        drift = {name: _f(v) for name, v in zip(_BUCKETS, reply[:3], strict=True) if _f(v) > 0}
        return SettleResult(drift, bool(int(reply[3])), bool(int(reply[4])))

    async def set_disabled(self, key_id: str, reason: str | None) -> None:
        state, *_, breaker_window = self._keys(key_id)

        async def apply() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                if reason is not None:
                    pipe.hset(state, "disabled", reason)
                else:
                    pipe.hdel(state, "disabled", "quarantined")
                    pipe.hset(state, mapping={"b:state": 0, "b:consec": 0, "b:probe": 0})
                    pipe.delete(breaker_window)
                await pipe.execute()

        await self._guard(apply())

    async def status(self, key_id: str) -> KeyStatus | None:
        state, _, rph, rpd, _ = self._keys(key_id)
        args = [self._now(), self._breaker.cooldown_seconds]
        reply = await self._run("status", [state, rph, rpd], args)
        if not reply and key_id in self._registered:  # Redis lost it: register again
            await self.register(self._registered[key_id], conservative=True)
            reply = await self._run("status", [state, rph, rpd], args)
        if not reply:
            return None
        limits = {}
        rest = reply[4:]
        for i in range(0, len(rest), 4):
            limits[_s(rest[i])] = LimitUsage(_f(rest[i + 1]), _f(rest[i + 2]), _f(rest[i + 3]))
        disabled = _s(reply[0]) or None
        return KeyStatus(limits, _f(reply[3]), _s(reply[2]), disabled, _s(reply[1]) == "1")

    async def set_waiting(self, key_ids: Sequence[str], rank: int, waiting: bool) -> None:
        field = f"{self.replica}:{rank}"

        async def apply() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                for fp in key_ids:
                    if waiting:
                        pipe.hset(rkey("keys", fp, "waiting"), field, 1)
                    else:
                        pipe.hdel(rkey("keys", fp, "waiting"), field)
                await pipe.execute()

        await self._guard(apply())
