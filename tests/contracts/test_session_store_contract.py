"""The SessionStore contract (scalegate.sessions) on memory and a real Redis.

Expiry: the memory store measures it on the injected clock; the Redis store hands it to
Redis (``PX``/``PEXPIRE``, the server's clock, so every replica agrees) and takes no clock.
The expiry case therefore advances the ManualClock for memory and, for Redis, checks the
expiry Redis holds for the entry (exact to the millisecond) instead of waiting for it.
"""

from __future__ import annotations

import hashlib

from scalegate.clock import ManualClock
from scalegate.sessions import MemorySessionStore, RedisSessionStore, SessionStore
from scalegate.state.names import key as rkey
from scalegate.state.stores import MemoryStores, RedisStores
from tests.contracts.outage import Outage, all_succeed

Stores = MemoryStores | RedisStores


async def test_the_factory_builds_the_backends_store(stores: Stores, clock: ManualClock) -> None:
    store = stores.session_store(clock)
    expected = RedisSessionStore if isinstance(stores, RedisStores) else MemorySessionStore
    assert type(store) is expected


async def test_create_valid_revoke(stores: Stores, clock: ManualClock) -> None:
    store: SessionStore = stores.session_store(clock)
    a, b = await store.create(3600), await store.create(3600)
    assert a != b
    assert len(a) >= 43  # 256 random bits, url-safe
    assert await store.valid(a)
    assert await store.valid(b)
    assert not await store.valid("made-up")
    assert not await store.valid(a + "x")
    await store.revoke(a)
    assert not await store.valid(a)
    assert await store.valid(b)
    await store.revoke(a)  # twice: nothing to do
    await store.revoke("made-up")


async def test_revoke_all_ends_every_session_and_keeps_failure_counts(
    stores: Stores, clock: ManualClock
) -> None:
    store = stores.session_store(clock)
    sids = [await store.create(3600) for _ in range(7)]
    assert await store.failure("10.0.0.1", 60) == 1
    await store.revoke_all()
    assert [await store.valid(s) for s in sids] == [False] * 7
    assert await store.failures("10.0.0.1") == 1
    assert await store.valid(await store.create(3600))  # sessions are made again


async def test_the_store_never_holds_the_session_id(stores: Stores, clock: ManualClock) -> None:
    store = stores.session_store(clock)
    sid = await store.create(3600)
    if isinstance(stores, RedisStores):
        names = [n.decode() async for n in stores.redis.client.scan_iter(match="*")]
        assert names == [rkey("sessions", hashlib.sha256(sid.encode()).hexdigest())]
        stored = await stores.redis.client.get(names[0])
        assert stored is not None
        assert sid.encode() not in stored
    else:
        assert isinstance(store, MemorySessionStore)
        assert sid not in repr(vars(store))


async def test_failures_are_counted_per_client_within_a_window(
    stores: Stores, clock: ManualClock
) -> None:
    store = stores.session_store(clock)
    assert [await store.failure("10.0.0.1", 60) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert await store.failure("10.0.0.2", 60) == 1
    assert await store.failures("10.0.0.1") == 5
    assert await store.failures("10.0.0.2") == 1
    assert await store.failures("10.0.0.3") == 0


async def test_sessions_and_failure_windows_expire(stores: Stores, clock: ManualClock) -> None:
    store = stores.session_store(clock)
    short, long = await store.create(10), await store.create(3600)
    assert await store.failure("10.0.0.1", 60) == 1
    assert await store.failure("10.0.0.1", 600) == 2  # the window is the first failure's
    if isinstance(stores, RedisStores):
        client = stores.redis.client
        digest = hashlib.sha256(short.encode()).hexdigest()
        assert 9_000 < await client.pttl(rkey("sessions", digest)) <= 10_000
        digest = hashlib.sha256(long.encode()).hexdigest()
        assert 3_599_000 < await client.pttl(rkey("sessions", digest)) <= 3_600_000
        client_key = rkey("login-failures", hashlib.sha256(b"10.0.0.1").hexdigest()[:32])
        assert 59_000 < await client.pttl(client_key) <= 60_000
        return
    clock.advance(9.99)
    assert await store.valid(short)
    clock.advance(0.02)
    assert not await store.valid(short)
    assert await store.valid(long)
    assert await store.failures("10.0.0.1") == 2
    clock.advance(50)  # 60.01 s after the first failure
    assert await store.failures("10.0.0.1") == 0
    assert await store.failure("10.0.0.1", 60) == 1  # a new window


async def test_outage_raises_typed_errors_promptly_then_recovers(outage: Outage) -> None:
    store = outage.stores.session_store(ManualClock())
    sid = await store.create(3600)
    outage.stop()
    await outage.expect_down(
        {
            "create": lambda: store.create(3600),
            "valid": lambda: store.valid(sid),
            "revoke": lambda: store.revoke(sid),
            "revoke_all": store.revoke_all,
            "failure": lambda: store.failure("10.0.0.1", 60),
            "failures": lambda: store.failures("10.0.0.1"),
        }
    )
    outage.restart()  # an empty Redis: the old session is gone, the store works again
    await all_succeed([("revoke_all", store.revoke_all)])
    assert not await store.valid(sid)
    fresh = await store.create(3600)
    assert await store.valid(fresh)
    assert await store.failure("10.0.0.1", 60) == 1
    assert await store.failures("10.0.0.1") == 1
