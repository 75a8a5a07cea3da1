"""The SemanticStore contract (scalegate.cache.semantic_store) on memory and Redis Stack.

The Redis store needs the search module, so its variant runs on a Redis Stack server of this
module (tests/redis_stack.py; skipped, with the reason, only when Redis Stack is not
installed). Vectors are 4-dimensional unit vectors written by hand, so similarities are
exact; time is the injected ManualClock's wall time (both stores take it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest

from scalegate.cache.keys import Namespace
from scalegate.cache.redis_semantic import RedisSemanticStore
from scalegate.cache.semantic_store import MemorySemanticStore, SemanticStore
from scalegate.cache.store import Bounds
from scalegate.clock import ManualClock
from scalegate.state.stores import MemoryStores, RedisStores, stores_from_url
from tests.contracts.outage import Outage, all_succeed
from tests.redis_stack import RedisStackServer, stack_available

Stores = MemoryStores | RedisStores
DIMS = 4
BOUNDS = Bounds(max_entries=100, max_bytes=1 << 20, ttl_seconds=60)
ACME, OTHER = Namespace("acme"), Namespace("other")
NO_STACK = "Redis Stack (search module) is not installed: scripts/extras-cache.sh installs it"


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


E1, E2, E3 = unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 1, 0)
NEAR_E1 = unit(0.96, 0.28, 0, 0)  # cosine 0.96 with E1, 0.28 with E2


@pytest.fixture(scope="module")
def redis_stack() -> Iterator[RedisStackServer]:
    if not stack_available():
        pytest.skip(NO_STACK)
    server = RedisStackServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis-stack"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    url = "memory://"
    if request.param == "redis-stack":
        server: RedisStackServer = request.getfixturevalue("redis_stack")
        assert server.command("FLUSHALL").startswith(b"+OK")  # the index goes with it
        url = server.url
    made = stores_from_url(url)
    await made.start()
    yield made
    await made.close()


async def store_of(stores: Stores, clock: ManualClock, bounds: Bounds = BOUNDS) -> SemanticStore:
    return await stores.semantic_store(DIMS, bounds, clock)


async def test_the_factory_builds_the_backends_store(stores: Stores, clock: ManualClock) -> None:
    store = await store_of(stores, clock)
    redis = isinstance(stores, RedisStores)
    assert type(store) is (RedisSemanticStore if redis else MemorySemanticStore)
    assert isinstance(store, SemanticStore)
    assert store.kind == ("redis" if redis else "memory")
    assert store.bounds == BOUNDS


async def test_search_is_best_first_above_the_floor(stores: Stores, clock: ManualClock) -> None:
    store = await store_of(stores, clock)
    assert await store.search(ACME, "p", E1, 5, 0.0) == []
    for name, vec in (("e1", E1), ("e2", E2), ("e3", E3)):
        assert await store.add(ACME, "p", f"prompt {name}", vec, name.encode(), label=name)
    found = await store.search(ACME, "p", NEAR_E1, 5, 0.2)
    assert [(c.prompt, c.value) for c in found] == [("prompt e1", b"e1"), ("prompt e2", b"e2")]
    assert [c.similarity for c in found] == [
        pytest.approx(0.96, abs=1e-4),
        pytest.approx(0.28, abs=1e-4),
    ]
    assert [c.value for c in await store.search(ACME, "p", NEAR_E1, 1, 0.2)] == [b"e1"]
    assert await store.search(ACME, "p", NEAR_E1, 5, 0.97) == []


async def test_partitions_and_namespaces_are_separate(stores: Stores, clock: ManualClock) -> None:
    store = await store_of(stores, clock)
    await store.add(ACME, "p", "x", E1, b"acme-p")
    await store.add(ACME, "q", "x", E1, b"acme-q")
    await store.add(OTHER, "p", "x", E1, b"other-p")
    for ns, part, value in (
        (ACME, "p", b"acme-p"),
        (ACME, "q", b"acme-q"),
        (OTHER, "p", b"other-p"),
    ):
        assert [c.value for c in await store.search(ns, part, E1, 5, 0.5)] == [value]
    assert await store.search(ACME, "r", E1, 5, 0.5) == []


async def test_a_bump_makes_the_scopes_entries_unreachable(
    stores: Stores, clock: ManualClock
) -> None:
    store = await store_of(stores, clock)
    await store.add(ACME, "p", "x", E1, b"old")
    await store.add(OTHER, "p", "x", E1, b"other")
    assert await store.bump("acme") == 1
    assert await store.bump("acme") == 2
    assert await store.search(ACME, "p", E1, 5, 0.5) == []
    assert [c.value for c in await store.search(OTHER, "p", E1, 5, 0.5)] == [b"other"]
    await store.add(ACME, "p", "x", E1, b"new")
    assert [c.value for c in await store.search(ACME, "p", E1, 5, 0.5)] == [b"new"]
    assert await store.bump("*") == 1
    assert await store.search(OTHER, "p", E1, 5, 0.5) == []


async def test_expiry_is_on_the_injected_wall_clock(stores: Stores, clock: ManualClock) -> None:
    store = await store_of(stores, clock)
    await store.add(ACME, "p", "short", E1, b"short", ttl=5)
    await store.add(ACME, "p", "default", E2, b"default")
    clock.advance(4.99)
    assert [c.value for c in await store.search(ACME, "p", E1, 5, 0.5)] == [b"short"]
    clock.advance(0.02)
    assert await store.search(ACME, "p", E1, 5, 0.5) == []
    assert [c.value for c in await store.search(ACME, "p", E2, 5, 0.5)] == [b"default"]
    clock.advance(55)
    assert await store.search(ACME, "p", E2, 5, 0.5) == []


async def test_touch_counts_hits_for_top(stores: Stores, clock: ManualClock) -> None:
    store = await store_of(stores, clock)
    for name, vec in (("e1", E1), ("e2", E2), ("e3", E3)):
        await store.add(ACME, "p", name, vec, name.encode(), label=name)
    for vec, hits in ((E2, 3), (E3, 1)):
        (found,) = await store.search(ACME, "p", vec, 1, 0.9)
        for _ in range(hits):
            await store.touch(found)
    e2 = (await store.search(ACME, "p", E2, 1, 0.9))[0]
    top = await store.top(2)
    assert [(t["key"], t["hits"]) for t in top] == [(e2.id, 3), (top[1]["key"], 1)]
    assert "e2" in top[0]["label"]
    assert await store.top(0) == []


async def test_the_entry_bound_evicts_least_recently_used(
    stores: Stores, clock: ManualClock
) -> None:
    store = await store_of(stores, clock, Bounds(max_entries=3, max_bytes=1 << 20, ttl_seconds=60))
    vectors = [E1, E2, E3, unit(0, 0, 0, 1)]
    for i, vec in enumerate(vectors[:3]):
        await store.add(ACME, "p", f"x{i}", vec, f"v{i}".encode())
    (first,) = await store.search(ACME, "p", E1, 1, 0.9)
    await store.touch(first)  # now v1 is the least recently used
    await store.add(ACME, "p", "x3", vectors[3], b"v3")
    kept = [await store.search(ACME, "p", vec, 1, 0.9) for vec in vectors]
    assert [[c.value for c in found] for found in kept] == [[b"v0"], [], [b"v2"], [b"v3"]]
    snap = await store.snapshot()
    assert (snap["entries"], snap["evictions"], snap["expired"]) == (3, 1, 0)


@pytest.fixture
async def stack_outage() -> AsyncIterator[Outage]:
    if not stack_available():
        pytest.skip(NO_STACK)
    server = RedisStackServer().start()
    made = stores_from_url(server.url)
    assert isinstance(made, RedisStores)
    await made.start()
    yield Outage(server, made)
    await made.close()
    server.stop()


async def test_outage_raises_typed_errors_promptly_then_recovers(stack_outage: Outage) -> None:
    clock = ManualClock()
    store = await stack_outage.stores.semantic_store(DIMS, BOUNDS, clock)
    await store.add(ACME, "p", "x", E1, b"v")
    (found,) = await store.search(ACME, "p", E1, 1, 0.5)
    stack_outage.stop()
    await stack_outage.expect_down(
        {
            "search": lambda: store.search(ACME, "p", E1, 1, 0.5),
            "add": lambda: store.add(ACME, "p", "y", E2, b"w"),
            "touch": lambda: store.touch(found),
            "bump": lambda: store.bump("acme"),
            "snapshot": store.snapshot,
            "top": lambda: store.top(5),
        }
    )
    stack_outage.restart()  # an empty Redis Stack: its search index is gone too
    await all_succeed([("search", lambda: store.search(ACME, "p", E1, 1, 0.5))])
    assert await store.search(ACME, "p", E1, 1, 0.5) == []  # a miss, the index made again
    await store.add(ACME, "p", "y", E2, b"w")
    assert [c.value for c in await store.search(ACME, "p", E2, 1, 0.5)] == [b"w"]
