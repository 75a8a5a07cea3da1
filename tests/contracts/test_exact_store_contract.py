"""The ExactStore contract (scalegate.cache.store) on memory and a real Redis.

tests/test_cache_exact.py runs the cache's behaviour (TTL, LRU bounds, namespaces) through
``ExactCache`` on both stores; this suite is the store's own surface: version triples and
``bump``, what ``snapshot`` and ``top`` report, replacing and refusing entries, and outages.
Time is the injected ManualClock's wall time (both stores take it).
"""

from __future__ import annotations

from scalegate.cache.keys import Namespace
from scalegate.cache.redis_store import RedisExactStore
from scalegate.cache.store import Bounds, ExactStore, MemoryExactStore
from scalegate.clock import ManualClock
from scalegate.state.stores import MemoryStores, RedisStores
from tests.contracts.outage import Outage, all_succeed

Stores = MemoryStores | RedisStores
BOUNDS = Bounds(max_entries=100, max_bytes=1 << 20, ttl_seconds=60)
ACME, ACME_DOCS, OTHER = Namespace("acme"), Namespace("acme", "docs"), Namespace("other")


async def test_the_factory_builds_the_backends_store(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    expected = RedisExactStore if isinstance(stores, RedisStores) else MemoryExactStore
    assert type(store) is expected
    assert isinstance(store, ExactStore)
    assert store.bounds == BOUNDS


async def test_set_get_replace_and_counts(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    assert await store.get(ACME, "k") is None
    assert await store.set(ACME, "k", b"first", label="L")
    assert await store.set(ACME, "k", b"second")  # replaces: still one entry
    assert await store.get(ACME, "k") == b"second"
    assert await store.get(OTHER, "k") is None  # namespaces are separate
    snap = await store.snapshot()
    assert {n: snap[n] for n in ("entries", "hits", "misses", "evictions", "expired")} == {
        "entries": 1,
        "hits": 1,
        "misses": 2,
        "evictions": 0,
        "expired": 0,
    }
    assert snap["bytes"] > len(b"second")


async def test_an_entry_larger_than_max_bytes_is_refused(
    clock: ManualClock, stores: Stores
) -> None:
    store = stores.exact_store(Bounds(max_entries=10, max_bytes=1000, ttl_seconds=60), clock)
    assert not await store.set(ACME, "big", b"x" * 1000)
    assert await store.set(ACME, "small", b"x" * 10)
    assert await store.get(ACME, "big") is None
    assert (await store.snapshot())["entries"] == 1


async def test_versions_and_bump_per_scope(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    assert await store.versions(ACME) == (0, 0, 0)
    assert await store.versions(ACME_DOCS) == (0, 0, 0)
    assert await store.bump("acme") == 1
    assert await store.bump("acme") == 2
    assert await store.bump("acme/docs") == 1
    assert await store.bump("*") == 1
    assert await store.versions(ACME) == (1, 2, 0)  # no sub-namespace: its slot stays 0
    assert await store.versions(ACME_DOCS) == (1, 2, 1)
    assert await store.versions(OTHER) == (1, 0, 0)


async def test_a_bump_kills_the_scopes_entries_only(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    for ns in (ACME, ACME_DOCS, OTHER):
        await store.set(ns, "k", str(ns).encode())
    await store.bump("acme/docs")
    assert await store.get(ACME_DOCS, "k") is None
    assert await store.get(ACME, "k") == b"acme"
    await store.bump("acme")  # the tenant and every sub-namespace of it
    assert await store.get(ACME, "k") is None
    assert await store.get(OTHER, "k") == b"other"
    await store.set(ACME_DOCS, "k", b"new")  # written under the new versions: live
    assert await store.get(ACME_DOCS, "k") == b"new"
    snap = await store.snapshot()
    # Memory drops dead entries at the bump, Redis when next read: after the reads, the same.
    assert (snap["entries"], snap["invalidated"], snap["hits"], snap["misses"]) == (2, 2, 3, 2)


async def test_expiry_is_on_the_injected_wall_clock(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    await store.set(ACME, "default-ttl", b"v")
    await store.set(ACME, "short", b"v", ttl=5)
    clock.advance(4.99)
    assert await store.get(ACME, "short") == b"v"
    clock.advance(0.02)
    assert await store.get(ACME, "short") is None
    clock.advance(55)
    assert await store.get(ACME, "default-ttl") is None
    snap = await store.snapshot()
    assert (snap["entries"], snap["expired"], snap["hits"], snap["misses"]) == (0, 2, 1, 2)


async def test_eviction_is_least_recently_used(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(Bounds(max_entries=3, max_bytes=1 << 20, ttl_seconds=60), clock)
    for k in "abc":
        await store.set(ACME, k, k.encode())
    assert await store.get(ACME, "a") == b"a"  # now b is the least recently used
    await store.set(ACME, "d", b"d")
    assert [await store.get(ACME, k) for k in "abcd"] == [b"a", None, b"c", b"d"]
    snap = await store.snapshot()
    assert (snap["entries"], snap["evictions"]) == (3, 1)


async def test_top_ranks_live_entries_by_hits(stores: Stores, clock: ManualClock) -> None:
    store = stores.exact_store(BOUNDS, clock)
    for k, hits in (("one", 1), ("three", 3), ("none", 0), ("two", 2)):
        await store.set(ACME, k, b"v" * 10, label=f"label {k}")
        for _ in range(hits):
            await store.get(ACME, k)
    top = await store.top(3)
    assert [(t["key"], t["hits"], t["namespace"], t["label"]) for t in top] == [
        ("three", 3, "acme", "label three"),
        ("two", 2, "acme", "label two"),
        ("one", 1, "acme", "label one"),
    ]
    assert all(t["bytes"] > 10 for t in top)
    assert await store.top(0) == []


async def test_outage_raises_typed_errors_promptly_then_recovers(outage: Outage) -> None:
    clock = ManualClock()
    store = outage.stores.exact_store(BOUNDS, clock)
    await store.set(ACME, "k", b"v")
    outage.stop()
    await outage.expect_down(
        {
            "get": lambda: store.get(ACME, "k"),
            "set": lambda: store.set(ACME, "k", b"v2"),
            "bump": lambda: store.bump("acme"),
            "versions": lambda: store.versions(ACME),
            "snapshot": store.snapshot,
            "top": lambda: store.top(5),
        }
    )
    outage.restart()  # an empty Redis (scripts gone too); the same object works again
    await all_succeed([("set", lambda: store.set(ACME, "k", b"v3"))])
    assert await store.get(ACME, "k") == b"v3"
    assert await store.bump("acme") == 1
    assert await store.get(ACME, "k") is None  # written before the bump: dead
    assert (await store.snapshot())["entries"] == 0
