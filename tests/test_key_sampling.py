"""Admission in a large pool (issue 16): a bounded sample of keys per attempt, load still
spread over every key, and a full pass whenever the sample cannot admit.

Every test runs on the memory store and on a real Redis, with an injected clock and a seeded
random generator, so the counts are exact.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from scalegate.clock import ManualClock
from scalegate.config import AdmissionConfig, KeyConfig
from scalegate.errors import RateLimitError
from scalegate.keys import Demand, KeyPool, Outcome, UpstreamKey, Usage
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.redis_store import RedisKeyStore
from scalegate.keys.sampling import FIRST, SAMPLE
from scalegate.keys.store import Candidate, KeyStore, Settlement
from scalegate.priority import Priority

FAR = 1e12
MakePool = Callable[..., Coroutine[Any, Any, KeyPool]]


def keys(n: int, prefix: str = "k", **kw: Any) -> list[UpstreamKey]:
    kw.setdefault("limits", {"rpm": 1000})
    return [
        UpstreamKey.from_config(
            KeyConfig.model_validate({"secret": f"sk-{prefix}-{i:05d}-{'x' * 20}", **kw})
        )
        for i in range(n)
    ]


@pytest.fixture(params=["memory", "redis"])
async def make_pool(request: pytest.FixtureRequest) -> AsyncIterator[MakePool]:
    """Pools on one store (two pools on it stand for two replicas), clock frozen at start."""
    clock = ManualClock()
    closing: list[Any] = []
    shared: dict[str, KeyStore] = {}

    async def make(ks: list[UpstreamKey], seed: int = 1, **kw: Any) -> KeyPool:
        kw.setdefault("admission", AdmissionConfig(skew_seconds=0))
        store: KeyStore
        if request.param == "redis":
            client = Redis.from_url(request.getfixturevalue("redis_url"))
            closing.append(client)
            store = RedisKeyStore(client, clock=clock)
        else:  # a second pool shares the first one's memory store
            store = shared.setdefault("store", MemoryKeyStore(clock))
        pool = KeyPool(ks, store=store, clock=clock, rng=random.Random(seed), **kw)
        closing.append(pool)
        await pool.start()
        return pool

    yield make
    for item in reversed(closing):
        await (item.aclose() if isinstance(item, Redis) else item.close())


async def take(pool: KeyPool, n: int, **kw: Any) -> Counter[str]:
    """``n`` acquire + settle pairs; requests per key."""
    counts: Counter[str] = Counter()
    for _ in range(n):
        lease = await pool.acquire("m", Demand(1, 0, 0), Priority.NORMAL, FAR, **kw)
        await pool.settle(lease, Outcome.SUCCESS, Usage(0, 0))
        counts[lease.key.fingerprint] += 1
    return counts


async def test_a_thousand_keys_cost_a_sample_per_request(make_pool: MakePool) -> None:
    pool = await make_pool(keys(1000))
    await take(pool, 200)
    assert pool.offered_total == 200 * FIRST  # not 200 * 1,000
    assert pool.full_passes_total == 0


async def test_least_utilised_of_the_sample_spreads_load_over_every_key(
    make_pool: MakePool,
) -> None:
    # Frozen clock, 50 requests a minute per key: utilisation is requests taken / 50.
    ks = keys(200, limits={"rpm": 50})
    pool = await make_pool(ks)
    counts = await take(pool, 4000)
    assert set(counts) == {k.fingerprint for k in ks}  # every key served
    # 20 each on average; the power of two choices keeps the busiest key within 10 % of it
    # (a purely random choice puts the busiest near 33 here: median of 20 simulated runs).
    assert sum(counts.values()) == 4000
    assert max(counts.values()) <= 22
    assert pool.full_passes_total == 0


async def test_weights_set_the_share_in_a_sampled_pool(make_pool: MakePool) -> None:
    heavy = keys(20, "heavy", weight=3, limits={"rpm": 200})
    light = keys(80, "light", limits={"rpm": 200})
    pool = await make_pool(heavy + light)
    # Total weight 140: about 60 per heavy key and 20 per light one. The score is the use
    # *after* the request over the weight, so a heavy key evens out at 3 x (light + 1) - 1.
    counts = await take(pool, 2800)
    per_heavy = [counts[k.fingerprint] for k in heavy]
    per_light = [counts[k.fingerprint] for k in light]
    assert sum(per_heavy) + sum(per_light) == 2800
    assert min(per_heavy) >= 57  # each heavy key near its 60
    assert max(per_heavy) <= 63
    assert min(per_light) >= 17  # each light key near its 20
    assert max(per_light) <= 21
    assert abs(sum(per_heavy) - 1200) <= 30


async def test_a_key_with_room_admits_even_when_the_sample_misses_it(
    make_pool: MakePool,
) -> None:
    ks = keys(1000, limits={"rpm": 1})
    pool = await make_pool(ks)
    last = ks[617]
    for k in ks:  # every key but one has taken its one request this minute
        if k is not last:
            got = await pool.store.reserve([Candidate(k.fingerprint)], Demand(), "round_robin", 2)
            assert got.key_id == k.fingerprint
    now = pool.clock.monotonic()
    lease = await pool.acquire("m", Demand(), Priority.NORMAL, deadline=now)  # no waiting
    assert lease.key is last
    assert lease.waited == 0
    # No sample (2 keys, then 8 others, then 16 others) had room: every key was offered.
    assert pool.full_passes_total == 1
    assert pool.offered_total == FIRST + SAMPLE + 2 * SAMPLE + 1000
    with pytest.raises(RateLimitError) as info:  # now none has: the honest wait
        await pool.acquire("m", Demand(), Priority.NORMAL, deadline=now)
    assert info.value.retry_after == pytest.approx(60.0)
    assert pool.full_passes_total == 2


async def test_the_prefix_key_is_preferred_in_a_large_pool_also_across_replicas(
    make_pool: MakePool,
) -> None:
    ks = keys(1000)
    first = await make_pool(ks, seed=1)
    served = await take(first, 1, affinity="prefix-1")
    (holder,) = served
    again = await take(first, 20, affinity="prefix-1")
    assert again == {holder: 20}  # the pool's hint puts the key in every sample
    assert first.full_passes_total == 0
    # Another replica has no hint: the store names the key, the pool offers it.
    second = await make_pool(ks, seed=2)
    assert await take(second, 1, affinity="prefix-1") == {holder: 1}
    assert second.offered_total == FIRST + FIRST + 1  # asked once more, with the key
    assert await take(second, 1, affinity="prefix-1") == {holder: 1}
    assert second.offered_total == 3 * FIRST + 2  # and then knew it
    assert await take(second, 1, affinity="prefix-2") != {holder: 1}


async def test_round_robin_takes_every_key_in_turn_in_a_large_pool(make_pool: MakePool) -> None:
    ks = keys(100)
    pool = await make_pool(ks, admission=AdmissionConfig(selection="round_robin", skew_seconds=0))
    order = []
    for _ in range(250):
        lease = await pool.acquire("m", Demand(1, 0, 0), Priority.NORMAL, FAR)
        await pool.settle(lease, Outcome.SUCCESS, Usage(0, 0))
        order.append(lease.key)
    assert order == (ks * 3)[:250]
    assert pool.offered_total == 250 * FIRST


async def test_critical_keys_stay_hidden_from_normal_traffic_in_a_large_pool(
    make_pool: MakePool,
) -> None:
    shared = keys(100, "shared")
    critical = keys(100, "critical", **{"class": "critical"})
    pool = await make_pool(shared + critical)
    normal = await take(pool, 300)
    assert set(normal) <= {k.fingerprint for k in shared}
    high: Counter[str] = Counter()
    for _ in range(300):
        lease = await pool.acquire("m", Demand(1, 0, 0), Priority.HIGH, FAR)
        high[lease.key.key_class.value] += 1
    assert set(high) == {"shared", "critical"}


def test_the_first_draw_is_two_distinct_keys_every_pair_alike() -> None:
    """The written-out draw of two (uniform weights): never one key twice, and each of the
    six pairs of four keys about as often as the others (1,000 expected of 6,000)."""
    from scalegate.keys.lease import KeyEntry
    from scalegate.keys.sampling import Eligible

    eligible = Eligible(tuple(KeyEntry(k) for k in keys(4)))
    rng = random.Random(7)
    pairs: Counter[frozenset[str]] = Counter()
    for _ in range(6000):
        drawn = eligible.sample(rng, FIRST, "least_utilized", lambda fp: True)
        assert drawn is not None
        assert len(drawn) == len(set(drawn)) == FIRST
        pairs[frozenset(drawn)] += 1
    assert len(pairs) == 6
    assert all(850 <= n <= 1150 for n in pairs.values()), pairs
    # A key that may not be used is never drawn (the general draw takes over; it may find
    # fewer than two in its bounded draws, which the caller's larger draws cover).
    banned = eligible.fingerprints[0]
    for _ in range(200):
        drawn = eligible.sample(rng, FIRST, "least_utilized", lambda fp: fp != banned)
        assert drawn is not None
        assert banned not in drawn
        assert len(drawn) == len(set(drawn)) >= 1


async def two_keys(limits: dict[str, int]) -> tuple[MemoryKeyStore, ManualClock, str, str]:
    """A memory store holding two keys with ``limits``, and its frozen clock."""
    clock = ManualClock()
    store = MemoryKeyStore(clock)
    a, b = keys(2, limits=limits)
    for key in (a, b):
        await store.register(key)
    return store, clock, a.fingerprint, b.fingerprint


async def fill(store: MemoryKeyStore, fp: str, n: int) -> None:
    """``n`` requests reserved on ``fp`` alone (a sample of one is checked, not ordered)."""
    for _ in range(n):
        result = await store.reserve([Candidate(fp)], Demand(1), "least_used", 0, complete=False)
        assert result.key_id == fp


async def sampled(store: MemoryKeyStore, first: str, second: str) -> str | None:
    offered = [Candidate(first), Candidate(second)]
    result = await store.reserve(offered, Demand(1), "least_used", 0, complete=False)
    return result.key_id


async def test_a_sample_tries_the_key_whose_minute_use_has_refilled_since() -> None:
    """The sample is ordered by each key's use after its last reservation less the refill
    since: a key at 90 % a minute ago is idle now, and preferred to one at 50 % just now."""
    store, clock, a, b = await two_keys({"rpm": 60})
    await fill(store, a, 54)
    clock.advance(50)
    await fill(store, b, 30)
    clock.advance(5)
    assert await sampled(store, b, a) == a
    assert await sampled(store, a, b) == a


async def test_a_day_window_is_not_taken_to_empty_by_the_minute() -> None:
    """Use of an hour or day window falls only as its slots leave it: a key at 90 % of its
    day stays behind one at 50 % ten minutes later."""
    store, clock, a, b = await two_keys({"rpd": 100})
    await fill(store, a, 90)
    await fill(store, b, 50)
    clock.advance(600)
    assert await sampled(store, a, b) == b
    assert await sampled(store, b, a) == b


async def test_a_key_estimated_idle_but_resting_leaves_the_request_to_the_other() -> None:
    """The estimate orders, the limits decide: a key told to rest (a retry-after) is
    checked first, cannot admit, and the next key is taken."""
    store, clock, a, b = await two_keys({"rpm": 60})
    await fill(store, b, 30)
    await store.settle(a, Settlement(Demand(0), cooldown=30.0))
    assert await sampled(store, a, b) == b
    clock.advance(31)
    assert await sampled(store, a, b) == a  # rested, and idle: b is at half its minute
