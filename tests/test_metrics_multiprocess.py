"""Metrics with several processes: every scrape counts every process's requests.

First prometheus_client's multiprocess files directly (two processes writing into one
directory, read back by the gateway's scrape registry), then a real ``scalegate serve
--workers 2`` sharing Redis: whichever process answers a scrape, the request counters are
the sum of both, this process's plain counters arrive through the publisher, and the shared
state (keys) is reported once, not once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from scalegate.observe.multiprocess import reap_dead, scrape_registry
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, sim_config
from tests.helpers import OLD_STYLE, messages_body, request
from tests.processes import GatewayProcess
from tests.test_metrics import LIMITS, scrape, value, wait_for

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from prometheus_client import CollectorRegistry
    from scalegate.observe import multiprocess
    from scalegate.observe.recorder import Recorder
    from scalegate.pricing import PriceTable

    assert multiprocess.enabled()
    recorder = Recorder(tenants=False, prices=PriceTable())
    publisher = multiprocess.Publisher(CollectorRegistry(), tenants=False)
    n = int(sys.argv[1])
    for i in range(n):
        t = time.perf_counter()
        recorder.request("messages", 200, t - 0.01, t - 0.002, None)
        recorder.usage("claude-sonnet-4-6", {"input_tokens": 10, "output_tokens": 5}, None)
        if i == 1:
            publisher.publish_recorder(recorder)  # published twice: by the increase only
    publisher.publish_recorder(recorder)
    print(os.getpid())
    """
)


def test_two_processes_writing_one_directory_add_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (3, 4):
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(n)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process and metric type
    text = generate_latest(scrape_registry(str(tmp_path))).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("scalegate_requests_total", (("route", "messages"), ("status", "200")))] == 7
    assert samples[("scalegate_request_duration_seconds_count", (("route", "messages"),))] == 7
    tokens = ("scalegate_tokens_total", (("direction", "input"), ("model", "claude-sonnet-4-6")))
    assert samples[tokens] == 70
    reap_dead(str(tmp_path))  # the writers are gone: no live gauge of theirs may remain
    assert not list(tmp_path.glob("gauge_live*"))


def test_serve_with_two_workers_reports_both_processes(
    start_sim: Callable[[SimulatorConfig], SimulatorThread], redis_url: str
) -> None:
    sim = start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)],
        "redis_url": redis_url,
    }
    gw = GatewayProcess(config, args=["--workers", "2"]).start()
    try:
        seen: set[str] = set()
        sent = 0
        deadline = time.monotonic() + 30
        while len(seen) < 2 or sent < 40:
            assert time.monotonic() < deadline, seen
            with ThreadPoolExecutor(max_workers=4) as pool:
                for resp in pool.map(
                    lambda _: request(gw.url, "POST", "/v1/messages", messages_body(), OLD_STYLE),
                    range(8),
                ):
                    assert resp.status == 200
                    seen.add(resp.headers["x-scalegate-request-id"][:16])
                    sent += 1

        def complete() -> dict[str, float] | None:
            m = scrape(gw.url)
            got = {
                "requests": value(m, "scalegate_requests_total", route="messages", status="200"),
                "admitted": value(m, "scalegate_admission_total", outcome="admitted"),
                "calls": value(m, "scalegate_key_requests_total", outcome="success"),
            }
            return got if set(got.values()) == {float(sent)} else None

        wait_for(complete)  # the plain counters are published once a second
        # Every scrape, whichever process answers it, has all of it.
        for _ in range(6):
            m = scrape(gw.url)
            assert value(m, "scalegate_requests_total", status="200") == sent
            assert value(m, "scalegate_request_duration_seconds_count") == sent
            assert value(m, "scalegate_keys_configured") == 2  # shared state: once
            assert value(m, "scalegate_redis_up") == 1
            assert value(m, "scalegate_admission_waiting") == 0
    finally:
        gw.stop()
    assert "Traceback" not in gw.log()
    gw.close()
