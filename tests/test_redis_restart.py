"""Redis restarts empty under load: the keys' buckets come back conservatively.

The provider's buckets are nearly empty while the gateway runs at its limit; a key
re-registered with *full* buckets would send the provider a burst of 429s. The store starts
them from the provider's last reported remaining (or empty) instead. Target: at most 1 % of
the upstream calls after the restart are answered 429.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_stats
from tests.redis_server import RedisServer
from tests.servers import ServerThread

REAL = {"rpm": 300, "itpm": 300_000, "otpm": 60_000}
CLIENTS = 16


def test_buckets_restart_conservatively_after_redis_comes_back_empty(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: REAL}))
    redis = RedisServer().start()
    try:
        gw = start_gateway(
            gateway_settings(
                sim.url,
                [{"secret": KEY_A, "limits": {k: v * 5 for k, v in REAL.items()}}],
                redis_url=redis.url,
                shared__on_redis_failure="fail_closed",
            )
        )
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        stop = threading.Event()
        headers = {
            "x-api-key": "c",
            "anthropic-version": "2023-06-01",
            "x-scalegate-deadline-ms": "1500",
        }

        def client() -> None:
            while not stop.is_set():
                body = messages_body("hi [sim:tokens=5]")
                status = request(gw.url, "POST", "/v1/messages", body, headers).status
                with lock:
                    statuses[status] += 1

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            time.sleep(4.0)  # load runs: the provider's buckets are drained
            redis.stop()
            redis.start()  # same port, empty: every key's state is gone
            before = sim_stats(sim.url)["keys"][KEY_A]
            time.sleep(8.0)  # load goes on against the restarted Redis
            after = sim_stats(sim.url)["keys"][KEY_A]
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        calls = after["requests"] - before["requests"]
        refused = after["quota_429"] - before["quota_429"]
        report = {"calls": calls, "429": refused, "clients": dict(statuses)}
        assert calls > 0, report
        assert refused <= 0.01 * calls, report
        assert statuses[500] == 0, report
    finally:
        redis.stop()
