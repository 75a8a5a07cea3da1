"""No upstream key leaks through monitoring, after traffic through every path.

:func:`every_path_gateway` and :func:`drive_every_path` are also the "representative traffic"
of ``test_alert_rules.py``: success, streams, exact and semantic cache hits, retries, a
stream that breaks with an error, a quarantined key, an admission wait, quota alerts with a
webhook, and jobs that complete, fail and go to the dead-letter set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, messages_body, request, sim_post
from tests.servers import ServerThread
from tests.test_metrics import ADMIN, LIMITS, TOKEN, job, post, scrape, value, wait_for
from tests.test_metrics_webhook import Receiver

KEY_D = "sk-test-delta-0123456789abcdefghij"  # haiku only, small limits: waits and alerts
SECRETS = (KEY_A, KEY_B, KEY_C, KEY_D)
HAIKU = "claude-haiku-4-5"


def fragments(secret: str, size: int = 10) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def every_path_gateway(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    webhook_url: str,
    **tree: Any,
) -> tuple[ServerThread, SimulatorThread]:
    sim = start_sim(sim_config({k: LIMITS for k in SECRETS}))
    keys: list[dict[str, Any]] = [
        {"secret": k, "limits": LIMITS, "models": ["claude-sonnet-*"]} for k in (KEY_A, KEY_B)
    ]
    keys.append({"secret": KEY_C, "name": "spare", "limits": LIMITS, "models": ["claude-sonnet-*"]})
    keys.append({"secret": KEY_D, "limits": {"rpm": 30}, "models": ["claude-haiku-*"]})
    settings = gateway_settings(
        sim.url,
        keys,
        admin_token=TOKEN,
        retry={"max_attempts": 3, "base_seconds": 0.01, "cap_seconds": 0.02},
        breaker={"consecutive_failures": 100, "min_requests": 1000},
        cache={"semantic": {"enabled": True, "embedder": "hashing", "threshold": 0.9}},
        queue={
            "max_attempts": 2,
            "retry_base_seconds": 0.01,
            "retry_cap_seconds": 0.02,
            "visibility_timeout_seconds": 1.5,
        },
        alerts={"webhook_url": webhook_url, "webhook_retry_base_seconds": 0.01},
        **{"monitoring": {"sample_seconds": 0.2}, **tree},
    )
    return start_gateway(settings), sim


def drive_every_path(gw: ServerThread, sim: SimulatorThread) -> None:
    url = gw.url
    assert post(url, messages_body("plain")).status == 200
    assert post(url, messages_body("streamed", stream=True)).status == 200
    exact = {"x-scalegate-cache": "exact"}
    assert post(url, messages_body("cached"), **exact).status == 200
    assert post(url, messages_body("cached"), **exact).headers["x-scalegate-cache"] == "hit"
    semantic = {"x-scalegate-cache": "semantic"}
    # Only complete answers are stored semantically: room for the whole answer.
    question = messages_body("What is the capital of France?", max_tokens=1000)
    assert post(url, question, **semantic).status == 200
    again = post(
        url,
        {**question, "messages": [{"role": "user", "content": "what is the capital of france"}]},
        **semantic,
    )
    assert again.headers["x-scalegate-cache"] == "semantic-hit"
    post(url, messages_body("Convert 100 F to C", max_tokens=1000), **semantic)
    post(url, messages_body("Convert 100 C to F", max_tokens=1000), **semantic)  # guard: no
    assert post(url, messages_body(), **{"x-sim-fault": "529"}).status == 529  # retried
    broken = post(url, messages_body(stream=True), **{"x-sim-fault": "overloaded_midstream"})
    assert broken.status == 200
    assert b"overloaded_error" in broken.body
    assert post(url, {**messages_body(), "max_tokens": "x"}).status == 400
    assert request(url, "GET", "/v1/models", headers=dict(OLD_STYLE)).status == 200
    # The haiku key's burst, quota alerts at 70/85/95 %, then a request that waits for it.
    for _ in range(30):
        assert post(url, messages_body(model=HAIKU)).status == 200
    waited = post(url, messages_body(model=HAIKU), **{"x-scalegate-deadline-ms": "5000"})
    assert waited.status == 200
    assert float(waited.headers["x-scalegate-queue-ms"]) > 0
    # Jobs: one completes, one fails (the provider's 404), one goes to the dead letters.
    job(url, messages_body("a job"))
    job(url, messages_body(model="claude-sonnet-nonexistent"))
    job(url, messages_body("doomed"), **{"x-sim-fault": "500"})

    def jobs_done() -> bool:
        m = scrape(url)
        finished = sum(value(m, "scalegate_jobs_total", outcome=o) for o in ("completed", "failed"))
        return (
            finished == 2
            and value(m, "scalegate_jobs_total", outcome="dead") == 1
            and value(m, "scalegate_job_duration_seconds_count") >= 3
            and value(m, "scalegate_alert_webhook_deliveries_total", outcome="sent") == 3
        )

    wait_for(jobs_done)
    # A rejected key: revoked at the provider, quarantined by the gateway (last: with a
    # quarantined key among the candidates, a failing job is told to wait 30 s).
    sim_post(sim.url, f"/_sim/keys/{KEY_C}/revoke")
    wait_for(
        lambda: (
            post(url, messages_body("again")).status == 200
            and value(scrape(url), "scalegate_key_quarantined") == 1
        )
    )


@pytest.mark.slow
def test_no_key_fragment_in_metrics_health_or_dashboard(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    hook = Receiver([200])
    hook.thread.start()
    try:
        gw, sim = every_path_gateway(
            start_sim,
            start_gateway,
            hook.url,
            monitoring={"sample_seconds": 0.2, "access_log": "all"},
        )
        drive_every_path(gw, sim)
        outputs = {
            path: request(gw.url, "GET", path, headers=ADMIN)
            for path in (
                "/metrics",
                "/api/monitoring/metrics",
                "/api/monitoring/metrics?format=json",
                "/api/monitoring/dashboard",
                "/api/monitoring/health",
                "/readyz",
                "/dashboard",
            )
        }
        texts = {p: r.body.decode() + repr(r.headers) for p, r in outputs.items()}
        texts["webhook"] = repr(hook.bodies)
        texts["logs"] = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    finally:
        hook.close()
    assert all(r.status == 200 for r in outputs.values()), {p: r.status for p, r in outputs.items()}
    dashboard = outputs["/api/monitoring/dashboard"].json()
    statuses = dashboard["totals"]["by_status"]
    assert {"200", "400", "529"} <= set(statuses)
    assert dashboard["queue"]["dead"] == 1
    assert any(k["status"] == "quarantined" for k in dashboard["keys"])
    assert dashboard["alerts"]["fired_total"] == 3
    assert "traceparent" in texts["logs"]
    for key in SECRETS:
        bits = fragments(key)
        for where, text in texts.items():
            leaked = [b for b in bits if b in text]
            assert not leaked, (where, key[:6], leaked)
