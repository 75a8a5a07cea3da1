"""Injected faults, holds and client disconnects in the simulator.

No timing guesses: forced faults use ``x-sim-fault``, holds are observed through
``/_sim/holds``, and state is polled with a deadline.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import orjson
import pytest

from scalegate.clock import ManualClock
from scalegate.simulator import (
    FaultConfig,
    KeyFaultRates,
    LatencyConfig,
    SimKeyLimits,
    SimulatorConfig,
    SimulatorThread,
)
from scalegate.sse import SSEParser

MODEL = "claude-haiku-4-5-20251001"
KEY = "sk-sim-faults"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
LIMITS = SimKeyLimits(rpm=2, itpm=100_000, otpm=10_000)


def body(prompt: str = "[sim:tokens=20]", *, stream: bool = False, max_tokens: int = 100) -> Any:
    return {
        "model": MODEL,
        "max_tokens": max_tokens,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    }


def sdk_args() -> Any:
    """Keyword arguments for the SDK's ``messages.stream`` (which sets ``stream`` itself)."""
    args = body()
    del args["stream"]
    return args


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(keys={KEY: LIMITS}), clock=clock) as thread:
        yield thread


def connect(sim: SimulatorThread) -> http.client.HTTPConnection:
    parsed = urllib.parse.urlsplit(sim.url)
    return http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)


def request(
    sim: SimulatorThread, method: str, path: str, data: Any = None, headers: Any = None
) -> tuple[int, dict[str, str], bytes]:
    conn = connect(sim)
    try:
        payload = None if data is None else orjson.dumps(data)
        conn.request(method, path, body=payload, headers={**HEADERS, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def stats(sim: SimulatorThread) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(request(sim, "GET", "/_sim/stats")[2])
    return result


def key_stats(sim: SimulatorThread) -> dict[str, Any]:
    result: dict[str, Any] = stats(sim)["keys"][KEY]
    return result


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def events(data: bytes) -> list[str | None]:
    return [e.event for e in SSEParser().feed(data)]


def fault(name: str) -> dict[str, str]:
    return {"x-sim-fault": name}


# --- early faults: decided before the rate limiter ----------------------------------------


def test_forced_error_faults_take_no_quota(sim: SimulatorThread) -> None:
    for name, status in [("500", 500), ("529", 529), ("429", 429)]:
        got, headers, data = request(sim, "POST", "/v1/messages", body(), fault(name))
        assert got == status
        assert (
            orjson.loads(data)["error"]["type"]
            == {
                500: "api_error",
                529: "overloaded_error",
                429: "rate_limit_error",
            }[status]
        )
        assert headers["anthropic-ratelimit-requests-remaining"] == "2"
    # rpm=2 is untouched: two real requests still pass
    assert request(sim, "POST", "/v1/messages", body())[0] == 200
    assert request(sim, "POST", "/v1/messages", body())[0] == 200
    s = key_stats(sim)
    assert s["injected"] == {"500": 1, "529": 1, "429": 1}
    assert s["quota_429"] == 0
    assert s["accepted"] == 2
    assert [e["kind"] for e in s["events"][:3]] == ["injected_500", "injected_529", "injected_429"]


def test_injected_429_carries_configured_retry_after(clock: ManualClock) -> None:
    config = SimulatorConfig(keys={KEY: LIMITS}, faults=FaultConfig(injected_retry_after_seconds=7))
    with SimulatorThread(config, clock=clock) as sim:
        status, headers, _ = request(sim, "POST", "/v1/messages", body(), fault("429"))
        assert status == 429
        assert headers["retry-after"] == "7"
        assert headers["x-should-retry"] == "true"
        assert headers["anthropic-ratelimit-requests-limit"] == "2"
        assert key_stats(sim)["events"][0]["retry_after"] == 7


def test_unknown_fault_is_a_400(sim: SimulatorThread) -> None:
    status, _, data = request(sim, "POST", "/v1/messages", body(), fault("meteor"))
    assert status == 400
    assert "x-sim-fault" in orjson.loads(data)["error"]["message"]


def test_drop_closes_without_a_response(sim: SimulatorThread) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        request(sim, "POST", "/v1/messages", body(), fault("drop"))
    with (
        anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as client,
        pytest.raises(anthropic.APIConnectionError),
    ):
        client.messages.create(**body(), extra_headers=fault("drop"))
    s = key_stats(sim)
    assert s["status_counts"] == {"0": 2}
    assert s["injected"] == {"drop": 2}
    assert s["in_flight"] == 0


def test_overloaded_first_is_a_200_whose_only_event_is_an_error(sim: SimulatorThread) -> None:
    status, headers, data = request(
        sim, "POST", "/v1/messages", body(stream=True), fault("overloaded_first")
    )
    assert status == 200
    assert headers["content-type"] == "text/event-stream"
    parsed = list(SSEParser().feed(data))
    assert [e.event for e in parsed] == ["error"]
    assert parsed[0].json() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    with (
        anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError, match="overloaded_error"),
        client.messages.stream(**sdk_args(), extra_headers=fault("overloaded_first")) as stream,
    ):
        stream.get_final_message()
    assert key_stats(sim)["accepted"] == 0


# --- faults inside an admitted stream ------------------------------------------------------


def test_overloaded_midstream_after_a_few_deltas(sim: SimulatorThread) -> None:
    status, _, data = request(
        sim, "POST", "/v1/messages", body(stream=True), fault("overloaded_midstream")
    )
    assert status == 200
    assert events(data) == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "error",
    ]
    s = key_stats(sim)
    assert s["accepted"] == 1
    assert s["output_tokens"] == 6  # two deltas of three words
    assert s["streams_completed"] == s["streams_cancelled"] == 0
    assert s["events"][0]["kind"] == "injected_overloaded_midstream"
    # everything but the six sent tokens was refunded: 10000 - 6 left
    assert sim.simulator.stats.keys[KEY].output_tokens == 6
    headers = request(sim, "POST", "/v1/messages", body(max_tokens=1))[1]
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "9000"


def test_drop_midstream_truncates_the_body(sim: SimulatorThread) -> None:
    conn = connect(sim)
    try:
        conn.request(
            "POST",
            "/v1/messages",
            orjson.dumps(body(stream=True)),
            {**HEADERS, **fault("drop_midstream")},
        )
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert events(caught.value.partial).count("content_block_delta") == 2
    finally:
        conn.close()
    with (
        anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as client,
        pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)),
        client.messages.stream(**sdk_args(), extra_headers=fault("drop_midstream")) as stream,
    ):
        stream.get_final_message()
    wait_for(lambda: key_stats(sim)["in_flight"] == 0, "both drops to finish")
    assert key_stats(sim)["output_tokens"] == 12


def test_slow_stream_scales_latency(clock: ManualClock) -> None:
    # The ManualClock's sleep advances it, so the simulated time spent is exact.
    config = SimulatorConfig(
        keys={KEY: SimKeyLimits()},  # unlimited: the simulated time spent refills nothing
        latency=LatencyConfig(ttft_ms=100, tokens_per_second=100),
        faults=FaultConfig(slow_stream_factor=4),
    )
    with SimulatorThread(config, clock=clock) as sim:
        before = clock.now
        assert request(sim, "POST", "/v1/messages", body(stream=True))[0] == 200
        normal = clock.now - before
        assert normal == pytest.approx(0.1 + 20 * 0.01)
        before = clock.now
        assert request(sim, "POST", "/v1/messages", body(stream=True), fault("slow"))[0] == 200
        assert clock.now - before == pytest.approx(4 * normal)
        assert key_stats(sim)["injected"] == {"slow": 1}
        before = clock.now
        request(sim, "POST", "/v1/messages", body(), {"x-sim-latency-ms": "250"})
        assert clock.now - before == pytest.approx(0.25 + 20 * 0.01)


def test_fault_rates_are_reproducible_per_seed(clock: ManualClock) -> None:
    def statuses(seed: int) -> list[int]:
        config = SimulatorConfig(
            keys={KEY: SimKeyLimits()},
            seed=seed,
            faults=FaultConfig(error_500_rate=0.3, error_529_rate=0.3),
        )
        with SimulatorThread(config, clock=clock) as sim:
            return [request(sim, "POST", "/v1/messages", body())[0] for _ in range(30)]

    first, again, other = statuses(1), statuses(1), statuses(2)
    assert first == again
    assert first != other
    assert {500, 529, 200} <= set(first)


def test_all_fault_rates_at_one_take_the_first_in_order(clock: ManualClock) -> None:
    rates = FaultConfig(error_500_rate=1, error_529_rate=1, drop_connection_rate=1)
    config = SimulatorConfig(keys={KEY: LIMITS}, faults=rates)
    with SimulatorThread(config, clock=clock) as sim:
        assert request(sim, "POST", "/v1/messages", body())[0] == 500


# --- holds and disconnects -----------------------------------------------------------------


def holds(sim: SimulatorThread) -> list[str]:
    result: list[str] = orjson.loads(request(sim, "GET", "/_sim/holds")[2])["holds"]
    return result


def test_hold_parks_a_stream_after_message_start(sim: SimulatorThread) -> None:
    with (
        anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as client,
        client.messages.stream(**sdk_args(), extra_headers={"x-sim-hold": "h1"}) as stream,
    ):
        iterator = iter(stream)
        first = next(iterator)
        assert first.type == "message_start"  # received while the simulator holds the rest
        wait_for(lambda: holds(sim) == ["h1"], "the hold to register")
        assert key_stats(sim)["in_flight"] == 1
        status, _, data = request(sim, "POST", "/_sim/release/h1")
        assert status == 200
        assert orjson.loads(data)["released"] == 1
        rest = [event.type for event in iterator]
        final = stream.get_final_message()
    assert rest[-1] == "message_stop"
    assert final.usage.output_tokens == 20
    assert holds(sim) == []
    assert request(sim, "POST", "/_sim/release/h1")[0] == 404


def _open_held_stream(sim: SimulatorThread, hold_id: str) -> socket.socket:
    """Send a held streaming request on a raw socket and read until ``message_start``."""
    parsed = urllib.parse.urlsplit(sim.url)
    sock = socket.create_connection((parsed.hostname or "", parsed.port or 0), timeout=10)
    payload = orjson.dumps(body("[sim:tokens=30]", stream=True, max_tokens=1000))
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: sim\r\nx-api-key: {KEY}\r\n"
        f"anthropic-version: 2023-06-01\r\nx-sim-hold: {hold_id}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    received = b""
    while b"event: ping" not in received:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        received += chunk
    assert b"event: message_start" in received
    return sock


def test_client_disconnect_while_held_is_cancelled_and_refunded(sim: SimulatorThread) -> None:
    sock = _open_held_stream(sim, "gone")
    wait_for(lambda: holds(sim) == ["gone"], "the hold to register")
    sock.close()
    wait_for(lambda: key_stats(sim)["streams_cancelled"] == 1, "the cancellation")
    s = key_stats(sim)
    assert s["in_flight"] == 0
    # A stream is held after its first content delta (the answer has begun): what was sent
    # is counted, the rest of the max_tokens estimate came back.
    sent = s["output_tokens"]
    assert 0 < sent < 10
    assert s["streams_completed"] == 0
    assert holds(sim) == []
    headers = request(sim, "POST", "/v1/messages", body(max_tokens=10_000 - sent))[1]
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "0"


class FrozenClock(ManualClock):
    """Time stands still for the buckets while sleeps are real, so pacing is observable."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def test_client_disconnect_mid_stream_counts_only_what_was_sent() -> None:
    config = SimulatorConfig(
        keys={KEY: LIMITS}, latency=LatencyConfig(tokens_per_second=300)
    )  # 1000 words take ~3 s
    with SimulatorThread(config, clock=FrozenClock()) as sim:
        conn = connect(sim)
        conn.request(
            "POST",
            "/v1/messages",
            orjson.dumps(body("[sim:tokens=1000]", stream=True, max_tokens=2000)),
            HEADERS,
        )
        response = conn.getresponse()
        received = b""
        while received.count(b"event: content_block_delta") < 3:
            received += response.read1(65536)
        conn.close()
        wait_for(lambda: key_stats(sim)["streams_cancelled"] == 1, "the cancellation")
        s = key_stats(sim)
        assert s["in_flight"] == 0
        assert 9 <= s["output_tokens"] < 1000
        bucket = sim.simulator.limiter(KEY, MODEL).buckets["output-tokens"]
        assert bucket.level == pytest.approx(10_000 - s["output_tokens"])


def test_fault_rates_can_be_set_for_one_key_at_run_time(sim: SimulatorThread) -> None:
    other = "sk-sim-faults-other"
    update = {
        "keys": {other: {"rpm": 100}},
        "faults": {"by_key": {KEY: {"error_500_rate": 1.0}}},
    }
    status, _, _ = request(sim, "PUT", "/_sim/config", update)
    assert status == 200
    statuses = [request(sim, "POST", "/v1/messages", body())[0] for _ in range(2)]
    others = [
        request(sim, "POST", "/v1/messages", body(), {"x-api-key": other})[0] for _ in range(2)
    ]
    assert (statuses, others) == ([500, 500], [200, 200])
    rates = FaultConfig(error_529_rate=0.2, by_key={KEY: KeyFaultRates(error_500_rate=1.0)})
    assert (rates.for_key(KEY).error_500_rate, rates.for_key(KEY).error_529_rate) == (1.0, 0.2)
    assert rates.for_key(other) is rates
