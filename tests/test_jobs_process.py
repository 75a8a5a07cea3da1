"""``scalegate worker`` processes on a real Redis: SIGKILL recovery and SIGTERM shutdown.

The gateway (API only, ``queue.embedded_workers: false``) and the simulator run in threads;
workers are real child processes. Jobs are held at the simulator (``x-sim-hold``) so that a
worker provably holds them when it is killed or told to stop.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_stats
from tests.redis_server import free_port
from tests.servers import ServerThread
from tests.test_jobs_http import Receiver, wait_until

LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
SECRET = "process-test-secret"
LEASED = "scalegate:jobs:leased"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def setup(
    redis_url: str,
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    tmp_path: Path,
) -> Iterator[dict[str, Any]]:
    sim = start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))
    keys = [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]
    queue = {
        "worker_concurrency": 4,
        "min_concurrency": 4,
        "max_concurrency": 4,
        "visibility_timeout_seconds": 1.5,
        "shutdown_grace_seconds": 4.0,  # generous: the machine may be loaded
        "retry_base_seconds": 0.01,
        "callback_secret": SECRET,
        "callback_allow_private": True,
    }
    gateway = start_gateway(
        gateway_settings(
            sim.url,
            keys,
            redis_url=redis_url,
            **{f"queue__{k}": v for k, v in {**queue, "embedded_workers": False}.items()},
        )
    )
    config = tmp_path / "worker.yaml"
    config.write_text(
        yaml.safe_dump({"upstream": {"base_url": sim.url}, "keys": keys, "queue": queue})
    )
    client = redis.Redis.from_url(redis_url)
    procs: list[subprocess.Popen[bytes]] = []

    def start_worker(*extra: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scalegate.cli", "worker", "--config", str(config), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"},
        )
        procs.append(proc)
        return proc

    yield {"sim": sim, "gateway": gateway, "redis": client, "start_worker": start_worker}
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    request(sim.url, "POST", "/_sim/release/crash")
    client.close()


def submit(url: str, hold: str | None = None, callback: str | None = None) -> str:
    hdrs = {"x-api-key": "k", "content-type": "application/json"}
    if hold:
        hdrs["x-sim-hold"] = hold
    body = {"request": messages_body("[sim:tokens=3]"), "callback_url": callback}
    resp = request(url, "POST", "/v1/jobs", body, hdrs)
    assert resp.status == 202, resp.body
    job_id: str = resp.json()["id"]
    return job_id


def job(url: str, job_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = request(
        url, "GET", f"/v1/jobs/{job_id}", headers={"x-api-key": "k"}
    ).json()
    return doc


def owners(client: redis.Redis) -> collections.Counter[str]:
    """Who holds each leased job: pid of the owner (``host:pid:rand``)."""
    held = collections.Counter[str]()
    for job_id in client.zrange(LEASED, 0, -1):
        owner = client.hget(b"scalegate:jobs:job:" + job_id, "owner")
        held[owner.decode().split(":")[1] if owner else "?"] += 1
    return held


def test_a_killed_worker_loses_no_job_and_none_completes_twice(
    setup: dict[str, Any], receiver: Receiver
) -> None:
    url, client, sim = setup["gateway"].url, setup["redis"], setup["sim"]
    held = [submit(url, hold="crash", callback=receiver.url) for _ in range(4)]
    rest = [submit(url, callback=receiver.url) for _ in range(8)]
    victim = setup["start_worker"]()
    # First: the lease set holds the four held jobs, owned by the victim, stuck upstream.
    wait_until(lambda: owners(client) == {str(victim.pid): 4}, timeout=30)
    assert sorted(client.zrange(LEASED, 0, -1)) == sorted(h.encode() for h in held)
    assert all(job(url, h)["state"] == "PROCESSING" for h in held)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    request(sim.url, "POST", "/_sim/release/crash")  # their answers go to a dead socket

    rescuer = setup["start_worker"]()

    def all_done() -> bool:
        request(sim.url, "POST", "/_sim/release/crash")  # the re-runs are held too
        return all(job(url, j)["state"] == "COMPLETED" for j in held + rest)

    wait_until(all_done, timeout=40)
    for job_id in held:
        doc = job(url, job_id)
        assert doc["attempts"] == 2  # the killed attempt counts
        assert doc["result"]["usage"]["output_tokens"] == 3
    # Each job records its delivery after it: once all say so, every delivery has arrived.
    everything = held + rest
    wait_until(lambda: all(job(url, j).get("callback_status") == "delivered" for j in everything))
    delivered = collections.Counter(json.loads(body)["id"] for _, body in receiver.calls)
    assert delivered == dict.fromkeys(held + rest, 1)  # every job exactly once
    assert all(json.loads(body)["state"] == "COMPLETED" for _, body in receiver.calls)
    stats = {k.decode(): int(v) for k, v in client.hgetall("scalegate:jobs:stats").items()}
    assert stats["completed"] == 12
    assert stats["reclaimed"] == 4
    assert client.zcard(LEASED) == 0
    assert rescuer.poll() is None


def test_sigterm_finishes_or_releases_held_jobs_and_exits_0(setup: dict[str, Any]) -> None:
    url, client, sim = setup["gateway"].url, setup["redis"], setup["sim"]
    quick = [submit(url, hold="finish") for _ in range(2)]
    stuck = [submit(url, hold="stuck") for _ in range(2)]
    later = [submit(url) for _ in range(2)]
    port = free_port()
    worker = setup["start_worker"]("--port", str(port))
    wait_until(lambda: owners(client) == {str(worker.pid): 4}, timeout=30)
    wait_until(
        lambda: set(request(sim.url, "GET", "/_sim/holds").json()["holds"]) == {"finish", "stuck"}
    )
    worker.send_signal(signal.SIGTERM)
    # The worker says it stopped leasing; then the first two finish within the grace.
    probes = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: (
            "stopping"
            in request(probes, "GET", "/api/monitoring/health").json()["components"]["jobs"][
                "detail"
            ]
        )
    )
    request(sim.url, "POST", "/_sim/release/finish")
    assert worker.wait(timeout=20) == 0
    output = worker.communicate()[0].decode()
    assert "Traceback" not in output
    assert KEY_A not in output
    for job_id in quick:
        assert job(url, job_id)["state"] == "COMPLETED"
    for job_id in stuck:  # released at the end of the grace period: back in the queue at once
        doc = job(url, job_id)
        assert (doc["state"], doc["attempts"]) == ("PENDING", 0)
    for job_id in later:  # never leased after SIGTERM
        assert (job(url, job_id)["state"], job(url, job_id)["attempts"]) == ("PENDING", 0)
    assert client.zcard(LEASED) == 0
    assert client.zcard("scalegate:jobs:ready") == 4
    assert client.hlen("scalegate:jobs:workers") == 0  # the heartbeat entry is gone
    request(sim.url, "POST", "/_sim/release/stuck")


def scrape(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = request(url, "GET", "/metrics").body.decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_worker_port_serves_probes_and_its_own_metrics(setup: dict[str, Any]) -> None:
    url, sim = setup["gateway"].url, setup["sim"]
    port = free_port()
    probes = f"http://127.0.0.1:{port}"
    worker = setup["start_worker"]("--port", str(port))

    def answering() -> bool:
        try:
            return request(probes, "GET", "/readyz").status == 200
        except OSError:
            return False

    wait_until(answering, timeout=30)
    assert request(probes, "GET", "/healthz").json() == {"status": "alive"}
    health = request(probes, "GET", "/api/monitoring/health").json()
    assert len(health["components"]["jobs"]["workers"]) >= 1
    assert request(probes, "GET", "/v1/models").status == 404  # probes only, no API
    jobs = [submit(url) for _ in range(3)]
    wait_until(lambda: all(job(url, j)["state"] == "COMPLETED" for j in jobs), timeout=30)
    # Calls this process made: counted in its own registry, read over its own port.
    calls = scrape(probes, "scalegate_key_requests_total")
    assert sum(v for labels, v in calls.items() if ("outcome", "success") in labels) == 3
    assert all(KEY_A not in str(labels) for labels in calls)
    text = request(probes, "GET", "/metrics").body.decode()
    assert KEY_A not in text
    assert KEY_B not in text
    assert sum(k["accepted"] for k in sim_stats(sim.url)["keys"].values()) == 3
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    with pytest.raises(ConnectionRefusedError):
        request(probes, "GET", "/healthz")
