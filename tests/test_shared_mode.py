"""Shared mode: several gateway processes enforce one set of key limits through one Redis.

The simulator counts by its own rule (not the gateway's estimator): zero quota 429s from it
means no replica pushed a key over a limit, and its counters say how much of what the keys
allowed was used.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from scalegate.keys import fingerprint
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, sim_config
from tests.helpers import request, sim_post, sim_stats
from tests.processes import GatewayProcess
from tests.redis_server import RedisServer

LIMITS = {"rpm": 600, "itpm": 100_000, "otpm": 100_000}
KEYS = (KEY_A, KEY_B)
# ~700 characters: the simulator counts ~180 input tokens, so input tokens per minute bind
# about as tightly as requests per minute do.
PROMPT = (
    "Please summarise the following note. " + "The quick brown fox jumps over the lazy dog. " * 15
)


def gateway_config(sim_url: str, redis_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "upstream": {"base_url": sim_url},
        "keys": [{"secret": k, "limits": LIMITS} for k in KEYS],
        "redis_url": redis_url,
        **extra,
    }


@pytest.fixture
def replicas() -> Iterator[Callable[..., list[GatewayProcess]]]:
    started: list[GatewayProcess] = []

    def start(n: int, config: dict[str, Any]) -> list[GatewayProcess]:
        procs = [GatewayProcess(config) for _ in range(n)]
        for p in procs:
            started.append(p)
            p.start()
        return procs

    yield start
    for p in started:
        p.close()


async def drive(
    urls: list[str],
    seconds: float,
    clients: int,
    priority: str = "normal",
    deadline_ms: int = 2000,
    content: str = PROMPT,
) -> Counter[tuple[str, str]]:
    """Keep ``clients`` requests in flight across ``urls`` for ``seconds``; count outcomes."""
    counts: Counter[tuple[str, str]] = Counter()
    stop = time.monotonic() + seconds
    sdks = [anthropic.AsyncAnthropic(api_key="c", base_url=u, max_retries=0) for u in urls]

    async def client(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            which = (i + n) % len(urls)
            n += 1
            try:
                await sdks[which].messages.create(
                    model=MODEL,
                    max_tokens=50,
                    messages=[{"role": "user", "content": f"{content} #{i}-{n} [sim:tokens=5]"}],
                    extra_headers={
                        "x-scalegate-priority": priority,
                        "x-scalegate-deadline-ms": str(deadline_ms),
                    },
                )
                counts[(urls[which], "ok")] += 1
            except anthropic.APIStatusError as exc:
                counts[(urls[which], str(exc.status_code))] += 1
                await asyncio.sleep(0.05)
            except anthropic.APIConnectionError:
                counts[(urls[which], "conn")] += 1
                await asyncio.sleep(0.05)

    await asyncio.gather(*(client(i) for i in range(clients)))
    for sdk in sdks:
        await sdk.close()
    return counts


def allowed(events: list[dict[str, Any]], capacity: float) -> float:
    """What a minute bucket full at the first arrival allows until the last one."""
    times = [e["t"] for e in events]
    return capacity + capacity / 60.0 * (max(times) - min(times))


def test_three_replicas_never_exceed_the_keys_and_use_them_fully(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    redis_url: str,
    replicas: Callable[..., list[GatewayProcess]],
) -> None:
    sim = start_sim(sim_config({k: LIMITS for k in KEYS}))
    gws = replicas(3, gateway_config(sim.url, redis_url))
    counts = asyncio.run(drive([g.url for g in gws], seconds=16, clients=36))
    ok = sum(v for (_, what), v in counts.items() if what == "ok")
    assert ok > 0
    assert not [k for k in counts if k[1] not in ("ok", "429")], counts
    stats = sim_stats(sim.url)["keys"]
    assert sum(stats[k]["accepted"] for k in KEYS) == ok  # every answer was counted once
    for key in KEYS:
        s = stats[key]
        assert s["quota_429"] == 0, s["events"][-5:]
        accepted = [e for e in s["events"] if e["status"] == 200]
        used = max(
            s["accepted"] / allowed(accepted, LIMITS["rpm"]),
            s["input_tokens"] / allowed(accepted, LIMITS["itpm"]),
        )
        assert used >= 0.9, (key, s["accepted"], s["input_tokens"], used)
    # every replica took part
    per_replica = Counter(
        url for (url, what), v in counts.items() if what == "ok" for _ in range(v)
    )
    assert all(per_replica[g.url] > 0 for g in gws)


def test_a_revoked_key_is_quarantined_on_every_replica(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    redis_url: str,
    replicas: Callable[..., list[GatewayProcess]],
) -> None:
    roomy = {"rpm": 100_000, "itpm": 10_000_000, "otpm": 10_000_000}
    sim = start_sim(sim_config({k: roomy for k in KEYS}))
    config = gateway_config(sim.url, redis_url)
    config["keys"] = [{"secret": k, "limits": roomy} for k in KEYS]
    gws = replicas(3, config)
    sim_post(sim.url, f"/_sim/keys/{KEY_B}/revoke")
    counts = asyncio.run(drive([g.url for g in gws], seconds=3, clients=6, content="hi"))
    assert {what for (_, what) in counts} == {"ok"}, counts
    revoked = sim_stats(sim.url)["keys"][KEY_B]["requests"]
    # The first 401, plus at most the requests the other clients already had in flight on
    # that key before its quarantine reached Redis (6 clients in all); none after it.
    assert 1 <= revoked <= 6
    for gw in gws:
        health = request(gw.url, "GET", "/api/monitoring/health").json()
        states = {k["key"]: k["status"] for k in health["components"]["keys"]["keys"]}
        assert states[fingerprint(KEY_B)] == "quarantined"


def waiting(url: str, priority: str) -> float:
    """Requests of ``priority`` waiting for a key on the replica at ``url``."""
    doc = request(url, "GET", "/api/monitoring/metrics?format=json").json()
    samples = doc["scalegate_admission_waiting"]["samples"]
    return sum(s["value"] for s in samples if s["labels"].get("priority") == priority)


def test_higher_priority_waiting_on_one_replica_goes_first_on_all(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    redis_url: str,
    replicas: Callable[..., list[GatewayProcess]],
) -> None:
    one = {"rpm": 60}
    sim = start_sim(sim_config({KEY_A: one}))
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": KEY_A, "limits": one}],
        "redis_url": redis_url,
    }
    a, b = replicas(2, config)

    async def run() -> tuple[list[float], list[float], int]:
        # use up the key's burst
        await drive([a.url], seconds=1.5, clients=30, content="x")
        done_critical: list[float] = []
        done_low: list[float] = []

        async def ask(url: str, priority: str, out: list[float]) -> None:
            async with anthropic.AsyncAnthropic(api_key="c", base_url=url, max_retries=0) as c:
                await c.messages.create(
                    model=MODEL,
                    max_tokens=10,
                    messages=[{"role": "user", "content": "x"}],
                    extra_headers={
                        "x-scalegate-priority": priority,
                        "x-scalegate-deadline-ms": "30000",
                    },
                )
            out.append(time.monotonic())

        low = [asyncio.create_task(ask(b.url, "low", done_low)) for _ in range(6)]
        # Some LOW requests wait on replica B (its own gauge says so) ...
        deadline = time.monotonic() + 20
        while await asyncio.to_thread(waiting, b.url, "low") < 1:
            assert time.monotonic() < deadline, "no LOW request ever queued"
            await asyncio.sleep(0.02)
        critical = [asyncio.create_task(ask(a.url, "critical", done_critical)) for _ in range(4)]
        # ... and once every CRITICAL one is waiting on A or done, the LOW ones still
        # waiting on B are counted: each of those must be served after every CRITICAL one.
        while await asyncio.to_thread(waiting, a.url, "critical") + len(done_critical) < 4:
            assert time.monotonic() < deadline, "the CRITICAL requests never queued"
            await asyncio.sleep(0.02)
        overtaken = int(await asyncio.to_thread(waiting, b.url, "low"))
        await asyncio.gather(*critical, *low)
        return done_critical, done_low, overtaken

    done_critical, done_low, overtaken = asyncio.run(run())
    # The ordering invariant, whatever the refill timing: LOW requests that were waiting
    # (on replica B) while CRITICAL ones waited (on replica A) came after all of them.
    assert len(done_critical) == 4
    assert len(done_low) == 6
    assert overtaken >= 1
    assert all(t > max(done_critical) for t in sorted(done_low)[-overtaken:])
    assert sim_stats(sim.url)["keys"][KEY_A]["quota_429"] == 0


def test_redis_outage_fail_closed_answers_529_then_recovers(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    redis_server: RedisServer,
    redis_url: str,
    replicas: Callable[..., list[GatewayProcess]],
) -> None:
    sim = start_sim(sim_config({k: LIMITS for k in KEYS}))
    gws = replicas(2, gateway_config(sim.url, redis_url))
    urls = [g.url for g in gws]
    before = asyncio.run(drive(urls, seconds=1, clients=4, content="hi"))
    assert {what for (_, what) in before} == {"ok"}
    redis_server.stop()
    try:
        during = asyncio.run(drive(urls, seconds=2, clients=4, content="hi"))
        assert {what for (_, what) in during} == {"529"}, during
        resp = request(
            gws[0].url,
            "POST",
            "/v1/messages",
            {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
            {"x-api-key": "c", "anthropic-version": "2023-06-01"},
        )
        assert resp.status == 529
        assert resp.json()["error"]["type"] == "overloaded_error"
        assert int(resp.headers["retry-after"]) >= 1
        health = request(gws[0].url, "GET", "/api/monitoring/health")
        assert health.status == 503
        assert health.json()["components"]["redis"]["status"] == "down"
        assert request(gws[0].url, "GET", "/readyz").status == 503
        assert request(gws[0].url, "GET", "/healthz").status == 200  # alive, not ready
    finally:
        redis_server.start()
    # recovery needs nobody: the next attempt after a second finds Redis again
    deadline = time.monotonic() + 10
    while any(request(g.url, "GET", "/readyz").status != 200 for g in gws):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    after = asyncio.run(drive(urls, seconds=1, clients=4, content="hi"))
    assert {what for (_, what) in after} == {"ok"}, after
    for gw in gws:
        assert gw.proc is not None
        assert gw.proc.poll() is None


def test_redis_outage_fail_open_keeps_each_replica_within_its_share(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    redis_server: RedisServer,
    redis_url: str,
    replicas: Callable[..., list[GatewayProcess]],
) -> None:
    limits = {"rpm": 180, "itpm": 1_000_000, "otpm": 1_000_000}
    sim = start_sim(sim_config({KEY_A: limits}))
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": KEY_A, "limits": limits}],
        "redis_url": redis_url,
        "shared": {"on_redis_failure": "fail_open", "replicas": 3},
    }
    gws = replicas(3, config)
    urls = [g.url for g in gws]
    redis_server.stop()
    try:
        started = time.monotonic()
        during = asyncio.run(drive(urls, seconds=6, clients=12, content="hi", deadline_ms=300))
        elapsed = time.monotonic() - started
        for gw in gws:
            health = request(gw.url, "GET", "/api/monitoring/health").json()
            assert health["components"]["redis"]["status"] == "degraded"
            assert "FAIL-OPEN" in health["components"]["redis"]["detail"]
    finally:
        redis_server.start()
    share = limits["rpm"] / 3 / 60  # requests per second each replica may spend
    for url in urls:
        ok = during[(url, "ok")]
        assert 0 < ok <= share * elapsed + 1, (url, ok, share * elapsed)
    stats = sim_stats(sim.url)["keys"][KEY_A]
    assert stats["quota_429"] == 0
    for gw in gws:
        assert gw.proc is not None
        assert gw.proc.poll() is None
