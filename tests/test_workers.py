"""``scalegate serve --workers N``: several processes, one port, one set of limits via Redis."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, sim_config
from tests.helpers import OLD_STYLE, messages_body, request, sim_stats
from tests.processes import GatewayProcess


def test_two_processes_share_one_limit(
    start_sim: Callable[[SimulatorConfig], SimulatorThread], redis_url: str
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 1000}}))
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": KEY_A, "limits": {"rpm": 20}}],
        "redis_url": redis_url,
        "admission": {"skew_seconds": 0},
    }
    gw = GatewayProcess(config, args=["--workers", "2"]).start()
    try:
        # Wait until both processes serve (each has its own request-id prefix).
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 2:
            assert time.monotonic() < deadline, seen
            with ThreadPoolExecutor(max_workers=4) as pool:
                for resp in pool.map(
                    lambda _: request(gw.url, "GET", "/v1/models", headers=OLD_STYLE), range(8)
                ):
                    seen.add(resp.headers["x-scalegate-request-id"][:16])
        headers = {**OLD_STYLE, "x-scalegate-deadline-ms": "0"}
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(
                pool.map(
                    lambda _: request(gw.url, "POST", "/v1/messages", messages_body(), headers),
                    range(60),
                )
            )
        ok = [a for a in answers if a.status == 200]
        # One limit of 20 for both processes together, not 20 each. (A few requests may have
        # found a refilled slot: the bucket refills 1 every 3 s.)
        assert 20 <= len(ok) <= 22
        assert {a.status for a in answers} == {200, 429}
        processes = {a.headers["x-scalegate-request-id"][:16] for a in answers}
        assert len(processes) == 2  # both processes answered
        assert sim_stats(sim.url)["keys"][KEY_A]["accepted"] == len(ok)
    finally:
        assert gw.proc is not None
        gw.stop()
    assert "Traceback" not in gw.log()
    gw.close()


def test_workers_without_redis_is_refused(tmp_path: object) -> None:
    config = GatewayProcess({"keys": [{"secret": KEY_A}]}, args=["--workers", "2"])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scalegate.cli",
            "serve",
            "--workers",
            "2",
            "--config",
            str(config.config_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=config.env,
    )
    config.close()
    assert proc.returncode == 2
    assert "REDIS_URL" in proc.stderr
