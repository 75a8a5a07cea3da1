"""Health, component by component: ``/api/monitoring/health``, ``/readyz``, ``/healthz``.

Degraded when a key is quarantined or failing upstream; down (``/readyz`` 503) when no key is
usable or Redis is required and unreachable under fail-closed; the simulated upstream is
flagged. Every judgement is also a metric (``scalegate_health_status``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scalegate.config import Settings, load_settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_post
from tests.redis_server import RedisServer
from tests.servers import ServerThread
from tests.test_metrics import LIMITS, post, scrape, value, wait_for


def health(url: str) -> tuple[int, dict[str, Any]]:
    resp = request(url, "GET", "/api/monitoring/health")
    doc: dict[str, Any] = resp.json()
    return resp.status, doc


@pytest.fixture
def sim2(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    return start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))


def two_keys() -> list[dict[str, Any]]:
    return [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]


def test_a_healthy_gateway_reports_every_component(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(gateway_settings(sim2.url, two_keys(), cache={"mode": "exact"}))
    assert post(gw.url, messages_body()).status == 200
    status, doc = health(gw.url)
    assert status == 200
    assert doc["status"] == "ok"
    assert doc["reasons"] == []
    assert (doc["mode"], doc["simulated_upstream"]) == ("embedded", False)
    assert set(doc["components"]) == {
        "keys",
        "upstream",
        "provider",
        "admission",
        "jobs",
        "caches",
        "capacity",
    }
    assert all(c["status"] == "ok" and c["detail"] for c in doc["components"].values())
    reachable = {k["reachable"] for k in doc["components"]["upstream"]["keys"]}
    assert "reachable" in reachable
    assert request(gw.url, "GET", "/healthz").json() == {"status": "alive"}
    ready = request(gw.url, "GET", "/readyz")
    assert (ready.status, ready.json()["ready"]) == (200, True)
    assert value(scrape(gw.url), "scalegate_health_status", component="overall") == 0


def test_a_quarantined_key_degrades_and_no_usable_key_is_down(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(gateway_settings(sim2.url, two_keys()))
    sim_post(sim2.url, f"/_sim/keys/{KEY_A}/revoke")
    # Each request moves off a rejected key to the other one, so both get tried.
    wait_for(
        lambda: post(gw.url, messages_body()).status == 200 and health(gw.url)[1]["status"] != "ok"
    )
    status, doc = health(gw.url)
    assert (status, doc["status"]) == (200, "degraded")
    assert doc["components"]["keys"]["status"] == "degraded"
    assert "1/2 upstream keys usable" in doc["components"]["keys"]["detail"]
    assert any(r.startswith("keys: ") and "quarantined" in r for r in doc["reasons"])
    verdicts = {k["reachable"] for k in doc["components"]["upstream"]["keys"]}
    assert verdicts == {"rejected", "reachable"}
    assert request(gw.url, "GET", "/readyz").status == 200
    m = scrape(gw.url)
    assert value(m, "scalegate_health_status", component="overall") == 1
    assert value(m, "scalegate_key_quarantined") == 1
    assert value(m, "scalegate_keys_usable") == 1

    sim_post(sim2.url, f"/_sim/keys/{KEY_B}/revoke")
    post(gw.url, messages_body())
    status, doc = health(gw.url)
    assert (status, doc["status"]) == (503, "down")
    assert doc["components"]["keys"]["status"] == "down"
    ready = request(gw.url, "GET", "/readyz")
    assert ready.status == 503
    assert ready.json()["ready"] is False
    assert any("0/2 upstream keys usable" in r for r in ready.json()["reasons"])
    assert value(scrape(gw.url), "scalegate_health_status", component="overall") == 2


def test_a_key_failing_upstream_degrades_the_upstream_component(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(
        gateway_settings(sim2.url, [{"secret": KEY_A, "limits": LIMITS}], retry={"max_attempts": 1})
    )
    assert post(gw.url, messages_body(), **{"x-sim-fault": "drop"}).status == 502
    status, doc = health(gw.url)
    assert (status, doc["components"]["upstream"]["status"]) == (200, "degraded")
    assert doc["components"]["upstream"]["keys"][0]["last_outcome"] == "connection_error"
    assert post(gw.url, messages_body()).status == 200
    assert health(gw.url)[1]["components"]["upstream"]["status"] == "ok"


def test_the_simulated_upstream_is_flagged(
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    gw = start_gateway(load_settings(None, {}, **{"demo.ttft_ms": 0}))
    status, doc = health(gw.url)
    assert status == 200
    assert doc["simulated_upstream"] is True
    assert "SIMULATED" in doc["components"]["upstream"]["detail"]
    assert value(scrape(gw.url), "scalegate_info", simulated="true") == 1


@pytest.fixture
def redis_back(redis_server: RedisServer) -> Iterator[RedisServer]:
    yield redis_server
    if not redis_server.ping():
        redis_server.start()


@pytest.mark.parametrize(
    ("policy", "when_down"), [("fail_closed", "down"), ("fail_open", "degraded")]
)
def test_redis_required_and_down(
    policy: str,
    when_down: str,
    redis_url: str,
    redis_back: RedisServer,
    sim2: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    settings = gateway_settings(
        sim2.url, two_keys(), redis_url=redis_url, shared={"on_redis_failure": policy}
    )
    gw = start_gateway(settings)
    assert post(gw.url, messages_body()).status == 200
    status, doc = health(gw.url)
    assert (status, doc["mode"], doc["components"]["redis"]["status"]) == (200, "shared", "ok")
    assert value(scrape(gw.url), "scalegate_redis_up") == 1

    redis_back.stop()
    post(gw.url, messages_body())  # the key store notices too
    status, doc = health(gw.url)
    assert doc["components"]["redis"]["status"] == when_down
    assert doc["status"] == when_down
    assert any(r.startswith("redis: ") for r in doc["reasons"])
    ready = request(gw.url, "GET", "/readyz")
    assert ready.status == (503 if when_down == "down" else 200)
    m = scrape(gw.url)
    assert value(m, "scalegate_redis_up") == 0
    assert value(m, "scalegate_redis_errors_total") >= 1

    redis_back.start()
    wait_for(lambda: post(gw.url, messages_body()).status == 200 and health(gw.url)[0] == 200)
    assert wait_for(lambda: health(gw.url)[1]["components"]["redis"]["status"] == "ok")
