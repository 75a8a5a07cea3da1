"""Tenant limits and budgets: requests and tokens per minute and day, dollars per month.

A tenant's limits protect the keys from one client using more than its share; unlike key
limits they do not make a request wait — over a limit, the answer is a 429 with the
``retry-after`` the limit implies; over the monthly budget, a 402 ``billing_error``. A
request reserves one request and its estimated tokens (input estimate + ``max_tokens``),
settled to the real count when the answer is in. Cache hits count as requests, not tokens.
State is in memory, or in Redis (shared by replicas, one Lua script per step, the same
bucket and window arithmetic as the key store's).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from scalegate.clock import Clock, SystemClock
from scalegate.config import TenantConfig
from scalegate.errors import BillingError, StateBackendError, TenantRateLimited
from scalegate.keys.buckets import SlidingWindow, TokenBucket
from scalegate.state.names import key as rkey

# limit → (kind, window seconds, counts requests (True) or tokens (False))
LIMITS = {
    "rpm": ("bucket", 60.0, True),
    "tpm": ("bucket", 60.0, False),
    "rpd": ("window", 86400.0, True),
    "tpd": ("window", 86400.0, False),
}


def month_of(wall: float) -> str:
    """The UTC month of ``wall`` ("2026-12"); the last answer is kept with the span of
    seconds it holds for, since every admission and settlement asks."""
    global _MONTH
    start, end, name = _MONTH
    if start <= wall < end:
        return name
    day = dt.datetime.fromtimestamp(wall, dt.UTC)
    first = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    _MONTH = (first.timestamp(), following.timestamp(), first.strftime("%Y-%m"))
    return _MONTH[2]


_MONTH: tuple[float, float, str] = (0.0, 0.0, "")  # [start, end) in wall seconds, and its name


def caps_of(tenant: TenantConfig) -> dict[str, float | None]:
    limits = tenant.limits
    return {"rpm": limits.rpm, "tpm": limits.tpm, "rpd": limits.rpd, "tpd": limits.tpd}


BUDGET = "budget"


class TenantStore(Protocol):
    async def reserve(
        self,
        tenant: str,
        caps: dict[str, float | None],
        requests: int,
        tokens: int,
        month: str = "",
        budget: float | None = None,
    ) -> tuple[float, str, float]:
        """Check ``budget`` against the month's spend, then take all or nothing.

        Returns ``(0, "", spent)`` when taken, ``(wait, limit, spent)`` when a limit cannot
        take it, ``(inf, "budget", spent)`` when the budget is spent.
        """

    async def settle(self, tenant: str, tokens_back: int, month: str, usd: float) -> None:
        """Give back (negative: charge) tokens and add ``usd`` to the month's spend."""

    async def spend(self, tenant: str, month: str) -> float: ...

    async def used(self, tenant: str, caps: dict[str, float | None]) -> dict[str, float]: ...


class _TenantState:
    """One tenant's limits (by name) and spend (by month), found with one lookup."""

    __slots__ = ("limits", "spend")

    def __init__(self) -> None:
        self.limits: dict[str, TokenBucket | SlidingWindow] = {}
        self.spend: dict[str, float] = {}


class MemoryTenantStore:
    """Tenant state in process memory, each tenant's behind one lookup (not one per limit
    and month into a table of every tenant's)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tenants: dict[str, _TenantState] = {}

    def _state(self, tenant: str) -> _TenantState:
        state = self._tenants.get(tenant)
        if state is None:
            state = self._tenants[tenant] = _TenantState()
        return state

    def _limit(self, state: _TenantState, name: str, cap: float) -> TokenBucket | SlidingWindow:
        lim = state.limits.get(name)
        if lim is None or lim.capacity != cap:
            kind, window, _ = LIMITS[name]
            now = self._clock.monotonic()
            lim = (
                TokenBucket(cap, now, window)
                if kind == "bucket"
                else SlidingWindow(int(cap), window, 144)
            )
            state.limits[name] = lim
        return lim

    async def reserve(
        self,
        tenant: str,
        caps: dict[str, float | None],
        requests: int,
        tokens: int,
        month: str = "",
        budget: float | None = None,
    ) -> tuple[float, str, float]:
        state = self._state(tenant)
        spent = state.spend.get(month, 0.0)
        if budget is not None and spent >= budget:
            return math.inf, BUDGET, spent
        now = self._clock.monotonic()
        chosen = [(n, self._limit(state, n, c)) for n, c in caps.items() if c is not None]
        worst, which = 0.0, ""
        for name, lim in chosen:
            wait = lim.wait(requests if LIMITS[name][2] else tokens, now)
            if wait > worst:
                worst, which = wait, name
        if worst > 0:
            return worst, which, spent
        for name, lim in chosen:
            amount = requests if LIMITS[name][2] else tokens
            if amount:
                lim.take(amount, now)
        return 0.0, "", spent

    async def settle(self, tenant: str, tokens_back: int, month: str, usd: float) -> None:
        state = self._state(tenant)
        if usd > 0:
            state.spend[month] = state.spend.get(month, 0.0) + usd
        now = self._clock.monotonic()
        for name in ("tpm", "tpd"):
            lim = state.limits.get(name)
            if lim is not None and tokens_back:
                if tokens_back > 0:
                    lim.give(tokens_back, now)
                else:
                    lim.take(-tokens_back, now)

    async def spend(self, tenant: str, month: str) -> float:
        state = self._tenants.get(tenant)
        return 0.0 if state is None else state.spend.get(month, 0.0)

    async def used(self, tenant: str, caps: dict[str, float | None]) -> dict[str, float]:
        now = self._clock.monotonic()
        state = self._state(tenant)
        return {n: self._limit(state, n, c).used(now) for n, c in caps.items() if c is not None}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@cache
def _source(name: str) -> str:
    common = (resources.files("scalegate.keys") / "lua" / "common.lua").read_text()
    return (
        common + "\n" + (resources.files("scalegate.tenants") / "lua" / f"{name}.lua").read_text()
    )


class RedisTenantStore:
    """Tenant state in Redis under ``scalegate:tenants:<name>``.

    The hash holds the minute buckets; ``:w:rpd`` / ``:w:tpd`` the day windows' slots;
    ``:spend:<YYYY-MM>`` the month's spend (kept 40 days).
    """

    def __init__(self, client: Redis, clock: Clock | None = None) -> None:
        self._redis = client
        self._clock = clock  # None: the Redis server's clock
        self._scripts: dict[str, AsyncScript] = {}

    def _now(self) -> str:
        return "-1" if self._clock is None else repr(self._clock.monotonic())

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self._redis.register_script(_source(name))
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc

    async def reserve(
        self,
        tenant: str,
        caps: dict[str, float | None],
        requests: int,
        tokens: int,
        month: str = "",
        budget: float | None = None,
    ) -> tuple[float, str, float]:
        keys = [
            rkey("tenants", tenant),
            rkey("tenants", tenant, "w", "rpd"),
            rkey("tenants", tenant, "w", "tpd"),
            rkey("tenants", tenant, "spend", month or "-"),
        ]
        args = [
            self._now(),
            *("" if caps[n] is None else caps[n] for n in ("rpm", "tpm", "rpd", "tpd")),
            requests,
            tokens,
            "" if budget is None else repr(float(budget)),
        ]
        reply = await self._run("reserve", keys, args)
        code = int(reply[0])
        if code == 1:
            return 0.0, "", float(_text(reply[1]))
        if code == 2:
            return math.inf, BUDGET, float(_text(reply[1]))
        return float(_text(reply[1])), _text(reply[2]), float(_text(reply[3]))

    async def settle(self, tenant: str, tokens_back: int, month: str, usd: float) -> None:
        keys = [
            rkey("tenants", tenant),
            rkey("tenants", tenant, "w", "tpd"),
            rkey("tenants", tenant, "spend", month),
        ]
        await self._run("adjust", keys, [self._now(), tokens_back, f"{max(0.0, usd):.12f}"])

    async def spend(self, tenant: str, month: str) -> float:
        try:
            value = await self._redis.get(rkey("tenants", tenant, "spend", month))
        except RedisError as exc:
            raise StateBackendError(f"redis: {exc}") from exc
        return float(value or 0)

    async def used(self, tenant: str, caps: dict[str, float | None]) -> dict[str, float]:
        # A zero-amount reservation refreshes the state without taking anything.
        await self.reserve(tenant, caps, 0, 0)
        windows = [n for n in ("rpd", "tpd") if caps[n] is not None]
        try:
            raw = await self._redis.hgetall(rkey("tenants", tenant))
            slots = [await self._redis.hgetall(rkey("tenants", tenant, "w", n)) for n in windows]
        except RedisError as exc:  # every read, not only the first: Redis may go mid-way
            raise StateBackendError(f"redis: {exc}") from exc
        fields = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}
        out = {}
        for name in ("rpm", "tpm"):
            cap = caps[name]
            if cap is not None:
                out[name] = cap - fields.get(f"lvl:{name}", cap)
        for name, window in zip(windows, slots, strict=True):
            out[name] = sum(float(v) for v in window.values())
        return out


@dataclass(slots=True)
class TenantTicket:
    tenant: TenantConfig
    tokens: int  # reserved
    settled: bool = False


class TenantLimiter:
    def __init__(self, store: TenantStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.refused: dict[tuple[str, str], int] = {}

    async def admit(self, tenant: TenantConfig, tokens: int) -> TenantTicket:
        """Check the budget and take the request and ``tokens`` (one store call, one Redis
        round trip); raise 402 or 429 if not."""
        caps = caps_of(tenant)
        budget = tenant.monthly_budget_usd
        if budget is None and not any(v is not None for v in caps.values()):
            return TenantTicket(tenant, 0)
        month = month_of(self.clock.time())
        wait, limit, spent = await self.store.reserve(tenant.name, caps, 1, tokens, month, budget)
        if limit == BUDGET:
            self._count(tenant.name, "budget")
            raise BillingError(
                f"tenant {tenant.name!r} has spent its monthly budget "
                f"(${spent:,.2f} of ${budget or 0:,.2f})",
                should_retry=False,
            )
        if wait > 0:
            self._count(tenant.name, limit)
            hopeless = limit in ("tpm", "tpd") and tokens > (caps[limit] or math.inf)
            raise TenantRateLimited(
                f"tenant {tenant.name!r} is over its {limit} limit; retry after {wait:.1f}s",
                retry_after=wait,
                should_retry=not hopeless,
            )
        return TenantTicket(tenant, tokens)

    async def settle(self, ticket: TenantTicket, tokens: int, cost_usd: float) -> None:
        if ticket.settled:
            return
        ticket.settled = True
        back = ticket.tokens - tokens
        if back or cost_usd > 0:
            month = month_of(self.clock.time())
            await self.store.settle(ticket.tenant.name, back, month, cost_usd)

    async def report(self, tenant: TenantConfig) -> dict[str, Any]:
        caps = caps_of(tenant)
        used = await self.store.used(tenant.name, caps)
        spent = await self.store.spend(tenant.name, month_of(self.clock.time()))
        return {
            "name": tenant.name,
            "tier": tenant.tier,
            "priority": tenant.priority,
            "max_priority": tenant.max_priority,
            "models": list(tenant.models),
            "limits": {
                n: {"limit": c, "used": round(used.get(n, 0.0), 2)} for n, c in caps.items() if c
            },
            "spend_usd_this_month": round(spent, 6),
            "monthly_budget_usd": tenant.monthly_budget_usd,
            "refused": {k[1]: v for k, v in self.refused.items() if k[0] == tenant.name},
        }

    def _count(self, tenant: str, reason: str) -> None:
        self.refused[(tenant, reason)] = self.refused.get((tenant, reason), 0) + 1
