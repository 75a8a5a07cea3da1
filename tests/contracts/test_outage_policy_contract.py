"""``Outages.guard`` (scalegate.state.outage): one declared policy per subsystem applied to a
real store's failure — fallback or 529 by policy, counted, shown on health, and cleared when
the store answers again."""

from __future__ import annotations

import pytest

from scalegate.cache.keys import Namespace
from scalegate.cache.store import Bounds
from scalegate.clock import ManualClock
from scalegate.errors import OverloadedError, StateBackendError
from scalegate.state.outage import Outages
from tests.contracts.outage import Outage


async def test_guard_applies_each_subsystems_policy_then_recovers(outage: Outage) -> None:
    clock = ManualClock()
    cache = outage.stores.exact_store(Bounds(), clock)
    sessions = outage.stores.session_store(clock)
    outages = Outages.from_settings("fail_open", retry_after=3.0)
    ns = Namespace("acme")
    assert await outages.guard("cache", lambda: cache.set(ns, "k", b"v"), lambda: False)
    assert (outages.counts, outages.health()) == ({}, {})

    outage.stop()
    assert await outages.guard("cache", lambda: cache.get(ns, "k"), lambda: None) is None
    assert await outages.guard("cache", lambda: cache.get(ns, "k"), lambda: None) is None
    assert await outages.guard("keys", cache.snapshot, dict) == {}  # fail_open: the fallback
    assert await outages.guard("tenants", cache.snapshot, dict) == {}  # as keys, by default
    assert await outages.guard("registry", cache.snapshot, lambda: {"last": 1}) == {"last": 1}
    with pytest.raises(OverloadedError) as refused:  # fail_closed ignores a fallback
        await outages.guard("sessions", lambda: sessions.create(60), lambda: "never")
    assert (refused.value.status, refused.value.retry_after) == (529, 3.0)
    assert isinstance(refused.value.__cause__, StateBackendError)
    with pytest.raises(OverloadedError):  # no fallback: a 529 whatever the policy
        await outages.guard("cache", cache.snapshot)
    assert outages.counts == {
        ("cache", "bypass"): 3,
        ("keys", "fail_open"): 1,
        ("tenants", "fail_open"): 1,
        ("registry", "keep_last"): 1,
        ("sessions", "fail_closed"): 1,
    }
    health = outages.health()
    assert sorted(health) == ["cache", "keys", "registry", "sessions", "tenants"]
    assert health["cache"]["status"] == "degraded"
    assert "policy bypass" in health["cache"]["detail"]
    assert "policy fail_closed" in health["sessions"]["detail"]

    outage.restart()
    assert await outages.guard("cache", lambda: cache.get(ns, "k"), lambda: None) is None
    assert sorted(outages.health()) == ["keys", "registry", "sessions", "tenants"]
    assert await outages.guard("sessions", lambda: sessions.create(60), lambda: "never") != "never"
    assert sorted(outages.health()) == ["keys", "registry", "tenants"]
    assert outages.counts[("cache", "bypass")] == 3  # successes are not counted


async def test_an_error_that_is_not_the_stores_is_not_an_outage() -> None:
    outages = Outages.from_settings()

    async def broken() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        await outages.guard("cache", broken, lambda: None)
    assert (outages.counts, outages.health()) == ({}, {})
