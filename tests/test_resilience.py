"""Faults at the provider stay invisible to clients; retry-after and 401s are respected."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anthropic
import orjson

from scalegate.config import Settings
from scalegate.keys import fingerprint
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, MODEL, gateway_settings, sim_config
from tests.helpers import request, sim_post, sim_stats
from tests.servers import ServerThread

KEYS = (KEY_A, KEY_B, KEY_C)
ROOMY = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}

StartSim = Callable[[SimulatorConfig], SimulatorThread]
StartGateway = Callable[[Settings], ServerThread]


def three_keys(
    start_sim: StartSim,
    start_gateway: StartGateway,
    gateway: dict[str, Any] | None = None,
    **sim_extra: Any,
) -> tuple[SimulatorThread, ServerThread]:
    sim = start_sim(sim_config(dict.fromkeys(KEYS, ROOMY), **sim_extra))
    keys = [{"secret": k, "limits": ROOMY} for k in KEYS]
    gw = start_gateway(gateway_settings(sim.url, keys, **(gateway or {})))
    return sim, gw


async def tagged_requests(url: str, n: int, concurrency: int) -> list[str]:
    client = anthropic.AsyncAnthropic(api_key="c", base_url=url, max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with sem:
            try:
                await client.messages.create(
                    model=MODEL,
                    max_tokens=20,
                    messages=[{"role": "user", "content": f"request {i} [sim:tokens=3]"}],
                    extra_headers={"x-sim-tag": f"r{i}", "x-scalegate-deadline-ms": "30000"},
                )
            except anthropic.APIStatusError as exc:
                return str(exc.status_code)
            return "ok"

    try:
        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await client.close()


def test_429_and_529_storms_are_absorbed_and_retry_after_is_obeyed(
    start_sim: StartSim, start_gateway: StartGateway
) -> None:
    faults = {"error_429_rate": 0.20, "error_529_rate": 0.05, "injected_retry_after_seconds": 1}
    sim, gw = three_keys(start_sim, start_gateway, faults=faults, seed=7)
    n = 150
    outcomes = asyncio.run(tagged_requests(gw.url, n, concurrency=8))
    errors = n - outcomes.count("ok")
    assert errors / n < 0.005, {o: outcomes.count(o) for o in set(outcomes)}

    stats = sim_stats(sim.url)["keys"]
    injected = sum(sum(stats[k]["injected"].values()) for k in KEYS)
    assert injected >= n * 0.15  # the storm really happened
    attempts: dict[str, list[tuple[float, str, int, int | None]]] = defaultdict(list)
    for k in KEYS:
        for event in stats[k]["events"]:
            attempts[event["tag"]].append((event["t"], k, event["status"], event["retry_after"]))
    assert len(attempts) == n
    assert sum(1 for tries in attempts.values() if any(s == 200 for _, _, s, _ in tries)) == n
    retried_elsewhere = 0
    for tries in attempts.values():
        tries.sort()
        for i, (t, key, status, retry_after) in enumerate(tries):
            if status == 200:
                assert i == len(tries) - 1  # nothing after success: no request done twice
                continue
            later_same_key = [t2 for t2, k2, _, _ in tries[i + 1 :] if k2 == key]
            if status == 429:
                assert retry_after is not None
                assert all(t2 >= t + retry_after for t2 in later_same_key), (tries, i)
            if tries[i + 1][1] != key:
                retried_elsewhere += 1
    assert retried_elsewhere > 0  # failures moved to another key


def test_a_revoked_key_is_quarantined_after_its_first_401(
    start_sim: StartSim, start_gateway: StartGateway
) -> None:
    sim, gw = three_keys(start_sim, start_gateway)
    sim_post(sim.url, f"/_sim/keys/{KEY_B}/revoke")
    sequential = asyncio.run(tagged_requests(gw.url, 30, concurrency=1))
    assert sequential == ["ok"] * 30
    stats = sim_stats(sim.url)["keys"]
    assert stats[KEY_B]["requests"] == 1
    assert stats[KEY_B]["status_counts"] == {"401": 1}
    concurrent = asyncio.run(tagged_requests(gw.url, 60, concurrency=8))
    assert concurrent == ["ok"] * 60
    assert sim_stats(sim.url)["keys"][KEY_B]["requests"] == 1
    health = request(gw.url, "GET", "/api/monitoring/health")
    assert health.status == 200
    doc = health.json()
    assert doc["status"] == "degraded"
    states = {k["key"]: k["status"] for k in doc["components"]["keys"]["keys"]}
    assert states[fingerprint(KEY_B)] == "quarantined"
    assert KEY_B not in health.body.decode()
    assert KEY_B[:12] not in health.body.decode()


def test_dropped_connections_are_retried_then_reported_cleanly(
    start_sim: StartSim, start_gateway: StartGateway
) -> None:
    # Breakers out of the way: this test is about retry exhaustion (breakers have their own).
    lenient = {"breaker": {"consecutive_failures": 100, "min_requests": 1000}}
    sim, gw = three_keys(
        start_sim, start_gateway, lenient, faults={"drop_connection_rate": 0.3}, seed=3
    )
    outcomes = asyncio.run(tagged_requests(gw.url, 40, concurrency=4))
    assert outcomes == ["ok"] * 40
    stats = sim_stats(sim.url)["keys"]
    assert sum(stats[k]["injected"].get("drop", 0) for k in KEYS) >= 5
    # Every attempt dropped: after max_attempts the client gets a clean 502, not a hang.
    resp = request(
        gw.url,
        "POST",
        "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        {
            "x-api-key": "c",
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
            "x-sim-fault": "drop",
        },
    )
    assert resp.status == 502
    assert resp.json()["error"]["type"] == "api_error"
    assert resp.headers["x-scalegate-attempts"] == "8"


def test_upstream_errors_never_show_a_key(start_sim: StartSim, start_gateway: StartGateway) -> None:
    sim, gw = three_keys(start_sim, start_gateway)
    for key in KEYS:
        sim_post(sim.url, f"/_sim/keys/{key}/revoke")
    resp = request(
        gw.url,
        "POST",
        "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        {"x-api-key": "c", "anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    assert resp.status == 529
    text = resp.body.decode() + orjson.dumps(resp.headers).decode()
    for key in KEYS:
        assert key[:12] not in text
