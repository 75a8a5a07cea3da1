"""Learned limits: keys configured 5x above what the provider allows, the provider reporting
the truth in its ``anthropic-ratelimit-*-limit`` headers (the simulator does, 429s included).

Over a run of overload, at most 2 % of the upstream calls may be answered 429 and at least
80 % of the real allowance must be used — in one process, and across two replicas sharing
the learned limits in Redis. The allowance is what the provider's bucket allows over the
run: its capacity (it starts full) plus its refill for the run's duration.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_stats
from tests.servers import ServerThread

REAL = {"rpm": 300, "itpm": 300_000, "otpm": 60_000}
CONFIGURED = {name: value * 5 for name, value in REAL.items()}
CLIENTS = 24
RUN_SECONDS = 12.0


def overload(gateways: list[ServerThread], seconds: float) -> tuple[Counter[int], float]:
    """``CLIENTS`` threads sending small requests as fast as answers come, for ``seconds``;
    the statuses the clients saw and the run's real duration."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds
    headers = {
        "x-api-key": "client",
        "anthropic-version": "2023-06-01",
        "x-scalegate-deadline-ms": "2000",
    }

    def client(i: int) -> None:
        gw = gateways[i % len(gateways)]
        while time.monotonic() < stop_at:
            resp = request(
                gw.url, "POST", "/v1/messages", messages_body("hi [sim:tokens=5]"), headers
            )
            with lock:
                statuses[resp.status] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    return statuses, time.monotonic() - started


def check(sim: SimulatorThread, statuses: Counter[int], duration: float) -> dict[str, Any]:
    stats = sim_stats(sim.url)["keys"][KEY_A]
    upstream = stats["requests"]
    answered_429 = stats["quota_429"]
    accepted = upstream - answered_429
    allowance = REAL["rpm"] + REAL["rpm"] / 60 * duration
    report = {
        "upstream": upstream,
        "429": answered_429,
        "accepted": accepted,
        "allowance": round(allowance),
        "clients": dict(statuses),
    }
    assert upstream > 0, report
    assert answered_429 / upstream <= 0.02, report
    assert accepted >= 0.8 * allowance, report
    assert statuses[500] == 0, report
    return report


@pytest.fixture
def sim(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    return start_sim(sim_config({KEY_A: REAL}))


def test_limits_reported_by_the_provider_are_learned(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "limits": CONFIGURED}]))
    statuses, duration = overload([gw], RUN_SECONDS)
    check(sim, statuses, duration)
    keys = request(gw.url, "GET", "/api/monitoring/health").json()
    assert keys["status"] in ("ok", "degraded")
    pool = gw.config.app.state.gateway.pool  # type: ignore[attr-defined]  # the test app

    async def capacity() -> float:
        status = await pool.status()
        return float(status[0]["limits"]["rpm"]["limit"])

    assert gw.call(capacity) == REAL["rpm"]  # min(configured, reported)


def test_two_replicas_share_what_they_learned_in_redis(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread], redis_url: str
) -> None:
    keys = [{"secret": KEY_A, "limits": CONFIGURED}]
    replicas = [
        start_gateway(gateway_settings(sim.url, keys, redis_url=redis_url)) for _ in range(2)
    ]
    statuses, duration = overload(replicas, RUN_SECONDS)
    check(sim, statuses, duration)


def test_keys_of_one_group_share_its_limits(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    from tests.conftest import KEY_B

    sim = start_sim(sim_config({KEY_A: REAL, KEY_B: REAL}))
    keys = [{"secret": k, "limits": CONFIGURED, "group": "org-1"} for k in (KEY_A, KEY_B)]
    gw = start_gateway(gateway_settings(sim.url, keys))
    pool = gw.config.app.state.gateway.pool  # type: ignore[attr-defined]  # the test app

    async def capacities() -> list[float]:
        return [float(s["limits"]["rpm"]["limit"]) for s in await pool.status()]

    assert gw.call(capacities) == [CONFIGURED["rpm"] / 2] * 2  # one budget, two shares
    hdrs = {"x-api-key": "c", "anthropic-version": "2023-06-01"}
    for _ in range(4):
        assert request(gw.url, "POST", "/v1/messages", messages_body(), hdrs).status == 200
    assert gw.call(capacities) == [REAL["rpm"] / 2] * 2  # the reported limit, shared
