"""The outage harness: stop a dedicated redis-server, check every operation fails typed and
promptly, start it again on the same port, check the same store objects recover."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from scalegate.errors import StateBackendError
from scalegate.state.stores import RedisStores
from tests.redis_server import RedisServer

# A store must give up well within this (the backend's timeouts are 1 s connect, 2 s read;
# a stopped server refuses at once). Measured, not slept.
BOUND_SECONDS = 3.0
# Past this an operation counts as hanging (the assertion on BOUND_SECONDS then fails).
HANG_SECONDS = 10.0

Op = Callable[[], Awaitable[Any]]


@dataclass
class Outage:
    server: RedisServer
    stores: RedisStores

    def stop(self) -> None:
        self.server.stop()
        assert not self.server.ping()

    def restart(self) -> None:
        port = self.server.port
        self.server.start()
        assert self.server.port == port

    async def expect_down(self, ops: dict[str, Op]) -> dict[str, float]:
        """Every op raises StateBackendError (not a raw redis error, not a hang) within
        BOUND_SECONDS; returns how long each took."""
        taken: dict[str, float] = {}
        for name, op in ops.items():
            taken[name] = await fails_typed(name, op)
        return taken


async def fails_typed(name: str, op: Op, error: type[BaseException] = StateBackendError) -> float:
    start = time.monotonic()
    try:
        await asyncio.wait_for(op(), HANG_SECONDS)
    except error:
        pass
    except TimeoutError:
        pytest.fail(f"{name}: still running after {HANG_SECONDS} s with Redis down")
    except Exception as exc:  # the point: name what leaked
        pytest.fail(f"{name}: raised {type(exc).__module__}.{type(exc).__name__}: {exc}")
    else:
        pytest.fail(f"{name}: succeeded with Redis down")
    elapsed = time.monotonic() - start
    assert elapsed < BOUND_SECONDS, f"{name}: took {elapsed:.2f} s to fail"
    return elapsed


async def all_succeed(ops: Iterable[tuple[str, Op]]) -> None:
    for name, op in ops:
        try:
            await asyncio.wait_for(op(), HANG_SECONDS)
        except Exception as exc:
            pytest.fail(f"{name}: failed after Redis came back: {type(exc).__name__}: {exc}")
