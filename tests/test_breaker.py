"""The store's circuit breaker: its ``closed`` attribute (what admission reads per key, with
no call) agrees with ``state`` through every transition, and admission skips an open key."""

from __future__ import annotations

from scalegate.clock import ManualClock
from scalegate.config import BreakerConfig, KeyConfig
from scalegate.keys.breaker import BreakerState, CircuitBreaker
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import UpstreamKey
from scalegate.keys.store import Candidate, Demand, Settlement


def test_closed_follows_the_state_through_open_half_open_and_closed() -> None:
    clock = ManualClock()
    config = BreakerConfig(consecutive_failures=3, cooldown_seconds=10.0)
    breaker = CircuitBreaker(config, clock)
    seen = []

    def look() -> None:
        state = breaker.state
        assert breaker.closed == (state is BreakerState.CLOSED)
        seen.append(state)

    look()
    for _ in range(3):
        breaker.record(False)
        look()
    assert breaker.available_in() > 0
    clock.advance(10.0)
    look()  # half-open: one probe may pass, the key is still not closed
    breaker.on_acquire()
    breaker.record(False)
    look()  # the probe failed: open again
    clock.advance(10.0)
    look()
    breaker.record(True)
    look()
    breaker.record(False)
    breaker.reset()
    look()
    assert seen == [
        BreakerState.CLOSED,
        BreakerState.CLOSED,
        BreakerState.CLOSED,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
        BreakerState.CLOSED,
    ]


async def test_the_memory_store_admits_around_an_open_breaker_and_on_it_again_once_closed() -> None:
    clock = ManualClock()
    config = BreakerConfig(consecutive_failures=2, cooldown_seconds=5.0)
    store = MemoryKeyStore(clock, breaker=config)
    a, b = (
        UpstreamKey.from_config(KeyConfig(secret=f"sk-ant-{s}", limits={"rpm": 1000})) for s in "ab"
    )
    for k in (a, b):
        await store.register(k)
    offered = [Candidate(a.fingerprint), Candidate(b.fingerprint)]

    async def chosen() -> str | None:
        result = await store.reserve(offered, Demand(1), "least_used", 0, complete=False)
        if result.key_id is not None:
            await store.settle(result.key_id, Settlement(Demand(1)))
        return result.key_id

    for _ in range(2):
        await store.reserve([offered[0]], Demand(1), "least_used", 0)
        await store.settle(a.fingerprint, Settlement(Demand(1), health="failure"))
    assert [await chosen() for _ in range(20)] == [b.fingerprint] * 20
    await store.set_disabled(b.fingerprint, "off")
    refused = await store.reserve(offered, Demand(1), "least_used", 0, complete=False)
    assert (refused.key_id, refused.reason) == (None, "breaker")
    assert refused.wait == 5.0
    clock.advance(5.0)  # half-open: one probe passes, and its success closes the breaker
    probe = await store.reserve(offered, Demand(1), "least_used", 0, complete=False)
    assert probe.key_id == a.fingerprint
    await store.settle(a.fingerprint, Settlement(Demand(1), health="success"))
    assert await chosen() == a.fingerprint
