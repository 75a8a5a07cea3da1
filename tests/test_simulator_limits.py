"""The simulator's per-key RPM/ITPM/OTPM buckets, headers, stats and live config, on a ManualClock.

Time only moves when a test advances the clock, so counts and ``retry-after`` values are exact.
"""

from __future__ import annotations

import http.client
import math
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import anthropic
import orjson
import pytest

from scalegate.clock import ManualClock
from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorThread

MODEL = "claude-haiku-4-5-20251001"
KEY = "sk-sim-limits"

Start = Callable[..., SimulatorThread]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def start(clock: ManualClock) -> Iterator[Start]:
    """Start a simulator whose only key has the given limits."""
    threads: list[SimulatorThread] = []

    def _start(output_estimate: str = "capped", **limits: int | None) -> SimulatorThread:
        config = SimulatorConfig.model_validate(
            {"keys": {KEY: SimKeyLimits(**limits)}, "output_estimate": output_estimate}
        )
        thread = SimulatorThread(config, clock=clock).start()
        threads.append(thread)
        return thread

    yield _start
    for thread in threads:
        thread.stop()


def post(
    sim: SimulatorThread, body: dict[str, Any], key: str = KEY, path: str = "/v1/messages"
) -> tuple[int, dict[str, str], Any]:
    parsed = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        conn.request("POST", path, body=orjson.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def ask(
    sim: SimulatorThread, prompt: str = "hi", max_tokens: int = 10
) -> tuple[int, dict[str, str], Any]:
    body = {
        "model": MODEL,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    status, headers, data = post(sim, body)
    return status, headers, orjson.loads(data)


def stats(sim: SimulatorThread) -> dict[str, Any]:
    parsed = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        conn.request("GET", "/_sim/stats")
        result: dict[str, Any] = orjson.loads(conn.getresponse().read())
        return result
    finally:
        conn.close()


def reset_time(clock: ManualClock, seconds: float) -> str:
    return datetime.fromtimestamp(math.ceil(clock.time() + seconds), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_rpm_admits_exactly_the_limit_then_429_with_honest_retry_after(
    start: Start, clock: ManualClock
) -> None:
    sim = start(rpm=5)
    remaining = [ask(sim)[1]["anthropic-ratelimit-requests-remaining"] for _ in range(5)]
    assert remaining == ["4", "3", "2", "1", "0"]
    status, headers, body = ask(sim)
    assert status == 429
    assert body["error"]["type"] == "rate_limit_error"
    assert "5 requests per minute" in body["error"]["message"]
    assert headers["retry-after"] == "12"  # one request refills in 60/5 s
    assert headers["x-should-retry"] == "true"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"] == reset_time(clock, 60)
    clock.advance(11.9)
    assert ask(sim)[0] == 429
    clock.advance(0.1)
    assert ask(sim)[0] == 200
    key_stats = stats(sim)["keys"][KEY]
    assert key_stats["requests"] == 8
    assert key_stats["accepted"] == 6
    assert key_stats["quota_429"] == 2
    assert [e["kind"] for e in key_stats["events"]] == ["ok"] * 5 + ["quota", "quota", "ok"]
    assert [e["retry_after"] for e in key_stats["events"] if e["kind"] == "quota"] == [12, 1]
    assert key_stats["status_counts"] == {"200": 6, "429": 2}


def test_sdk_sees_rate_limit_error_with_retry_after(start: Start) -> None:
    sim = start(rpm=1)
    with anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as client:
        client.messages.create(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}]
        )
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(
                model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}]
            )
    assert caught.value.response.headers["retry-after"] == "60"


def test_itpm_charges_input_tokens(start: Start, clock: ManualClock) -> None:
    sim = start(itpm=100)
    prompt = "x" * 320  # 80 + 3 + 5 = 88 input tokens
    status, headers, body = ask(sim, prompt)
    assert status == 200
    assert body["usage"]["input_tokens"] == 88
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == "0"  # 12, floored to 1000s
    assert "anthropic-ratelimit-requests-limit" not in headers  # no RPM limit, no header
    status, headers, body = ask(sim, prompt)
    assert status == 429
    assert "100 input tokens per minute" in body["error"]["message"]
    assert headers["retry-after"] == str(math.ceil((88 - 12) / (100 / 60)))  # 46
    clock.advance(45)
    assert ask(sim, prompt)[0] == 429
    clock.advance(1)
    assert ask(sim, prompt)[0] == 200
    assert stats(sim)["keys"][KEY]["input_tokens"] == 176


def test_otpm_reserves_max_tokens_and_refunds_the_unused(start: Start) -> None:
    sim = start(otpm=1000)
    status, headers, body = ask(sim, "[sim:tokens=10]", max_tokens=1000)
    assert status == 200
    assert body["usage"]["output_tokens"] == 10
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "0"  # before the refund
    assert ask(sim, "[sim:tokens=10]", max_tokens=991)[0] == 429  # 990 left after the refund
    status, _, body = ask(sim, "[sim:tokens=10]", max_tokens=990)
    assert status == 200
    assert "output tokens" in ask(sim, max_tokens=990)[2]["error"]["message"]
    assert stats(sim)["keys"][KEY]["output_tokens"] == 20


def test_request_larger_than_a_limit_is_never_admitted(start: Start) -> None:
    sim = start(output_estimate="max_tokens", otpm=100)
    status, headers, body = ask(sim, max_tokens=101)
    assert status == 429
    assert headers["x-should-retry"] == "false"
    assert "never" in body["error"]["message"]


def test_output_estimate_is_capped_at_the_limit_by_default(start: Start) -> None:
    # max_tokens far above OTPM (as current clients send by default) is admitted on a full
    # bucket: the up-front estimate is min(max_tokens, limit), adjusted at the end.
    sim = start(otpm=8_000)
    status, headers, body = ask(sim, max_tokens=64_000)
    assert status == 200, body
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "0"  # 8,000 up front
    status, headers, body = ask(sim, max_tokens=64_000)
    assert status == 200, body  # the unused estimate came back when the answer ended


def test_headers_describe_every_bucket_consistently(start: Start, clock: ManualClock) -> None:
    sim = start(rpm=60, itpm=30_000, otpm=8_000)
    prompt = "x" * 385 + "[sim:tokens=10]"  # 400 bytes: 100 + 3 + 5 = 108 input tokens
    status, headers, body = ask(sim, prompt, max_tokens=4000)
    assert status == 200
    assert body["usage"]["input_tokens"] == 108
    assert body["usage"]["output_tokens"] == 10
    assert headers["anthropic-ratelimit-requests-limit"] == "60"
    assert headers["anthropic-ratelimit-requests-remaining"] == "59"
    assert headers["anthropic-ratelimit-requests-reset"] == reset_time(clock, 1)
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "30000"
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == "29000"  # 29892 floored
    assert headers["anthropic-ratelimit-input-tokens-reset"] == reset_time(clock, 108 / 500)
    assert headers["anthropic-ratelimit-output-tokens-limit"] == "8000"
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "4000"
    assert headers["anthropic-ratelimit-output-tokens-reset"] == reset_time(
        clock, 4000 / (8000 / 60)
    )
    # output (half left) is tighter than input (99.6 % left)
    for field in ("limit", "remaining", "reset"):
        assert (
            headers[f"anthropic-ratelimit-tokens-{field}"]
            == headers[f"anthropic-ratelimit-output-tokens-{field}"]
        )
    # the next response sees the refund of the first one's unused output
    headers = ask(sim, "x", max_tokens=1)[1]  # 9 input tokens, 1 output token
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "7000"  # 8000 - 10 - 1
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == "29000"  # 30000 - 117
    assert headers["anthropic-ratelimit-tokens-limit"] == "30000"  # input is tighter now


def test_count_tokens_is_not_rate_limited(start: Start) -> None:
    sim = start(rpm=1)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "count me"}]}
    for _ in range(3):
        status, _, data = post(sim, body, path="/v1/messages/count_tokens")
        assert status == 200
        assert orjson.loads(data) == {"input_tokens": 2 + 3 + 5}
    assert ask(sim)[0] == 200
    key_stats = stats(sim)["keys"][KEY]
    assert key_stats["count_tokens_requests"] == 3
    assert key_stats["requests"] == 1


def test_unknown_keys_get_default_limits_when_accepted(start: Start) -> None:
    sim = start(rpm=1)
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "a"}]}
    assert post(sim, body, key="sk-stranger")[0] == 401
    sim.call(_accept_unknown(sim))
    status, headers, _ = post(sim, body, key="sk-stranger")
    assert status == 200
    assert headers["anthropic-ratelimit-requests-limit"] == "50"


def _accept_unknown(sim: SimulatorThread) -> Callable[[], Any]:
    async def update() -> None:
        sim.simulator.update_config({"accept_unknown_keys": True})

    return update


def put_config(sim: SimulatorThread, update: Any) -> tuple[int, Any]:
    parsed = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        conn.request("PUT", "/_sim/config", body=orjson.dumps(update))
        response = conn.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        conn.close()


def test_put_config_changes_limits_and_adds_keys(start: Start) -> None:
    sim = start(rpm=2)
    assert ask(sim)[0] == 200
    status, config = put_config(sim, {"keys": {KEY: {"rpm": 10}, "sk-new": {"otpm": 500}}})
    assert status == 200
    assert config["keys"][KEY] == {"rpm": 10, "itpm": None, "otpm": None}
    assert config["keys"]["sk-new"]["otpm"] == 500
    headers = ask(sim)[1]
    assert headers["anthropic-ratelimit-requests-limit"] == "10"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"  # level kept: 2 - 1 - 1
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "a"}]}
    assert post(sim, body, key="sk-new")[0] == 200
    status, config = put_config(sim, {"latency": {"ttft_ms": 5}, "faults": {"error_500_rate": 0.1}})
    assert (config["latency"]["ttft_ms"], config["faults"]["error_500_rate"]) == (5, 0.1)
    assert put_config(sim, {"faults": {"error_500_rate": 2}})[0] == 400
    assert put_config(sim, {"seed": 3})[0] == 400
    assert put_config(sim, {"keys": {KEY: {"rpm": -1}}})[0] == 400
    assert put_config(sim, {"keys": {"sk-new": None}})[1]["keys"].keys() == {KEY}
    assert post(sim, body, key="sk-new")[0] == 401


def test_reset_zeroes_stats_and_refills(start: Start) -> None:
    sim = start(rpm=1)
    assert ask(sim)[0] == 200
    assert ask(sim)[0] == 429
    parsed = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    conn.request("POST", "/_sim/reset")
    assert conn.getresponse().status == 200
    conn.close()
    key_stats = stats(sim)["keys"][KEY]
    assert key_stats["requests"] == key_stats["quota_429"] == 0
    assert key_stats["events"] == []
    assert ask(sim)[0] == 200


def test_a_stream_settles_before_its_last_event(start: Start) -> None:
    # Each request needs exactly what the previous stream refunded, and is sent the moment
    # that stream's last byte arrives: the refund must already have happened.
    sim = start(otpm=1000)
    for i in range(20):
        body = {
            "model": MODEL,
            "max_tokens": 1000 - 10 * i,
            "stream": True,
            "messages": [{"role": "user", "content": "[sim:tokens=10]"}],
        }
        status, _, data = post(sim, body)
        assert status == 200, data
        assert data.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        totals = stats(sim)["totals"]
        assert totals["in_flight"] == 0
        assert totals["streams_completed"] == i + 1
