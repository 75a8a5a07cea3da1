"""Metrics move as traffic happens, read back from ``/metrics`` (never from internals).

A real gateway in front of the simulator; requests through HTTP; every number is what a
Prometheus scrape would see. The helpers here (``scrape``, ``value``) are used by the other
observability tests too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scalegate.config import Settings
from scalegate.observe.recorder import Recorder
from scalegate.pricing import PriceTable
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, messages_body, request
from tests.servers import ServerThread

LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
TOKEN = "observability-admin-token"
ADMIN = {"authorization": f"Bearer {TOKEN}"}

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str, path: str = "/metrics") -> Samples:
    """Every sample of a scrape, by sample name (``_bucket``, ``_count`` … included)."""
    resp = request(url, "GET", path)
    assert resp.status == 200, resp.body
    assert resp.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(resp.body.decode()):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        v
        for got, v in samples.get(name, [])
        if all(got.get(k) == want for k, want in labels.items())
    )


def post(url: str, body: dict[str, Any], **headers: str) -> Any:
    return request(url, "POST", "/v1/messages", body, {**OLD_STYLE, **headers})


def sse_usage(body: bytes) -> dict[str, int]:
    """The usage a streamed answer reported (message_start, then message_delta)."""
    usage: dict[str, int] = {}
    for line in body.decode().splitlines():
        if not line.startswith("data: "):
            continue
        event = json.loads(line[6:])
        if event.get("type") == "message_start":
            usage.update(event["message"]["usage"])
        elif event.get("type") == "message_delta":
            usage.update(event.get("usage") or {})
    return usage


@pytest.fixture
def sim2(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    return start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))


@pytest.fixture
def make_gateway(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> Callable[..., ServerThread]:
    def make(keys: list[dict[str, Any]] | None = None, **tree: Any) -> ServerThread:
        keys = keys or [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]
        return start_gateway(gateway_settings(sim2.url, keys, admin_token=TOKEN, **tree))

    return make


def test_requests_latency_tokens_and_cost_follow_the_traffic(
    make_gateway: Callable[..., ServerThread],
) -> None:
    gw = make_gateway()
    usages = []
    for i in range(3):
        resp = post(gw.url, messages_body(f"plain {i}"))
        assert resp.status == 200
        usages.append(resp.json()["usage"])
    for i in range(2):
        resp = post(gw.url, messages_body(f"streamed {i}", stream=True))
        assert resp.status == 200
        usages.append(sse_usage(resp.body))
    assert post(gw.url, {**messages_body(), "max_tokens": "many"}).status == 400
    assert request(gw.url, "GET", "/v1/models", headers=dict(OLD_STYLE)).status == 200

    m = scrape(gw.url)
    assert value(m, "scalegate_requests_total", route="messages", status="200") == 5
    assert value(m, "scalegate_requests_total", route="messages", status="400") == 1
    assert value(m, "scalegate_requests_total", route="models", status="200") == 1
    assert all("tenant" not in labels for labels, _ in m["scalegate_requests_total"])
    assert value(m, "scalegate_request_duration_seconds_count", route="messages") == 6
    assert value(m, "scalegate_upstream_duration_seconds_count", route="messages") == 5
    assert value(m, "scalegate_overhead_seconds_count", route="messages") == 6
    assert value(m, "scalegate_time_to_first_token_seconds_count", route="messages") == 2
    ttft = value(m, "scalegate_time_to_first_token_seconds_sum", route="messages")
    total = value(m, "scalegate_request_duration_seconds_sum", route="messages")
    assert 0 < ttft < total
    # Overhead is the gateway's own share: far below the upstream time it excludes.
    assert value(m, "scalegate_overhead_seconds_sum") < total

    expected_in = sum(u.get("input_tokens", 0) for u in usages)
    expected_out = sum(u.get("output_tokens", 0) for u in usages)
    assert expected_in > 0
    assert expected_out > 0
    assert value(m, "scalegate_tokens_total", direction="input", model=MODEL) == expected_in
    assert value(m, "scalegate_tokens_total", direction="output", model=MODEL) == expected_out
    cost = sum(PriceTable().cost_usd(MODEL, u) for u in usages)
    assert value(m, "scalegate_cost_usd_total", model=MODEL) == pytest.approx(cost)
    # /v1/models goes upstream through the pool too.
    assert value(m, "scalegate_admission_total", priority="normal", outcome="admitted") == 6
    assert value(m, "scalegate_key_requests_total", outcome="success") == 6

    for _ in range(2):
        assert post(gw.url, messages_body("more")).status == 200
    again = scrape(gw.url)
    assert value(again, "scalegate_requests_total", route="messages", status="200") == 7
    assert value(again, "scalegate_tokens_total", direction="input") > expected_in


def test_cache_hits_and_misses(make_gateway: Callable[..., ServerThread]) -> None:
    gw = make_gateway(cache={"mode": "exact"})
    for _ in range(3):
        assert post(gw.url, messages_body("cache me")).status == 200
    assert post(gw.url, messages_body("not cached"), **{"x-scalegate-cache": "off"}).status == 200
    m = scrape(gw.url)
    assert value(m, "scalegate_cache_requests_total", kind="exact", result="hit") == 2
    assert value(m, "scalegate_cache_requests_total", kind="exact", result="miss") == 1
    assert value(m, "scalegate_cache_lookups_total", outcome="hit") == 2
    assert value(m, "scalegate_cache_lookups_total", outcome="miss") == 1
    assert value(m, "scalegate_cache_lookups_total", outcome="bypass") == 1
    assert value(m, "scalegate_cache_stores_total", kind="exact") == 1
    assert value(m, "scalegate_cache_entries", kind="exact") == 1
    assert value(m, "scalegate_cache_bytes", kind="exact") > 0
    # A hit costs no upstream call: only the miss and the bypassed request went upstream.
    assert value(m, "scalegate_upstream_duration_seconds_count") == 2


def test_retries_by_cause_and_outcomes_per_key(make_gateway: Callable[..., ServerThread]) -> None:
    gw = make_gateway(retry={"max_attempts": 3, "base_seconds": 0.01, "cap_seconds": 0.02})
    assert post(gw.url, messages_body(), **{"x-sim-fault": "529"}).status == 529
    assert post(gw.url, messages_body(), **{"x-sim-fault": "500"}).status == 500
    m = scrape(gw.url)
    assert value(m, "scalegate_retries_total", reason="overloaded") == 3
    assert value(m, "scalegate_retries_total", reason="server_error") == 3
    assert value(m, "scalegate_retries_total", reason="rate_limited") == 0  # present, zero
    assert value(m, "scalegate_requests_total", status="529") == 1
    assert value(m, "scalegate_requests_total", status="500") == 1
    assert value(m, "scalegate_key_requests_total", outcome="overloaded") == 3
    assert value(m, "scalegate_key_requests_total", outcome="server_error") == 3
    assert value(m, "scalegate_admission_total", outcome="admitted") == 6


def test_admission_waits_and_refusals_by_priority(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: LIMITS}))
    # 60 requests a minute: a burst of 60, then one a second.
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "limits": {"rpm": 60}}]))
    low = {"x-scalegate-priority": "low", "x-scalegate-deadline-ms": "0"}
    statuses: list[int] = []
    while 429 not in statuses[-3:]:  # the burst is spent: refused at once
        assert len(statuses) < 200
        statuses.append(post(gw.url, messages_body(), **low).status)
    waits = []  # requests that queued for the refill, as their responses say
    while not waits:
        assert len(waits) < 5
        resp = post(gw.url, messages_body(), **{"x-scalegate-deadline-ms": "3000"})
        assert resp.status == 200
        if "x-scalegate-queue-ms" in resp.headers:
            waits.append(float(resp.headers["x-scalegate-queue-ms"]) / 1000)
    m = scrape(gw.url)
    refused = statuses.count(429)
    assert value(m, "scalegate_admission_total", priority="low", outcome="rejected") == refused
    assert value(m, "scalegate_admission_total", priority="low", outcome="admitted") == (
        statuses.count(200)
    )
    after_wait = value(
        m, "scalegate_admission_total", priority="normal", outcome="admitted_after_wait"
    )
    assert after_wait == len(waits)
    assert value(m, "scalegate_admission_wait_seconds_count", priority="normal") == len(waits)
    recorded = value(m, "scalegate_admission_wait_seconds_sum", priority="normal")
    assert recorded == pytest.approx(sum(waits), abs=0.01)
    assert value(m, "scalegate_requests_total", status="429") == refused
    # The key's minute bucket is nearly spent, and the gauges say so.
    assert value(m, "scalegate_key_utilization_ratio", limit="rpm") > 0.9
    assert value(m, "scalegate_key_limit_capacity", limit="rpm") == 60


def test_quota_alerts_are_a_metric_a_log_event_and_on_the_dashboard(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="scalegate.keys.alerts")
    sim = start_sim(sim_config({KEY_A: LIMITS}))
    keys = [{"secret": KEY_A, "limits": {"rpm": 20}}]
    gw = start_gateway(gateway_settings(sim.url, keys, admin_token=TOKEN))
    for _ in range(20):
        assert post(gw.url, messages_body()).status == 200
    m = scrape(gw.url)
    for threshold in ("0.7", "0.85", "0.95"):
        assert value(m, "scalegate_quota_alerts_total", limit="rpm", threshold=threshold) == 1
    assert value(m, "scalegate_key_alert_level", limit="rpm") == 0.95
    events = [r for r in caplog.records if getattr(r, "event", None) == "quota_alert"]
    assert [getattr(r, "threshold", None) for r in events] == [0.7, 0.85, 0.95]
    doc = request(gw.url, "GET", "/api/monitoring/dashboard", headers=ADMIN).json()
    assert doc["alerts"]["fired_total"] == 3
    assert [a["threshold"] for a in doc["alerts"]["recent"]] == [0.95, 0.85, 0.7]
    (key,) = doc["keys"]
    assert key["limits"]["rpm"]["alert"] == 0.95


def test_tenants_label_requests_tokens_and_cost(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    tenants = [
        {"name": "web-app", "keys": ["client-web"]},
        {"name": "batch", "keys": ["client-batch"]},
    ]
    keys = [{"secret": KEY_A, "limits": LIMITS}]
    gw = start_gateway(gateway_settings(sim2.url, keys, tenants=tenants))
    assert post(gw.url, messages_body(), **{"x-api-key": "client-web"}).status == 200
    assert post(gw.url, messages_body(), **{"x-api-key": "client-web"}).status == 200
    assert post(gw.url, messages_body(), **{"x-api-key": "client-batch"}).status == 200
    assert post(gw.url, messages_body(), **{"x-api-key": "stranger"}).status == 401
    m = scrape(gw.url)
    assert value(m, "scalegate_requests_total", tenant="web-app", status="200") == 2
    assert value(m, "scalegate_requests_total", tenant="batch", status="200") == 1
    assert value(m, "scalegate_requests_total", tenant="none", status="401") == 1
    assert value(m, "scalegate_tokens_total", tenant="web-app", direction="output") > 0
    assert value(m, "scalegate_cost_usd_total", tenant="batch") > 0


def test_json_format_and_metrics_switched_off(
    make_gateway: Callable[..., ServerThread],
) -> None:
    gw = make_gateway()
    assert post(gw.url, messages_body()).status == 200
    doc = request(gw.url, "GET", "/api/monitoring/metrics?format=json").json()
    samples = doc["scalegate_requests"]["samples"]
    assert doc["scalegate_requests"]["type"] == "counter"
    assert [s["value"] for s in samples if s["name"] == "scalegate_requests_total"] == [1.0]
    assert doc["scalegate_key_exhaustion_seconds"]["samples"][0]["value"] in ("+Inf", 0.0) or (
        isinstance(doc["scalegate_key_exhaustion_seconds"]["samples"][0]["value"], float)
    )
    text = request(gw.url, "GET", "/api/monitoring/metrics")
    assert text.status == 200
    assert b"scalegate_requests_total" in text.body

    off = make_gateway(metrics_enabled=False)
    assert post(off.url, messages_body()).status == 200
    assert request(off.url, "GET", "/metrics").status == 404
    assert request(off.url, "GET", "/api/monitoring/health").status == 200


def test_access_log_line_carries_request_id_and_traceparent(
    make_gateway: Callable[..., ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scalegate.access")
    gw = make_gateway(monitoring={"access_log": "all"})
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = post(gw.url, messages_body(), traceparent=trace)
    assert resp.status == 200
    (record,) = [r for r in caplog.records if r.name == "scalegate.access"]
    assert record.request_id == resp.headers["x-scalegate-request-id"]  # type: ignore[attr-defined]  # extra fields the logger set on the record
    assert record.traceparent == trace  # type: ignore[attr-defined]  # extra fields the logger set on the record
    assert record.status == 200  # type: ignore[attr-defined]  # extra fields the logger set on the record
    assert record.key == resp.headers["x-scalegate-key"]  # type: ignore[attr-defined]  # extra fields the logger set on the record

    caplog.clear()
    quiet = make_gateway()  # the default: only failed or retried requests
    assert post(quiet.url, messages_body(), traceparent=trace).status == 200
    bad = post(quiet.url, {**messages_body(), "max_tokens": "x"}, traceparent=trace)
    assert bad.status == 400
    (record,) = [r for r in caplog.records if r.name == "scalegate.access"]
    assert (record.status, record.traceparent) == (400, trace)  # type: ignore[attr-defined]  # extra fields the logger set on the record


def test_access_log_line_explains_itself(
    make_gateway: Callable[..., ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scalegate.access")
    gw = make_gateway()
    headers = {
        "x-api-key": "c",
        "anthropic-version": "2023-06-01",
        "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
    }
    body = {**messages_body(), "max_tokens": "lots"}
    resp = request(gw.url, "POST", "/v1/messages?beta=true&api_key=sk-oops", body, headers)
    assert resp.status == 400
    (record,) = [r for r in caplog.records if r.name == "scalegate.access"]
    line = record.getMessage()
    # What was asked, what came back and why, by whom: readable by a stranger.
    assert line.startswith("POST /v1/messages?beta=true&api_key=*** 400 invalid_request_error")
    assert "max_tokens" in line
    assert "claude-cli/2.1.197" in line
    assert f"req={resp.headers['x-scalegate-request-id']}" in line
    assert "sk-oops" not in line  # a credential in the query string is never logged
    fields = vars(record)
    assert fields["method"] == "POST"
    assert fields["path"] == "/v1/messages?beta=true&api_key=***"
    assert fields["error_type"] == "invalid_request_error"
    assert fields["user_agent"].startswith("claude-cli/")


def test_model_labels_are_bounded() -> None:
    recorder = Recorder(tenants=False, prices=PriceTable())
    for i in range(100):
        recorder.usage(f"model-{i}", {"input_tokens": 1, "output_tokens": 1}, None)
    models = {
        s.labels["model"]
        for family in recorder.families()
        if family.name == "scalegate_tokens"
        for s in family.samples
    }
    assert len(models) == 65  # 64 models as they are, then "other"
    assert "other" in models


def test_a_scrape_is_quick(
    make_gateway: Callable[..., ServerThread],
) -> None:
    gw = make_gateway(cache={"mode": "exact"})
    assert post(gw.url, messages_body()).status == 200
    started = time.perf_counter()
    for _ in range(20):
        scrape(gw.url)
    assert (time.perf_counter() - started) / 20 < 0.25  # generous: CI machines are shared


def job(url: str, body: dict[str, Any], **headers: str) -> str:
    resp = request(
        url,
        "POST",
        "/v1/jobs",
        {"request": body},
        {"x-api-key": "client", "content-type": "application/json", **headers},
    )
    assert resp.status == 202, resp.body
    job_id: str = resp.json()["id"]
    return job_id


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return result


def test_job_outcomes_dead_letters_durations_and_workers(
    make_gateway: Callable[..., ServerThread],
) -> None:
    gw = make_gateway(
        retry={"max_attempts": 1},
        queue={
            "max_attempts": 2,
            "retry_base_seconds": 0.01,
            "retry_cap_seconds": 0.02,
            "visibility_timeout_seconds": 1.5,  # heartbeats every half second
            "worker_concurrency": 2,
        },
    )
    job(gw.url, messages_body("fine"))
    job(gw.url, messages_body(model="claude-nonexistent-9"))  # the provider says 404
    job(gw.url, messages_body("doomed"), **{"x-sim-fault": "500"})  # fails every attempt

    def settled() -> Samples | None:
        m = scrape(gw.url)
        done = sum(value(m, "scalegate_jobs_total", outcome=o) for o in ("completed", "failed"))
        return m if done == 2 and value(m, "scalegate_jobs_total", outcome="dead") == 1 else None

    m = wait_for(settled)
    assert value(m, "scalegate_jobs_total", outcome="enqueued") == 3
    assert value(m, "scalegate_jobs_total", outcome="completed") == 1
    assert value(m, "scalegate_jobs_total", outcome="failed") == 1
    assert value(m, "scalegate_jobs_total", outcome="retried") == 1
    assert value(m, "scalegate_queue_jobs", state="dead") == 1
    assert value(m, "scalegate_queue_depth") == 0
    assert value(m, "scalegate_worker_pools") == 1
    assert (
        value(m, "scalegate_workers", state="idle") + value(m, "scalegate_workers", state="active")
        >= 1
    )
    assert value(m, "scalegate_job_queue_wait_seconds_count") == 4  # one lease per attempt

    # Attempt durations arrive with the pool's next heartbeat.
    def durations() -> Samples | None:
        s = scrape(gw.url)
        done = value(s, "scalegate_job_duration_seconds_count", outcome="completed")
        dead = value(s, "scalegate_job_duration_seconds_count", outcome="dead")
        return s if (done, dead) == (1, 1) else None

    m = wait_for(durations)
    assert value(m, "scalegate_job_duration_seconds_sum", outcome="completed") > 0
    health = request(gw.url, "GET", "/api/monitoring/health").json()
    assert "1 dead" in health["components"]["jobs"]["detail"]
    assert health["components"]["jobs"]["workers"][0]["heartbeat_age_ms"] >= 0
