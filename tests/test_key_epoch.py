"""A lease reserved before Redis lost the keys' state settles without a bogus drift charge.

Drift reconciliation compares the provider's reported remaining with what the gateway had
left at reservation, minus everything reserved since (the ``taken`` counter now against
the one in the lease's snapshot). When Redis restarts empty, the key is registered again
and ``taken`` starts over: a lease from before would see a large negative "since" and
charge it as drift, leaving the bucket hundreds of seconds in debt (seen as
``test_redis_restart`` failing now and then: every request refused with "retry after
296.9s"). Each registration of a key with no state now starts an epoch, the snapshot
names it, and a settle from an earlier epoch is not reconciled. Real redis-server,
injected clock.
"""

from __future__ import annotations

from redis.asyncio import Redis

from scalegate.clock import ManualClock
from scalegate.config import KeyConfig
from scalegate.keys import Demand, UpstreamKey
from scalegate.keys.redis_store import RedisKeyStore
from scalegate.keys.store import Candidate, Settlement

ONE = Demand(1, 0, 0)
NOTHING = Demand(0, 0, 0)


def one_key() -> UpstreamKey:
    config = {"secret": "sk-epoch-test-aaaaaaaaaaaaaaaa", "limits": {"rpm": 1000}}
    return UpstreamKey.from_config(KeyConfig.model_validate(config))


async def test_a_lease_from_before_redis_lost_the_state_is_not_reconciled(
    redis_url: str,
) -> None:
    client = Redis.from_url(redis_url)
    store = RedisKeyStore(client, clock=ManualClock())
    try:
        await store.start()
        key = one_key()
        fp = key.fingerprint
        offer = [Candidate(fp)]
        await store.register(key)
        for _ in range(100):  # 100 requests through: "taken" is 100
            got = await store.reserve(offer, ONE, "least_utilized", 2)
            left = dict((name, value) for name, value, _ in got.snapshot)["rpm"]
            # the provider reports what the gateway counted: no drift, and a remaining
            # that a conservative registration can start from
            report = {"rpm": left}
            await store.settle(fp, Settlement(NOTHING, snapshot=got.snapshot, observed=report))
        old = await store.reserve(offer, ONE, "least_utilized", 2)  # in flight: taken 101
        left = dict((name, value) for name, value, _ in old.snapshot)["rpm"]
        assert left == 899

        await client.flushall()  # Redis restarts empty, as it does without persistence
        await store.register(key, conservative=True)  # what reserve does on finding it gone
        fresh = await store.reserve(offer, ONE, "least_utilized", 2)

        # The old lease settles with the provider's report from its own time (899 left):
        # nothing was used behind the gateway's back, so nothing is charged.
        settled = await store.settle(
            fp, Settlement(NOTHING, snapshot=old.snapshot, observed={"rpm": 899})
        )
        assert settled.drift == {}
        # In the new epoch reconciliation still works: the provider saw 50 more requests
        # than the gateway sent since the fresh lease was reserved.
        fresh_left = dict((name, value) for name, value, _ in fresh.snapshot)["rpm"]
        report = {"rpm": fresh_left - 50}
        settled = await store.settle(
            fp, Settlement(NOTHING, snapshot=fresh.snapshot, observed=report)
        )
        assert settled.drift == {"rpm": 50.0}
    finally:
        await store.close()
        await client.aclose()
