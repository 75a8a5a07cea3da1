"""The key pool in-process, with an injected clock: exact counts, no sleeping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from scalegate.clock import ManualClock
from scalegate.config import AdmissionConfig, BreakerConfig, KeyConfig
from scalegate.errors import NotFoundError, OverloadedError, RateLimitError
from scalegate.keys import Demand, KeyPool, Outcome, UpstreamKey, Usage, fingerprint
from scalegate.keys.model import keys_from_config
from scalegate.keys.redis_store import RedisKeyStore
from scalegate.priority import Priority

FAR = 1e12  # a deadline that never passes


def key(secret: str, **kw: Any) -> UpstreamKey:
    return UpstreamKey.from_config(KeyConfig.model_validate({"secret": secret, **kw}))


_STORES: list[Any] = []
_BACKEND: dict[str, str] = {}


@pytest.fixture(params=["memory", "redis"], autouse=True)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Every test runs against the memory store and the Redis store (a real redis-server)."""
    _BACKEND.clear()
    _BACKEND["kind"] = request.param
    if request.param == "redis":
        _BACKEND["url"] = request.getfixturevalue("redis_url")
    yield request.param
    while _STORES:
        item = _STORES.pop()
        await (item.aclose() if isinstance(item, Redis) else item.close())


async def make_pool(*keys: UpstreamKey, clock: ManualClock | None = None, **kw: Any) -> KeyPool:
    # Exact bucket arithmetic here; the skew margin has its own test.
    admission = kw.setdefault("admission", AdmissionConfig(skew_seconds=0))
    clock = clock or ManualClock()
    if _BACKEND["kind"] == "redis":
        client = Redis.from_url(_BACKEND["url"])
        store = RedisKeyStore(
            client, clock=clock, skew=admission.skew_seconds, breaker=kw.get("breaker")
        )
        await store.start()
        _STORES.append(client)
        kw["store"] = store
    pool = KeyPool(keys, clock=clock, **kw)
    _STORES.append(pool)
    await pool.start()
    return pool


async def until(predicate: Any, timeout: float = 5.0) -> None:
    """Let other tasks run until ``predicate()`` holds (state, not time, decides)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def usage(pool: KeyPool, k: UpstreamKey, limit: str) -> float:
    status = await pool.store.status(k.fingerprint)
    assert status is not None
    return status.limits[limit].used


async def breaker(pool: KeyPool, k: UpstreamKey) -> str:
    status = await pool.store.status(k.fingerprint)
    assert status is not None
    return status.breaker


async def settle_ok(pool: KeyPool, lease: Any, inp: int = 0, out: int = 0) -> None:
    await pool.settle(lease, Outcome.SUCCESS, Usage(inp, out))


async def test_reservation_then_settlement_refunds_the_difference() -> None:
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={"rpm": 100, "itpm": 10_000, "otpm": 2_000})
    pool = await make_pool(k)
    lease = await pool.acquire("m", Demand(1, 1000, 500), Priority.NORMAL, FAR)
    assert await usage(pool, k, "itpm") == 1000
    assert await usage(pool, k, "otpm") == 500
    await settle_ok(pool, lease, 800, 120)
    assert await usage(pool, k, "itpm") == 800
    assert await usage(pool, k, "otpm") == 120
    assert await usage(pool, k, "rpm") == 1
    await settle_ok(pool, lease, 0, 0)  # settling twice changes nothing
    assert await usage(pool, k, "otpm") == 120


async def test_usage_beyond_the_estimate_is_charged() -> None:
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={"itpm": 10_000})
    pool = await make_pool(k)
    lease = await pool.acquire("m", Demand(1, 1000, 0), Priority.NORMAL, FAR)
    await settle_ok(pool, lease, 1500, 0)
    assert await usage(pool, k, "itpm") == 1500


async def test_all_or_nothing_across_limits() -> None:
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={"rpm": 10, "otpm": 1000})
    pool = await make_pool(k)
    await pool.acquire("m", Demand(1, 0, 600), Priority.NORMAL, FAR)
    with pytest.raises(RateLimitError) as info:
        await pool.acquire("m", Demand(1, 0, 600), Priority.NORMAL, pool.clock.monotonic())
    assert await usage(pool, k, "rpm") == 1  # the refused request took nothing
    # 200 output tokens short at 1000/60 per second: 12 s
    assert info.value.retry_after == pytest.approx(12.0, rel=0.01)


async def test_skew_margin_holds_back_a_little_refill() -> None:
    clock = ManualClock()
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={"rpm": 60})
    pool = await make_pool(k, clock=clock, admission=AdmissionConfig(skew_seconds=0.25))
    for _ in range(59):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    with pytest.raises(RateLimitError) as info:  # 1 left, but 0.25 of it is held back
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    assert info.value.retry_after == pytest.approx(0.25)
    clock.advance(0.25)
    await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)


async def test_minute_buckets_refill_continuously() -> None:
    clock = ManualClock()
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={"rpm": 60})
    pool = await make_pool(k, clock=clock)
    for _ in range(60):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    with pytest.raises(RateLimitError):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    clock.advance(1.0)
    await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    with pytest.raises(RateLimitError):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)


@pytest.mark.parametrize(("limit", "window"), [("rph", 3600.0), ("rpd", 86400.0)])
async def test_hour_and_day_windows_slide(limit: str, window: float) -> None:
    clock = ManualClock(start=0.0)
    k = key("sk-one-aaaaaaaaaaaaaaaa", limits={limit: 3})
    pool = await make_pool(k, clock=clock)
    for _ in range(2):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    clock.advance(window / 2)
    await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    with pytest.raises(RateLimitError) as info:
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    # the first two leave the window (one slot of granularity later) before the third
    assert window / 2 <= info.value.retry_after <= window / 2 + window / 60 + 1  # type: ignore[operator]  # the SDK types this value loosely
    clock.advance(window / 2 - 1)
    with pytest.raises(RateLimitError):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    clock.advance(window / 60 + 1)
    for _ in range(2):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    with pytest.raises(RateLimitError):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)


async def test_least_utilized_spreads_and_weights_proportion() -> None:
    a = key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 1000}, weight=3)
    b = key("sk-bbbb-bbbbbbbbbbbbbbbb", limits={"rpm": 1000}, weight=1)
    pool = await make_pool(a, b)
    counts = {a.fingerprint: 0, b.fingerprint: 0}
    for _ in range(400):
        lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
        counts[lease.key.fingerprint] += 1
    assert counts[a.fingerprint] == pytest.approx(300, abs=2)
    assert counts[b.fingerprint] == pytest.approx(100, abs=2)


async def test_round_robin_cycles() -> None:
    ks = [key(f"sk-rr{i}-aaaaaaaaaaaaaaaaaa") for i in range(3)]
    pool = await make_pool(*ks, admission=AdmissionConfig(selection="round_robin", skew_seconds=0))
    seen = [
        (await pool.acquire("m", Demand(), Priority.NORMAL, FAR)).key.fingerprint for _ in range(9)
    ]
    assert all(seen.count(k.fingerprint) == 3 for k in ks)
    assert seen[:3] == seen[3:6]


async def test_critical_keys_serve_only_critical_and_high() -> None:
    shared = key("sk-shared-aaaaaaaaaaaaaaa", limits={"rpm": 1})
    critical = key("sk-critic-aaaaaaaaaaaaaaa", limits={"rpm": 100}, **{"class": "critical"})
    pool = await make_pool(shared, critical)
    first = await pool.acquire("m", Demand(), Priority.LOW, FAR)
    assert first.key is shared
    with pytest.raises(RateLimitError):  # the critical key has room, but not for NORMAL
        await pool.acquire("m", Demand(), Priority.NORMAL, pool.clock.monotonic())
    for p in (Priority.HIGH, Priority.CRITICAL):
        assert (await pool.acquire("m", Demand(), p, FAR)).key is critical


async def test_an_estimate_above_every_keys_capacity_is_bounded_not_refused() -> None:
    # Clients send max_tokens of 32k-128k by default; a key with 8,000 OTPM still serves
    # them: the reservation is bounded by the largest capacity, settlement charges usage.
    pool = await make_pool(key("sk-one-aaaaaaaaaaaaaaaa", limits={"otpm": 8000, "itpm": 40_000}))
    lease = await pool.acquire("m", Demand(1, 52_000, 64_000), Priority.NORMAL, FAR)
    assert lease.demand == Demand(1, 40_000, 8000)
    await pool.settle(lease, Outcome.SUCCESS, Usage(21_000, 300))
    status = (await pool.status())[0]["limits"]
    assert status["otpm"]["used"] == pytest.approx(300, abs=1)  # the real count, not 64k
    assert status["itpm"]["used"] == pytest.approx(21_000, abs=2)


async def test_model_patterns() -> None:
    haiku = key("sk-haiku-aaaaaaaaaaaaaaaa", models=["claude-haiku-*"])
    pool = await make_pool(haiku)
    assert (await pool.acquire("claude-haiku-4-5", Demand(), Priority.NORMAL, FAR)).key is haiku
    with pytest.raises(NotFoundError):
        await pool.acquire("claude-opus-4-6", Demand(), Priority.NORMAL, FAR)


async def test_retry_after_cools_the_key_down() -> None:
    clock = ManualClock()
    a = key("sk-aaaa-aaaaaaaaaaaaaaaa")
    pool = await make_pool(a, clock=clock)
    lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    await pool.settle(lease, Outcome.RATE_LIMITED, headers={"retry-after": "5"})
    with pytest.raises(RateLimitError) as info:
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    assert info.value.retry_after == pytest.approx(5.0)
    clock.advance(4.99)
    with pytest.raises(RateLimitError):
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    clock.advance(0.02)
    await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)


async def test_ratelimit_headers_steer_before_the_provider_says_no() -> None:
    clock = ManualClock()
    a = key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 100, "itpm": 100_000})
    b = key("sk-bbbb-bbbbbbbbbbbbbbbb", limits={"rpm": 100, "itpm": 100_000})
    pool = await make_pool(a, b, clock=clock)
    lease = await pool.acquire("m", Demand(1, 10, 0), Priority.NORMAL, FAR)
    # The provider says this key has no requests left (someone else uses it too).
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-input-tokens-remaining": "5000",
    }
    await pool.settle(lease, Outcome.SUCCESS, Usage(10, 0), headers)
    other = b if lease.key is a else a
    for _ in range(5):
        nxt = await pool.acquire("m", Demand(1, 10, 0), Priority.NORMAL, FAR)
        assert nxt.key is other
        await settle_ok(pool, nxt, 10)
    assert await usage(pool, lease.key, "itpm") == 95_000


async def test_use_the_provider_reports_is_charged_once_across_concurrent_leases() -> None:
    # Someone else spent 30 requests on this key (or Redis restarted empty). Two leases in
    # flight each come back with the provider's count; only the first may charge the gap.
    k = key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 100})
    pool = await make_pool(k)
    first = await pool.acquire("m", Demand(1, 0, 0), Priority.NORMAL, FAR)
    second = await pool.acquire("m", Demand(1, 0, 0), Priority.NORMAL, FAR)
    for lease, remaining in ((first, "69"), (second, "68")):
        headers = {"anthropic-ratelimit-requests-remaining": remaining}
        await pool.settle(lease, Outcome.SUCCESS, Usage(0, 0), headers)
    # 2 of ours + the 29 the first settlement could attribute; the second adds nothing.
    assert await usage(pool, k, "rpm") == pytest.approx(31)


async def settle_as(pool: KeyPool, bad: UpstreamKey, times: int, outcome: Outcome) -> None:
    """``times`` requests; those on ``bad`` end with ``outcome``, the others succeed."""
    for _ in range(times):
        lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
        await pool.settle(lease, outcome if lease.key is bad else Outcome.SUCCESS)


async def test_a_key_failing_while_its_peer_succeeds_is_ejected_then_probed() -> None:
    # Outlier detection in the pool (keys/outliers.py has its own unit tests); here against
    # both stores, which must not keep a breaker of their own that opens on the failures.
    clock = ManualClock()
    a, b = key("sk-aaaa-aaaaaaaaaaaaaaaa"), key("sk-bbbb-bbbbbbbbbbbbbbbb")
    config = BreakerConfig(min_requests=5, base_ejection_seconds=10, probes=1)
    admission = AdmissionConfig(selection="round_robin", skew_seconds=0)
    pool = await make_pool(a, b, clock=clock, breaker=config, admission=admission)
    await settle_as(pool, a, 20, Outcome.SERVER_ERROR)  # 10 on each key
    clock.advance(1)  # the second is over: its outcomes count
    await settle_as(pool, a, 2, Outcome.SERVER_ERROR)
    status = {s["key"]: s for s in await pool.status()}
    assert (status[a.fingerprint]["status"], status[b.fingerprint]["status"]) == ("ejected", "ok")
    assert status[a.fingerprint]["breaker"] == "open"
    assert await breaker(pool, a) == "closed"  # the store's breaker was told nothing
    assert await pool.usable_count() == 1
    for _ in range(5):
        lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
        assert lease.key is b
        await settle_ok(pool, lease)
    clock.advance(10)
    probe = await pool.acquire("m", Demand(), Priority.NORMAL, FAR, exclude=frozenset())
    others = [await pool.acquire("m", Demand(), Priority.NORMAL, FAR) for _ in range(3)]
    assert [probe.key, *[o.key for o in others]].count(a) == 1  # one probe at a time
    await settle_ok(pool, probe if probe.key is a else others[0])
    assert {s["key"]: s["status"] for s in await pool.status()}[a.fingerprint] == "ok"


async def test_a_retry_is_not_sent_to_wait_for_an_ejected_key() -> None:
    # The attempt loop excludes the keys that just failed; when only ejected keys are left
    # the exclusion is dropped (and has_alternative says so, for the backoff) rather than
    # making the request wait out an ejection.
    clock = ManualClock()
    a, b, c = (key(f"sk-{x * 4}-{x * 16}") for x in "abc")
    config = BreakerConfig(min_requests=5, max_ejection_percent=34)
    admission = AdmissionConfig(selection="round_robin", skew_seconds=0)
    pool = await make_pool(a, b, c, clock=clock, breaker=config, admission=admission)
    await settle_as(pool, a, 30, Outcome.SERVER_ERROR)
    clock.advance(1)
    await settle_as(pool, a, 3, Outcome.SERVER_ERROR)
    assert [s["status"] for s in await pool.status()] == ["ejected", "ok", "ok"]
    bc = frozenset({b.fingerprint, c.fingerprint})
    assert pool.has_alternative("m", Priority.NORMAL, frozenset({b.fingerprint}))
    assert not pool.has_alternative("m", Priority.NORMAL, bc)
    lease = await pool.acquire("m", Demand(), Priority.NORMAL, clock.now, bc)
    assert lease.key in (b, c)


async def test_a_lone_failing_key_is_never_ejected() -> None:
    # One key: there are no peers to compare with and no key to leave in service.
    clock = ManualClock()
    a = key("sk-aaaa-aaaaaaaaaaaaaaaa")
    pool = await make_pool(a, clock=clock, breaker=BreakerConfig(min_requests=5))
    for i in range(40):
        lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
        await pool.settle(lease, Outcome.SERVER_ERROR if i % 4 else Outcome.OVERLOADED)
        clock.advance(0.1)
    assert {s["key"]: s["status"] for s in await pool.status()} == {a.fingerprint: "ok"}
    await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
    assert pool.outliers.degraded() is not None


async def test_no_usable_key_is_an_overloaded_error_with_the_ejection_left() -> None:
    clock = ManualClock()
    a, b = key("sk-aaaa-aaaaaaaaaaaaaaaa"), key("sk-bbbb-bbbbbbbbbbbbbbbb", limits={"rpm": 60})
    config = BreakerConfig(min_requests=5, base_ejection_seconds=30)
    admission = AdmissionConfig(selection="round_robin", skew_seconds=0)
    pool = await make_pool(a, b, clock=clock, breaker=config, admission=admission)
    await settle_as(pool, a, 20, Outcome.CONNECTION_ERROR)
    clock.advance(1)
    await settle_as(pool, a, 2, Outcome.CONNECTION_ERROR)
    assert pool.outliers.ejected_for(a.fingerprint) == pytest.approx(30.0)
    admitted = 0
    while admitted <= 60:  # b's quota runs out: then 429, quota is what is missing
        try:
            await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)
        except RateLimitError:
            break
        admitted += 1
    assert admitted == 60 - 11 + 1  # 11 taken before, 1 refilled in the second that passed
    # Queued for b's refill, then b is disabled: at its deadline the request is refused
    # with 529 (no key usable) and the time until a is back, not 429 "no capacity".
    waiting = asyncio.create_task(pool.acquire("m", Demand(), Priority.NORMAL, clock.now + 10))
    await until(lambda: len(pool.queue) == 1)
    await pool.disable(b.fingerprint)
    clock.advance(11)
    pool.queue.wake()
    with pytest.raises(OverloadedError, match="usable") as queued:
        await asyncio.wait_for(waiting, 5)
    assert queued.value.retry_after == pytest.approx(19.0)
    with pytest.raises(OverloadedError, match="ejected") as at_once:
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now + 1)
    assert at_once.value.retry_after == pytest.approx(19.0)
    await pool.close()


async def test_401_quarantines_until_an_operator_enables(caplog: pytest.LogCaptureFixture) -> None:
    a = key("sk-aaaa-aaaaaaaaaaaaaaaa")
    b = key("sk-bbbb-bbbbbbbbbbbbbbbb")
    pool = await make_pool(a, b, admission=AdmissionConfig(selection="round_robin", skew_seconds=0))
    lease = await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    bad = lease.key
    with caplog.at_level(logging.ERROR):
        await pool.settle(lease, Outcome.AUTH_FAILED)
    assert bad.fingerprint in caplog.text
    assert bad.secret not in caplog.text
    for _ in range(10):
        assert (await pool.acquire("m", Demand(), Priority.NORMAL, FAR)).key is not bad
    status = {s["key"]: s["status"] for s in await pool.status()}
    assert status[bad.fingerprint] == "quarantined"
    await pool.enable(bad.fingerprint)
    seen = {(await pool.acquire("m", Demand(), Priority.NORMAL, FAR)).key for _ in range(4)}
    assert bad in seen


async def _admitted_order(
    pool: KeyPool, clock: ManualClock, arrivals: list[Priority]
) -> list[Priority]:
    order: list[Priority] = []

    async def one(p: Priority) -> None:
        lease = await pool.acquire("m", Demand(), p, FAR)
        order.append(p)
        await settle_ok(pool, lease)

    tasks = []
    for i, p in enumerate(arrivals):
        tasks.append(asyncio.create_task(one(p)))
        await until(lambda i=i: len(pool.queue) == i + 1)  # arrive in this order
    for i in range(len(arrivals)):
        clock.advance(1.0)  # one request's worth of refill at 60 rpm
        pool.queue.wake()
        await until(lambda i=i: len(order) == i + 1)
    await asyncio.gather(*tasks)
    return order


async def test_waiters_are_admitted_by_priority_then_arrival() -> None:
    clock = ManualClock()
    pool = await make_pool(key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 60}), clock=clock)
    for _ in range(60):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    arrivals = [
        Priority.LOW,
        Priority.NORMAL,
        Priority.LOW,
        Priority.HIGH,
        Priority.CRITICAL,
        Priority.NORMAL,
    ]
    order = await _admitted_order(pool, clock, arrivals)
    assert order == sorted(arrivals)  # stable: FIFO within a level
    await pool.close()


async def test_deadline_refuses_with_an_honest_retry_after() -> None:
    clock = ManualClock()
    pool = await make_pool(key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 6}), clock=clock)
    for _ in range(6):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    # A request whose own wait already exceeds its deadline is refused at once.
    with pytest.raises(RateLimitError) as info:
        await pool.acquire("m", Demand(), Priority.NORMAL, clock.now + 7)
    assert info.value.retry_after == pytest.approx(10.0)
    first = asyncio.create_task(pool.acquire("m", Demand(), Priority.HIGH, FAR))
    await until(lambda: len(pool.queue) == 1)
    second = asyncio.create_task(pool.acquire("m", Demand(), Priority.NORMAL, clock.now + 15))
    await until(lambda: len(pool.queue) == 2)
    clock.advance(10)  # one request refilled: it goes to the HIGH waiter
    pool.queue.wake()
    await asyncio.wait_for(first, 5)
    assert not second.done()
    clock.advance(6)  # past the deadline, 4 s before the next refill
    pool.queue.wake()
    with pytest.raises(RateLimitError) as info:
        await asyncio.wait_for(second, 5)
    assert info.value.retry_after == pytest.approx(4.0, abs=0.01)
    await pool.close()


async def test_queue_full_sheds_the_lowest_priority_first() -> None:
    clock = ManualClock()
    pool = await make_pool(
        key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 1}),
        clock=clock,
        admission=AdmissionConfig(max_waiters=2, skew_seconds=0),
    )
    await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    normal1 = asyncio.create_task(pool.acquire("m", Demand(), Priority.NORMAL, FAR))
    await until(lambda: len(pool.queue) == 1)
    normal2 = asyncio.create_task(pool.acquire("m", Demand(), Priority.NORMAL, FAR))
    await until(lambda: len(pool.queue) == 2)
    high = asyncio.create_task(pool.acquire("m", Demand(), Priority.HIGH, FAR))
    # The gateway's own queue is the limit, not the key's quota: 529, not 429.
    with pytest.raises(OverloadedError, match="shed") as shed:
        await normal2  # the newest of the lowest level made room
    assert shed.value.retry_after is not None
    assert shed.value.retry_after > 0
    low = asyncio.create_task(pool.acquire("m", Demand(), Priority.LOW, FAR))
    with pytest.raises(OverloadedError, match="full"):
        await low
    assert not normal1.done()
    assert not high.done()
    assert pool.queue.shed_total == {"normal": 1, "low": 1}
    await pool.close()
    for t in (normal1, high):
        with pytest.raises(Exception, match="shutting down"):
            await t


async def test_a_cancelled_waiter_leaves_no_reservation_behind() -> None:
    clock = ManualClock()
    k = key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 60})
    pool = await make_pool(k, clock=clock)
    for _ in range(60):
        await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    task = asyncio.create_task(pool.acquire("m", Demand(), Priority.NORMAL, FAR))
    await until(lambda: len(pool.queue) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(pool.queue) == 0
    clock.advance(1)
    await pool.acquire("m", Demand(), Priority.NORMAL, clock.now)  # the refill is still there
    await pool.close()


async def test_quota_alerts_fire_once_per_crossing(caplog: pytest.LogCaptureFixture) -> None:
    k = key("sk-aaaa-aaaaaaaaaaaaaaaa", limits={"rpm": 20})
    pool = await make_pool(k)
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            await pool.acquire("m", Demand(), Priority.NORMAL, FAR)
    fired = [(a.limit, a.threshold) for a in pool.alerts.recent]
    assert fired == [("rpm", 0.70), ("rpm", 0.85), ("rpm", 0.95)]
    assert caplog.text.count("quota alert") == 3
    assert k.secret not in caplog.text


def test_fingerprints_never_show_the_secret() -> None:
    secret = "sk-FAKE-test-abcdefghijklmnopqrstuvwxyz0123456789"
    k = key(secret, name="primary-1")
    assert k.fingerprint == fingerprint(secret, "primary-1")
    assert k.fingerprint.startswith("key-")
    assert len(k.fingerprint.split("-")[1]) == 8
    for text in (repr(k), str(k), k.fingerprint):
        assert secret not in text
        assert not any(secret[i : i + 8] in text for i in range(len(secret) - 8))
    twice = keys_from_config(
        (KeyConfig.model_validate({"secret": secret}), KeyConfig.model_validate({"secret": secret}))
    )
    assert len({t.fingerprint for t in twice}) == 2  # one secret listed per model class


async def test_status_reads_while_keys_are_removed() -> None:
    """An admin listing the keys while a reload removes one (another replica, SIGHUP) gets
    a list, not a 500: the pool's key map may change while the store is being asked."""
    keys = [key(f"sk-{c * 4}-{c * 16}") for c in "abcd"]
    pool = await make_pool(*keys)
    listing = asyncio.create_task(pool.status())
    await asyncio.sleep(0)  # the listing is under way (waiting on the store)
    await pool.remove_key(keys[1].fingerprint)
    await pool.remove_key(keys[2].fingerprint)
    listed = {k["key"] for k in await listing}
    assert {keys[0].fingerprint, keys[3].fingerprint} <= listed
    assert {k["key"] for k in await pool.status()} == {keys[0].fingerprint, keys[3].fingerprint}
    assert await pool.usable_count() == 2
