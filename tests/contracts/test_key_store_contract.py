"""The KeyStore contract (scalegate.keys.store) on memory and a real Redis, and the outage
policy of ``ResilientKeyStore`` (fail_closed, fail_open, recovery).

The factory gives a key store only for Redis (``RedisStores.key_store``: a ``RedisKeyStore``
behind its ``ResilientKeyStore``, on the Redis server's clock); for memory it answers
``None`` and the pool keeps a ``MemoryKeyStore`` of its own. So the behaviour cases run on a
``MemoryKeyStore`` and on a ``RedisKeyStore`` over the factory's connection, both on the
injected ManualClock (exact refill and cooldown arithmetic, nothing slept); the factory's
own wiring has its case. tests/test_pool.py runs the pool (breaker, windows, strategies,
drift) on both stores; this suite is the store's surface the pool relies on.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scalegate.clock import ManualClock
from scalegate.config import KeyConfig, Settings, load_settings
from scalegate.errors import OverloadedError
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import UpstreamKey
from scalegate.keys.redis_store import RedisKeyStore
from scalegate.keys.resilient_store import LOCAL, ResilientKeyStore
from scalegate.keys.store import (
    QUARANTINE_REASON,
    Candidate,
    Demand,
    KeyStore,
    ReserveResult,
    Settlement,
)
from scalegate.state.stores import MemoryStores, RedisStores
from tests.contracts.outage import Outage, all_succeed, fails_typed

Stores = MemoryStores | RedisStores


def approx(expected: float, abs: float | None = None) -> Any:
    """``pytest.approx`` typed as what it compares equal to (mypy and tuples of results)."""
    return pytest.approx(expected, abs=abs)


NOTHING = Demand(0, 0, 0)


def key(secret: str, **limits: int) -> UpstreamKey:
    cfg = KeyConfig.model_validate({"secret": secret, "limits": limits or {"rpm": 1000}})
    return UpstreamKey.from_config(cfg)


A = key("sk-contract-alpha-0123456789abcdef", rpm=10, itpm=1000, otpm=500, rph=100)
B = key("sk-contract-bravo-0123456789abcdef", rpm=10)


def settings(**shared: Any) -> Settings:
    return load_settings(None, {}, **{f"shared.{k}": v for k, v in shared.items()})


@pytest.fixture
async def store(stores: Stores, clock: ManualClock) -> AsyncIterator[KeyStore]:
    made: KeyStore
    if isinstance(stores, RedisStores):
        made = RedisKeyStore(stores.redis.client, clock=clock)
    else:
        assert await stores.key_store(settings(), clock) is None  # the pool keeps its own
        made = MemoryKeyStore(clock)
    yield made
    await made.close()


async def reserve(store: KeyStore, demand: Demand, *keys: UpstreamKey) -> ReserveResult:
    return await store.reserve(
        [Candidate(k.fingerprint) for k in keys], demand, "least_utilized", 2
    )


async def used(store: KeyStore, k: UpstreamKey) -> dict[str, float]:
    status = await store.status(k.fingerprint)
    assert status is not None
    return {name: usage.used for name, usage in status.limits.items()}


async def test_the_factory_wires_the_outage_policy(stores: Stores, clock: ManualClock) -> None:
    chosen = settings(on_redis_failure="fail_open", retry_after_seconds=7, replicas=3)
    made = await stores.key_store(chosen, clock)
    if isinstance(stores, MemoryStores):
        assert made is None
        return
    assert isinstance(made, ResilientKeyStore)
    assert isinstance(made.primary, RedisKeyStore)
    assert (made.policy, made.replicas, made.down) == ("fail_open", 3, False)
    await made.register(B)
    assert (await reserve(made, Demand(), B)).key_id == B.fingerprint
    assert 0.9 < (await used(made, B))["rpm"] <= 1.0  # the server's clock: refilling
    await made.close()


async def test_register_and_status(store: KeyStore) -> None:
    assert await store.status(A.fingerprint) is None
    await store.register(A)
    status = await store.status(A.fingerprint)
    assert status is not None
    assert {n: (u.used, u.capacity, u.full_in) for n, u in status.limits.items()} == {
        "rpm": (0.0, 10.0, 0.0),
        "itpm": (0.0, 1000.0, 0.0),
        "otpm": (0.0, 500.0, 0.0),
        "rph": (0.0, 100.0, 0.0),
    }
    assert (status.cooldown, status.breaker, status.disabled, status.quarantined) == (
        0.0,
        "closed",
        None,
        False,
    )
    assert status.usable


async def test_no_candidates_is_no_key_for_ever(store: KeyStore) -> None:
    assert await store.reserve([], Demand(), "least_utilized", 2) == ReserveResult(
        None, math.inf, "disabled"
    )


async def test_a_reservation_takes_every_limit_or_none(store: KeyStore) -> None:
    await store.register(A)
    got = await reserve(store, Demand(1, 600, 100), A)
    assert (got.key_id, got.origin) == (A.fingerprint, "primary")
    assert dict(got.ratios) == {
        "rpm": approx(0.1),
        "itpm": approx(0.6),
        "otpm": approx(0.2),
        "rph": approx(0.01),
    }
    refused = await reserve(store, Demand(1, 600, 100), A)  # itpm has 400 left
    assert (refused.key_id, refused.reason) == (None, "itpm")
    assert refused.wait == approx(12.0)  # 200 tokens at 1000/60 per second
    assert await used(store, A) == {"rpm": 1.0, "itpm": 600.0, "otpm": 100.0, "rph": 1.0}
    assert (await reserve(store, Demand(1, 400, 400), A)).key_id == A.fingerprint  # exactly full
    assert await used(store, A) == {"rpm": 2.0, "itpm": 1000.0, "otpm": 500.0, "rph": 2.0}


async def test_settle_refunds_and_charges(store: KeyStore, clock: ManualClock) -> None:
    await store.register(A)
    assert (await reserve(store, Demand(1, 900, 500), A)).key_id is not None
    result = await store.settle(A.fingerprint, Settlement(Demand(0, 200, 380), "success"))
    assert (dict(result.drift), result.quarantined, result.breaker_opened) == ({}, False, False)
    assert await used(store, A) == {"rpm": 1.0, "itpm": 700.0, "otpm": 120.0, "rph": 1.0}
    await store.settle(A.fingerprint, Settlement(Demand(0, -100, 0)))  # used more than reserved
    assert (await used(store, A))["itpm"] == 800.0
    await store.settle(A.fingerprint, Settlement(Demand(1, 0, 0)))  # never sent
    assert await used(store, A) == {"rpm": 0.0, "itpm": 800.0, "otpm": 120.0, "rph": 0.0}
    clock.advance(60)  # minute buckets refill in a minute; the hour window does not
    assert await used(store, A) == {"rpm": 0.0, "itpm": 0.0, "otpm": 0.0, "rph": 0.0}


async def test_a_retry_after_cools_the_key_down(store: KeyStore, clock: ManualClock) -> None:
    await store.register(A)
    await store.register(B)
    assert (await reserve(store, Demand(), A)).key_id == A.fingerprint
    await store.settle(A.fingerprint, Settlement(Demand(1, 0, 0), cooldown=5.0))
    status = await store.status(A.fingerprint)
    assert status is not None
    assert status.cooldown == approx(5.0)
    refused = await reserve(store, Demand(), A)
    assert (refused.key_id, refused.reason, refused.wait) == (None, "cooldown", approx(5))
    assert (await reserve(store, Demand(), A, B)).key_id == B.fingerprint  # the other serves
    clock.advance(4.99)
    refused = await reserve(store, Demand(), A)
    assert (refused.reason, refused.wait) == ("cooldown", approx(0.01))
    clock.advance(0.02)
    assert (await reserve(store, Demand(), A)).key_id == A.fingerprint
    # a shorter retry-after never shortens a cooldown already running
    await store.settle(A.fingerprint, Settlement(NOTHING, cooldown=30.0))
    await store.settle(A.fingerprint, Settlement(NOTHING, cooldown=1.0))
    status = await store.status(A.fingerprint)
    assert status is not None
    assert status.cooldown == approx(30.0)


async def test_disable_and_enable(store: KeyStore) -> None:
    await store.register(A)
    await store.register(B)
    await store.set_disabled(A.fingerprint, "maintenance")
    status = await store.status(A.fingerprint)
    assert status is not None
    assert (status.disabled, status.usable) == ("maintenance", False)
    assert await reserve(store, Demand(), A) == ReserveResult(None, math.inf, "disabled")
    assert (await reserve(store, Demand(), A, B)).key_id == B.fingerprint
    await store.set_disabled(A.fingerprint, None)
    assert (await reserve(store, Demand(), A)).key_id == A.fingerprint
    await store.set_disabled("key-00000000", "unknown keys are ignored")


async def test_an_auth_failure_quarantines_until_enabled(store: KeyStore) -> None:
    await store.register(A)
    assert (await reserve(store, Demand(), A)).key_id is not None
    first = await store.settle(A.fingerprint, Settlement(Demand(1, 0, 0), "auth"))
    again = await store.settle(A.fingerprint, Settlement(NOTHING, "auth"))
    assert (first.quarantined, again.quarantined) == (True, False)  # reported once
    status = await store.status(A.fingerprint)
    assert status is not None
    assert (status.quarantined, status.disabled) == (True, QUARANTINE_REASON)
    assert (await reserve(store, Demand(), A)).reason == "disabled"
    await store.set_disabled(A.fingerprint, None)
    status = await store.status(A.fingerprint)
    assert status is not None
    assert (status.quarantined, status.disabled, status.breaker) == (False, None, "closed")
    assert (await reserve(store, Demand(), A)).key_id == A.fingerprint


async def test_remove(store: KeyStore) -> None:
    await store.register(A)
    await store.register(B)
    for _ in range(10):
        assert (await reserve(store, Demand(), B)).key_id == B.fingerprint
    await store.remove(A.fingerprint)
    assert await store.status(A.fingerprint) is None
    assert await reserve(store, Demand(), A) == ReserveResult(None, math.inf, "disabled")
    # a removed candidate does not hide why the others cannot take the request
    refused = await reserve(store, Demand(), A, B)
    assert (refused.key_id, refused.reason, refused.wait) == (None, "rpm", approx(6.0))
    await store.remove(A.fingerprint)  # twice: nothing to do
    await store.register(A)  # back, with fresh state
    assert (await used(store, A))["rpm"] == 0.0


async def test_registering_again_changes_limits_and_keeps_usage(store: KeyStore) -> None:
    await store.register(A)
    for _ in range(3):
        await reserve(store, Demand(1, 100, 0), A)
    wider = key("sk-contract-alpha-0123456789abcdef", rpm=20, itpm=1000, otpm=500, rph=100)
    await store.register(wider)
    status = await store.status(A.fingerprint)
    assert status is not None
    assert {n: (u.used, u.capacity) for n, u in status.limits.items()} == {
        "rpm": (3.0, 20.0),
        "itpm": (300.0, 1000.0),
        "otpm": (0.0, 500.0),
        "rph": (3.0, 100.0),
    }


# -- outages ----------------------------------------------------------------------------------


async def test_outage_the_redis_store_raises_typed_errors_then_recovers(outage: Outage) -> None:
    clock = ManualClock()
    store = RedisKeyStore(outage.stores.redis.client, clock=clock)
    await store.register(A)
    assert (await reserve(store, Demand(), A)).key_id is not None
    outage.stop()
    fp = A.fingerprint
    await outage.expect_down(
        {
            "register": lambda: store.register(B),
            "reserve": lambda: reserve(store, Demand(), A),
            "settle": lambda: store.settle(fp, Settlement(Demand(1, 0, 0), "success")),
            "set_disabled": lambda: store.set_disabled(fp, "x"),
            "status": lambda: store.status(fp),
            "set_waiting": lambda: store.set_waiting([fp], 1, True),
            "remove": lambda: store.remove(B.fingerprint),
        }
    )
    outage.restart()  # empty: the store registers what it knows again, by itself
    await all_succeed([("reserve", lambda: reserve(store, Demand(), A))])
    # ... conservatively: the provider's buckets are nearly empty after the load that ran
    # before, so the minute buckets start empty (or at the last reported remaining), never
    # full; they refill from there.
    limits = A.limits
    assert await used(store, A) == {
        "rpm": float(limits.rpm or 0),
        "itpm": float(limits.itpm or 0),
        "otpm": float(limits.otpm or 0),
        "rph": 0.0,
    }
    await store.close()


async def test_outage_fail_closed_refuses_with_retry_after_then_recovers(outage: Outage) -> None:
    clock = ManualClock()
    primary = RedisKeyStore(outage.stores.redis.client, clock=clock)
    store = ResilientKeyStore(primary, "fail_closed", clock=clock, retry_after=7.0)
    await store.register(A)
    assert (await reserve(store, Demand(), A)).key_id == A.fingerprint
    outage.stop()
    for name, op in {
        "reserve": lambda: reserve(store, Demand(), A),
        "set_disabled": lambda: store.set_disabled(A.fingerprint, "x"),
        "remove": lambda: store.remove(B.fingerprint),
    }.items():
        await fails_typed(name, op, OverloadedError)
    with pytest.raises(OverloadedError) as refused:
        await reserve(store, Demand(), A)
    assert (refused.value.status, refused.value.retry_after) == (529, 7.0)
    # status answers for health and metrics; registering and waiting flags never raise
    status = await store.status(A.fingerprint)
    assert status is not None
    assert status.breaker == "unknown"
    await store.register(B)
    await store.set_waiting([A.fingerprint], 1, False)
    assert store.health()[0] == "down"
    # Redis is tried at most once a second (RETRY_SECONDS): the first reserve and the
    # register (which always writes through) failed on it; the rest never reached it.
    assert store.errors_total == 2
    outage.restart()
    with pytest.raises(OverloadedError):  # back, but not tried again within the second
        await reserve(store, Demand(), A)
    clock.advance(1.0)  # RETRY_SECONDS: the next call tries Redis again
    got = await reserve(store, Demand(), A)
    # Shared state is back in charge; the key's buckets restarted empty (conservatively).
    assert (got.key_id, got.origin, store.down) == (None, "primary", False)
    clock.advance(got.wait)
    got = await reserve(store, Demand(), A)
    assert (got.key_id, got.origin) == (A.fingerprint, "primary")
    assert store.health()[0] == "ok"
    await store.close()


async def test_outage_fail_open_serves_the_local_share_then_recovers(outage: Outage) -> None:
    clock = ManualClock()
    primary = RedisKeyStore(outage.stores.redis.client, clock=clock)
    store = ResilientKeyStore(primary, "fail_open", replicas=2, clock=clock)
    await store.register(B)  # rpm 10: the local share is 5, starting empty
    assert (await reserve(store, Demand(), B)).origin == "primary"
    outage.stop()
    first = await reserve(store, Demand(), B)
    assert (first.key_id, first.reason, first.wait) == (None, "rpm", approx(12.0))
    assert store.health()[0] == "degraded"
    clock.advance(60)  # the share fills: 5 requests a minute, never the whole key's 10
    leases = [await reserve(store, Demand(), B) for _ in range(6)]
    assert [r.origin for r in leases[:5]] == [LOCAL] * 5
    assert [r.key_id for r in leases] == [B.fingerprint] * 5 + [None]
    assert store.fallback_reservations == 5
    await store.settle(B.fingerprint, Settlement(Demand(1, 0, 0), origin=LOCAL))
    outage.restart()
    clock.advance(1.0)
    got = await reserve(store, Demand(), B)
    assert (got.key_id, got.origin, store.down) == (None, "primary", False)  # starts empty
    clock.advance(got.wait)
    got = await reserve(store, Demand(), B)
    assert (got.key_id, got.origin) == (B.fingerprint, "primary")
    # a lease made locally settles without error after the outage (its state went with it)
    result = await store.settle(B.fingerprint, Settlement(Demand(1, 0, 0), origin=LOCAL))
    assert not result.quarantined
    assert store.health()[0] == "ok"
    await store.close()
