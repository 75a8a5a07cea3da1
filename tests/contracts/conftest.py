"""Fixtures shared by the contract suites: the factory per backend, and an outage harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from scalegate.clock import ManualClock
from scalegate.state.stores import MemoryStores, RedisStores, stores_from_url
from tests.contracts.outage import Outage
from tests.redis_server import RedisServer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[MemoryStores | RedisStores]:
    """The factory's store family for ``memory://`` and for the session's redis-server
    (flushed for each test by ``redis_url``)."""
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    made = stores_from_url(url)
    await made.start()
    yield made
    await made.close()


@pytest.fixture
def dedicated_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone: it is stopped and restarted on purpose."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def outage(dedicated_redis: RedisServer) -> AsyncIterator[Outage]:
    """Redis stores on ``dedicated_redis`` and the means to take it down and back up."""
    made = stores_from_url(dedicated_redis.url)
    assert isinstance(made, RedisStores)
    await made.start()
    yield Outage(dedicated_redis, made)
    await made.close()
