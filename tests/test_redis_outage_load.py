"""Redis stops while requests queue for keys (load above the keys' limits), with tenants.

Under either policy: no 500, no request held past its own deadline (plus the upstream's
answer time), and no answer lost — every answer the provider produced reached its client.
``fail_closed`` answers what it cannot admit with 529 and ``retry-after``; ``fail_open``
keeps serving on local shares. Service resumes when Redis is back.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_stats
from tests.redis_server import RedisServer
from tests.servers import ServerThread

LIMITS = {"rpm": 120, "itpm": 200_000, "otpm": 40_000}
TENANT_KEY = "tenant-outage-secret"
DEADLINE_MS = 1500
CLIENTS = 12


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_queued_and_new_requests_are_answered_within_their_deadline(
    policy: str,
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: LIMITS}))
    redis = RedisServer().start()
    try:
        gw = start_gateway(
            gateway_settings(
                sim.url,
                [{"secret": KEY_A, "limits": LIMITS}],
                redis_url=redis.url,
                tenants=[{"name": "t", "keys": [TENANT_KEY], "limits": {"rpm": 100_000}}],
                shared__on_redis_failure=policy,
                shared__retry_after_seconds=2,
            )
        )
        statuses: Counter[int] = Counter()
        slowest = [0.0]
        lock = threading.Lock()
        stop = threading.Event()
        headers = {
            "x-api-key": TENANT_KEY,
            "anthropic-version": "2023-06-01",
            "x-scalegate-deadline-ms": str(DEADLINE_MS),
        }

        def client() -> None:
            while not stop.is_set():
                started = time.monotonic()
                resp = request(gw.url, "POST", "/v1/messages", messages_body(), headers)
                took = time.monotonic() - started
                with lock:
                    statuses[resp.status] += 1
                    slowest[0] = max(slowest[0], took)
                    if resp.status == 529:
                        assert int(resp.headers["retry-after"]) >= 1

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            time.sleep(2.0)  # requests queue: the load is above the key's 2/s
            redis.stop()
            time.sleep(3.0)  # the outage, under load
            redis.start()
            time.sleep(3.0)  # and after it
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        report = {"statuses": dict(statuses), "slowest": round(slowest[0], 2)}
        answered = sim_stats(sim.url)["keys"][KEY_A]["accepted"]
        assert statuses[500] == 0, report
        assert set(statuses) <= {200, 429, 529}, report
        # Never held past its own deadline (+ the simulator's answer time and slack).
        assert slowest[0] < DEADLINE_MS / 1000 + 2.0, report
        # No answer lost: each one the provider produced reached its client.
        assert statuses[200] == answered, (answered, report)
        if policy == "fail_closed":
            assert statuses[529] > 0, report
        health = request(gw.url, "GET", "/api/monitoring/health").json()
        assert health["components"]["redis"]["status"] == "ok", health  # recovered
    finally:
        redis.stop()
