"""Upstream keys never appear in responses, headers, health or logs — only fingerprints."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, MODEL, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, RawResponse, request, sim_post
from tests.servers import ServerThread

KEYS = (KEY_A, KEY_B, KEY_C)


def fragments(secret: str, size: int = 10) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def test_no_key_fragment_leaks_on_any_path(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = start_sim(sim_config({key: {"rpm": 1000} for key in KEYS}))
    gw = start_gateway(
        gateway_settings(
            sim.url,
            [{"secret": k, "limits": {"rpm": 1000}} for k in KEYS],
            retry={"max_attempts": 3, "base_seconds": 0.01},
            breaker={"consecutive_failures": 100},
        )
    )
    seen: list[RawResponse] = []

    def call(body: dict[str, object], **headers: str) -> None:
        seen.append(request(gw.url, "POST", "/v1/messages", body, {**OLD_STYLE, **headers}))

    ok = {"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    call(ok)
    call({**ok, "stream": True})
    for fault in ("429", "529", "500", "drop", "overloaded_first", "overloaded_midstream"):
        call({**ok, "stream": True}, **{"x-sim-fault": fault})
        call(ok, **{"x-sim-fault": fault})
    call({**ok, "max_tokens": "x"})
    sim_post(sim.url, f"/_sim/keys/{KEY_A}/revoke")
    for _ in range(3):
        call(ok)
    for key in KEYS:
        sim_post(sim.url, f"/_sim/keys/{key}/revoke")
    call(ok)
    call({**ok, "stream": True})
    seen.append(request(gw.url, "GET", "/api/monitoring/health"))
    seen.append(request(gw.url, "GET", "/readyz"))
    seen.append(request(gw.url, "GET", "/v1/models", headers=dict(OLD_STYLE)))

    statuses = {r.status for r in seen}
    assert {200, 400, 529} <= statuses  # the paths really were exercised
    outputs = [r.body.decode("utf-8", "replace") + repr(r.headers) for r in seen]
    outputs.append(caplog.text)
    outputs.extend(str(rec.__dict__) for rec in caplog.records)
    assert "quarantined" in caplog.text, sorted({r.name for r in caplog.records})
    for key in KEYS:
        bits = fragments(key)
        for text in outputs:
            leaked = [b for b in bits if b in text]
            assert not leaked, (key, leaked, text[:300])
