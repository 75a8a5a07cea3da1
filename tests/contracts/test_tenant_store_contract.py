"""The TenantStore contract (scalegate.tenants.limits) on memory and a real Redis.

The factory's Redis tenant store measures time on the Redis server's clock (replicas must
agree; a process's monotonic clock means nothing to another host), so it cannot be moved by
a test. Day windows do not move within a test, so the all-or-nothing, settle and budget
cases run on the factory's store itself with exact counts; the minute-bucket refill case
runs on the same connection with an injected ``ManualClock`` (``RedisTenantStore(client,
clock)``), which is what the store offers for this.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from scalegate.clock import ManualClock
from scalegate.state.stores import MemoryStores, RedisStores
from scalegate.tenants.limits import MemoryTenantStore, RedisTenantStore, TenantStore
from tests.contracts.outage import Outage, all_succeed

Stores = MemoryStores | RedisStores


def approx(expected: float, abs: float | None = None) -> Any:
    """``pytest.approx`` typed as what it compares equal to (mypy and tuples of results)."""
    return pytest.approx(expected, abs=abs)


MONTH = "2026-03"
DAY = 86400.0


def caps(**given: float) -> dict[str, float | None]:
    out: dict[str, float | None] = {"rpm": None, "tpm": None, "rpd": None, "tpd": None}
    out.update(given)
    return out


def clocked(stores: Stores, clock: ManualClock) -> TenantStore:
    """A tenant store on the injected clock: the factory's for memory; for Redis the same
    connection with the clock the Redis store accepts (see the module docstring)."""
    if isinstance(stores, RedisStores):
        return RedisTenantStore(stores.redis.client, clock)
    return stores.tenant_store(clock)


async def test_the_factory_builds_the_backends_store(stores: Stores, clock: ManualClock) -> None:
    store = stores.tenant_store(clock)
    expected = RedisTenantStore if isinstance(stores, RedisStores) else MemoryTenantStore
    assert type(store) is expected


async def test_a_reservation_takes_all_limits_or_none(stores: Stores, clock: ManualClock) -> None:
    store = stores.tenant_store(clock)
    limits = caps(rpd=2, tpd=100)
    assert await store.reserve("t", limits, 1, 60) == (0.0, "", 0.0)
    wait, limit, _ = await store.reserve("t", limits, 1, 50)
    assert limit == "tpd"
    assert DAY - 600 < wait <= DAY + 600  # the slot's end plus a day, on either clock
    assert await store.used("t", limits) == {"rpd": 1.0, "tpd": 60.0}  # nothing taken
    assert (await store.reserve("t", limits, 1, 40))[:2] == (0.0, "")
    wait, limit, _ = await store.reserve("t", limits, 1, 0)
    assert (limit, wait > 0) == ("rpd", True)
    assert await store.used("t", limits) == {"rpd": 2.0, "tpd": 100.0}


async def test_tenants_do_not_share_limits(stores: Stores, clock: ManualClock) -> None:
    store = stores.tenant_store(clock)
    limits = caps(rpd=1)
    assert (await store.reserve("a", limits, 1, 0))[1] == ""
    assert (await store.reserve("a", limits, 1, 0))[1] == "rpd"
    assert (await store.reserve("b", limits, 1, 0))[1] == ""
    assert await store.used("b", limits) == {"rpd": 1.0}


async def test_settle_gives_back_and_charges_tokens(stores: Stores, clock: ManualClock) -> None:
    store = stores.tenant_store(clock)
    limits = caps(tpd=1000)
    await store.reserve("t", limits, 1, 300)
    await store.settle("t", 120, MONTH, 0.0)  # used 180 of the 300 reserved
    assert await store.used("t", limits) == {"tpd": 180.0}
    await store.settle("t", -20, MONTH, 0.0)  # then 20 more than that
    assert await store.used("t", limits) == {"tpd": 200.0}
    assert await store.spend("t", MONTH) == 0.0


async def test_the_monthly_budget(stores: Stores, clock: ManualClock) -> None:
    store = stores.tenant_store(clock)
    await store.settle("t", 0, MONTH, 1.25)
    await store.settle("t", 0, MONTH, 2.75)
    await store.settle("t", 0, MONTH, -9.0)  # never a credit
    assert await store.spend("t", MONTH) == approx(4.0)
    assert await store.spend("t", "2026-04") == 0.0
    assert await store.spend("other", MONTH) == 0.0
    wait, limit, spent = await store.reserve("t", caps(), 1, 10, MONTH, budget=4.0)
    assert (wait, limit, spent) == (math.inf, "budget", approx(4.0))
    assert await store.reserve("t", caps(), 1, 10, MONTH, budget=5.0) == (
        0.0,
        "",
        approx(4.0),
    )
    assert (await store.reserve("t", caps(), 1, 10, "2026-04", budget=4.0))[1] == ""


async def test_a_limit_refusal_reports_the_months_spend(stores: Stores, clock: ManualClock) -> None:
    """The protocol: ``(wait, limit, spent)`` when a limit cannot take it — both stores
    report the same spend."""
    store = stores.tenant_store(clock)
    await store.settle("t", 0, MONTH, 3.0)
    assert (await store.reserve("t", caps(rpd=1), 1, 0, MONTH, budget=10.0))[1] == ""
    wait, limit, spent = await store.reserve("t", caps(rpd=1), 1, 0, MONTH, budget=10.0)
    assert (limit, wait > 0, spent) == ("rpd", True, approx(3.0))
    # and so does a reservation taken without a budget to check
    assert await store.reserve("u", caps(), 1, 0, MONTH) == (0.0, "", 0.0)
    assert await store.reserve("t", caps(), 1, 0, MONTH) == (0.0, "", approx(3.0))


async def test_minute_buckets_refill_on_the_injected_clock(
    stores: Stores, clock: ManualClock
) -> None:
    store = clocked(stores, clock)
    limits = caps(rpm=2, tpm=600)
    assert (await store.reserve("t", limits, 1, 300))[1] == ""
    assert (await store.reserve("t", limits, 1, 300))[1] == ""
    wait, limit, _ = await store.reserve("t", limits, 1, 0)
    assert (limit, wait) == ("rpm", approx(30.0))  # one request at 2/60 per second
    assert await store.used("t", limits) == {"rpm": 2.0, "tpm": 600.0}
    clock.advance(29.9)
    assert (await store.reserve("t", limits, 1, 0))[1] == "rpm"
    clock.advance(0.2)
    assert (await store.reserve("t", limits, 1, 0))[1] == ""
    clock.advance(60)
    assert await store.used("t", limits) == {"rpm": 0.0, "tpm": 0.0}


async def test_outage_raises_typed_errors_promptly_then_recovers(outage: Outage) -> None:
    store = outage.stores.tenant_store(ManualClock())
    limits = caps(rpm=100, tpm=10_000, rpd=1000, tpd=100_000)
    assert (await store.reserve("t", limits, 1, 10, MONTH, 5.0))[1] == ""
    outage.stop()
    await outage.expect_down(
        {
            "reserve": lambda: store.reserve("t", limits, 1, 10, MONTH, 5.0),
            "settle": lambda: store.settle("t", 5, MONTH, 0.5),
            "spend": lambda: store.spend("t", MONTH),
            "used": lambda: store.used("t", limits),
        }
    )
    outage.restart()  # empty: nothing survived, and the same object works again
    await all_succeed(
        [
            ("reserve", lambda: store.reserve("t", limits, 1, 10, MONTH, 5.0)),
            ("settle", lambda: store.settle("t", 5, MONTH, 0.5)),
        ]
    )
    assert await store.spend("t", MONTH) == approx(0.5)
    # the day windows are exact on the server's clock (the minute buckets refill meanwhile)
    assert await store.used("t", caps(rpd=1000, tpd=100_000)) == {"rpd": 1.0, "tpd": 5.0}
