"""The exact cache's contract, run against memory and a real Redis; keys and the helper.

Time is a ManualClock (wall time drives TTLs in both stores), so nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scalegate.cache import (
    Bounds,
    ExactCache,
    MemoryExactStore,
    Namespace,
    RedisExactStore,
    exact_key,
    semantic_prompt,
    with_cache,
)
from scalegate.clock import ManualClock
from scalegate.errors import InvalidRequestError
from scalegate.state import RedisBackend, backend_from_url

BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Hi"}],
}
HEADERS = {"anthropic-version": "2023-06-01"}


@pytest.fixture(params=["memory", "redis"])
async def make_cache(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Any]:
    backends: list[RedisBackend] = []

    async def make(clock: ManualClock, **bounds: Any) -> ExactCache:
        b = Bounds(**{"max_entries": 100, "max_bytes": 1 << 20, "ttl_seconds": 60, **bounds})
        if request.param == "memory":
            return ExactCache(MemoryExactStore(b, clock=clock))
        url = request.getfixturevalue("redis_url")
        backend = backend_from_url(url)
        assert isinstance(backend, RedisBackend)
        await backend.start()
        backends.append(backend)
        return ExactCache(RedisExactStore(backend.client, b, clock=clock))

    yield make
    for backend in backends:
        await backend.close()


async def test_get_set_and_stats(make_cache: Any) -> None:
    cache: ExactCache = await make_cache(ManualClock())
    assert await cache.get("k") is None
    assert await cache.set("k", b"value", label="a label")
    assert await cache.get("k") == b"value"
    assert await cache.get("k") == b"value"
    snap = await cache.snapshot()
    assert (snap["hits"], snap["misses"], snap["entries"]) == (2, 1, 1)
    assert snap["bytes"] >= len(b"value")
    assert snap["hit_rate"] == pytest.approx(2 / 3)
    local = cache.stats()
    assert (local["hits"], local["misses"], local["stores"]) == (2, 1, 1)
    top = await cache.top(5)
    assert top[0]["hits"] == 2
    assert top[0]["label"] == "a label"
    assert top[0]["namespace"] == "default"


async def test_ttl_expiry_with_an_injected_clock(make_cache: Any) -> None:
    clock = ManualClock()
    cache: ExactCache = await make_cache(clock, ttl_seconds=10)
    await cache.set("k", b"v")
    await cache.set("short", b"v", ttl=2)
    clock.advance(5)
    assert await cache.get("short") is None
    assert await cache.get("k") == b"v"
    clock.advance(5.1)
    assert await cache.get("k") is None
    snap = await cache.snapshot()
    assert snap["expired"] == 2
    assert snap["entries"] == 0
    assert snap["bytes"] == 0


async def test_namespaces_are_separate_and_versions_invalidate(make_cache: Any) -> None:
    cache: ExactCache = await make_cache(ManualClock())
    for ns in ("web", "web/beta", "mobile"):
        await cache.set("k", ns.encode(), ns)
    assert await cache.get("k", "web") == b"web"
    assert await cache.get("k", "web/beta") == b"web/beta"
    assert await cache.get("k", Namespace("mobile")) == b"mobile"
    assert await cache.get("k") is None  # "default" is a namespace like the others
    await cache.invalidate("web/beta")
    assert await cache.get("k", "web/beta") is None
    assert await cache.get("k", "web") == b"web"
    await cache.set("k", b"again", "web/beta")
    await cache.invalidate("web")  # a tenant takes its sub-namespaces with it
    assert await cache.get("k", "web") is None
    assert await cache.get("k", "web/beta") is None
    assert await cache.get("k", "mobile") == b"mobile"
    await cache.set("k", b"new", "web")
    assert await cache.get("k", "web") == b"new"  # new entries live under the new version
    await cache.invalidate()  # everything
    assert await cache.get("k", "mobile") is None
    assert await cache.get("k", "web") is None


async def test_lru_bound_by_entries(make_cache: Any) -> None:
    cache: ExactCache = await make_cache(ManualClock(), max_entries=3)
    for key in "abc":
        await cache.set(key, key.encode())
    assert await cache.get("a") == b"a"  # a is now the most recently used
    await cache.set("d", b"d")
    assert await cache.get("b") is None  # the least recently used went
    assert [await cache.get(k) for k in "acd"] == [b"a", b"c", b"d"]
    snap = await cache.snapshot()
    assert snap["entries"] == 3
    assert snap["evictions"] == 1


async def test_lru_bound_by_bytes_and_oversized_values(make_cache: Any) -> None:
    cache: ExactCache = await make_cache(ManualClock(), max_bytes=4096)
    for i in range(10):
        await cache.set(f"k{i}", b"x" * 1000)
    snap = await cache.snapshot()
    assert snap["bytes"] <= 4096
    assert snap["entries"] == 3
    assert snap["evictions"] == 7
    assert await cache.get("k9") == b"x" * 1000
    assert not await cache.set("huge", b"x" * 5000)
    assert cache.stats()["too_large"] == 1


async def test_lru_bound_holds_under_concurrent_writes(make_cache: Any) -> None:
    cache: ExactCache = await make_cache(ManualClock(), max_entries=50)
    await asyncio.gather(*(cache.set(f"k{i}", b"%d" % i) for i in range(400)))
    await asyncio.gather(*(cache.get(f"k{i}") for i in range(0, 400, 7)))
    snap = await cache.snapshot()
    assert snap["entries"] == 50
    assert snap["evictions"] == 350
    present = [i for i in range(400) if await cache.store.get(Namespace(), f"k{i}") is not None]
    # Exactly the bound: nothing lost from the bookkeeping, nothing extra (which 50 survive
    # depends on the order the writes reached Redis over several connections).
    assert len(present) == 50
    if isinstance(cache.store, MemoryExactStore):
        assert all(i >= 350 for i in present)
    assert snap["bytes"] == sum(len(b"%d" % i) + len(f"k{i}") for i in present) + 50 * 200 + (
        sum(len(f"scalegate:cache:e:default:k{i}") - len(f"k{i}") for i in present)
        if isinstance(cache.store, RedisExactStore)
        else 0
    )


async def test_a_broken_redis_fails_open(redis_url: str) -> None:
    backend = backend_from_url("redis://127.0.0.1:1/0")
    assert isinstance(backend, RedisBackend)
    cache = ExactCache(RedisExactStore(backend.client))
    assert await cache.get("k") is None
    assert not await cache.set("k", b"v")
    assert cache.stats()["errors"] == 2
    await backend.close()


def test_the_key_ignores_stream_metadata_and_field_order() -> None:
    key = exact_key(BODY, HEADERS)
    reordered = dict(reversed(list(BODY.items())))
    assert exact_key(reordered, HEADERS) == key
    assert exact_key({**BODY, "stream": True}, HEADERS) == key
    assert exact_key({**BODY, "metadata": {"user_id": "u1"}}, HEADERS) == key
    for change in (
        {"temperature": 0.2},
        {"max_tokens": 101},
        {"system": "Be brief."},
        {"tools": [{"name": "t", "input_schema": {"type": "object"}}]},
        {"tool_choice": {"type": "auto"}},
        {"stop_sequences": ["x"]},
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"top_k": 5},
        {"some_future_parameter": 1},
        {"model": "claude-haiku-4-5"},
        {"messages": [{"role": "user", "content": "Hi!"}]},
    ):
        assert exact_key({**BODY, **change}, HEADERS) != key, change
    assert exact_key(BODY, {**HEADERS, "anthropic-beta": "b,a"}) == exact_key(
        BODY, {**HEADERS, "anthropic-beta": "a, b"}
    )
    assert exact_key(BODY, {**HEADERS, "anthropic-beta": "a"}) != key
    assert exact_key(BODY, {"anthropic-version": "2026-10-21"}) != key


def test_semantic_partition_and_prompt() -> None:
    found = semantic_prompt(BODY, HEADERS)
    assert found is not None
    assert found.text == "Hi"
    same = semantic_prompt({**BODY, "messages": [{"role": "user", "content": "Hello"}]}, HEADERS)
    assert same is not None
    assert same.partition == found.partition
    for change in ({"system": "x"}, {"max_tokens": 5}, {"model": "m"}, {"temperature": 1}):
        other = semantic_prompt({**BODY, **change}, HEADERS)
        assert other is not None
        assert other.partition != found.partition
    longer = semantic_prompt(
        {
            **BODY,
            "messages": [
                {"role": "user", "content": "A"},
                {"role": "assistant", "content": "B"},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            ],
        },
        HEADERS,
    )
    assert longer is not None
    assert longer.text == "Hi"
    assert longer.partition != found.partition
    blocks: list[Any] = [
        [{"type": "tool_result", "tool_use_id": "t", "content": "x"}],
        [{"type": "image", "source": {}}, {"type": "text", "text": "what is this"}],
        "   ",
    ]
    for content in blocks:
        assert (
            semantic_prompt({**BODY, "messages": [{"role": "user", "content": content}]}, HEADERS)
            is None
        )
    prefill = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure"}]
    assert semantic_prompt({**BODY, "messages": prefill}, HEADERS) is None


def test_namespaces_parse_and_validate() -> None:
    assert str(Namespace.for_request(None, None)) == "default"
    assert str(Namespace.for_request("web", "beta")) == "web/beta"
    assert Namespace.parse("web/beta") == Namespace("web", "beta")
    with pytest.raises(InvalidRequestError):
        Namespace.for_request("web", "no spaces")
    with pytest.raises(ValueError, match="namespace"):
        Namespace.parse("a/b/c")


async def test_with_cache_caches_any_async_function() -> None:
    cache = ExactCache()
    calls: list[tuple[str, int]] = []

    @with_cache(cache)
    async def price(sku: str, qty: int = 1) -> dict[str, Any]:
        calls.append((sku, qty))
        return {"sku": sku, "total": 3 * qty}

    assert await price("a", qty=2) == {"sku": "a", "total": 6}
    assert await price("a", qty=2) == {"sku": "a", "total": 6}
    assert await price("b") == {"sku": "b", "total": 3}
    assert calls == [("a", 2), ("b", 1)]

    @with_cache(cache, key=lambda obj: obj.name, namespace="objects")
    async def describe(obj: Any) -> str:
        return f"described {obj.name}"

    class Thing:
        name = "thing"

    assert await describe(Thing()) == "described thing"
    assert await cache.get("thing", "objects") == b'"described thing"'
