"""Streams are really streamed, and a client leaving mid-stream frees everything at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, MODEL, gateway_settings, sim_config
from tests.helpers import request, sim_post, sim_stats
from tests.servers import ServerThread

Client = Callable[..., anthropic.Anthropic]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll state (not time) until it holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def one_key(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    **limits: int,
) -> tuple[SimulatorThread, ServerThread]:
    sim = start_sim(sim_config({KEY_A: limits or {"rpm": 1000}}))
    gw = start_gateway(
        gateway_settings(sim.url, [{"secret": KEY_A, "limits": limits or {"rpm": 1000}}])
    )
    return sim, gw


def holds(sim: SimulatorThread) -> list[str]:
    held: list[str] = request(sim.url, "GET", "/_sim/holds").json()["holds"]
    return held


def test_first_event_reaches_the_client_while_the_provider_holds_the_rest(
    start_sim: Any, start_gateway: Any, make_client: Client
) -> None:
    sim, gw = one_key(start_sim, start_gateway)
    stream = make_client(gw.url).messages.create(
        model=MODEL,
        max_tokens=100,
        stream=True,
        messages=[{"role": "user", "content": "hold me [sim:tokens=20]"}],
        extra_headers={"x-sim-hold": "h-stream-1"},
    )
    events = iter(stream)
    first = next(events)
    assert first.type == "message_start"
    # the client has message_start, and the simulator has not sent anything after it
    assert holds(sim) == ["h-stream-1"]
    assert sim_stats(sim.url)["keys"][KEY_A]["output_tokens"] == 0
    sim_post(sim.url, "/_sim/release/h-stream-1")
    rest = list(events)
    assert rest[-1].type == "message_stop"
    text = "".join(e.delta.text for e in rest if e.type == "content_block_delta")  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert len(text.split()) == 20


def test_client_disconnect_cancels_upstream_and_settles_the_reservation(
    start_sim: Any, start_gateway: Any, make_client: Client
) -> None:
    sim, gw = one_key(start_sim, start_gateway, rpm=1000, otpm=100_000)
    stream = make_client(gw.url).messages.create(
        model=MODEL,
        max_tokens=40_000,
        stream=True,
        messages=[{"role": "user", "content": "long answer [sim:tokens=500]"}],
        extra_headers={"x-sim-hold": "h-leave"},
    )
    events = iter(stream)
    assert next(events).type == "message_start"

    async def otpm_used() -> tuple[float, int]:
        pool = gw_app_pool(gw)
        status = {s["key"]: s for s in await pool.status()}
        (entry,) = status.values()
        return entry["limits"]["otpm"]["used"], entry["in_flight"]

    used, in_flight = gw.call(otpm_used)
    assert used >= 39_000  # max_tokens reserved while the stream runs (less a refill)
    assert in_flight == 1
    stream.close()  # the client goes away mid-stream
    wait_until(lambda: sim_stats(sim.url)["keys"][KEY_A]["streams_cancelled"] == 1)
    stats = sim_stats(sim.url)["keys"][KEY_A]
    assert stats["in_flight"] == 0
    assert stats["streams_completed"] == 0
    assert holds(sim) == []  # the held handler was cancelled, not left waiting
    wait_until(lambda: gw.call(otpm_used)[1] == 0)
    used, _ = gw.call(otpm_used)
    assert used < 1_000  # the unused reservation went back to the key


def gw_app_pool(gw: ServerThread) -> Any:
    app = gw.config.app
    return app.state.gateway.pool  # type: ignore[attr-defined]  # Starlette's app.state is untyped


def test_overloaded_before_the_first_byte_is_retried_on_another_attempt(
    start_sim: Any, start_gateway: Any, make_client: Client
) -> None:
    sim, gw = one_key(start_sim, start_gateway)
    # Every stream opens with an overloaded error for the first two attempts.
    request(
        sim.url,
        "PUT",
        "/_sim/config",
        {"faults": {"overloaded_first_rate": 1.0}},
        {"content-type": "application/json"},
    )
    client = make_client(gw.url)
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(
            model=MODEL,
            max_tokens=50,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-scalegate-deadline-ms": "1500"},
        ) as s,
    ):
        s.get_final_message()
    # every attempt failed before anything was forwarded: a clean HTTP error, not a
    # broken stream
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]  # the SDK types this document as object
    attempts = sim_stats(sim.url)["keys"][KEY_A]["requests"]
    assert attempts >= 2  # it was retried
    request(
        sim.url,
        "PUT",
        "/_sim/config",
        {"faults": {"overloaded_first_rate": 0.0}},
        {"content-type": "application/json"},
    )
    with client.messages.stream(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "x [sim:tokens=3]"}]
    ) as s:
        assert s.get_final_message().usage.output_tokens == 3


def test_midstream_error_reaches_the_client_as_an_error_event(
    start_sim: Any, start_gateway: Any, make_client: Client
) -> None:
    sim, gw = one_key(start_sim, start_gateway)
    client = make_client(gw.url)
    with (
        pytest.raises(anthropic.APIStatusError, match=r"(?i)overloaded"),
        client.messages.stream(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "x [sim:tokens=30]"}],
            extra_headers={"x-sim-fault": "overloaded_midstream"},
        ) as s,
    ):
        s.get_final_message()
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 1  # a started stream is not retried

    async def in_flight() -> int:
        return int(gw_app_pool(gw).entry(next(iter(gw_app_pool(gw)._entries))).in_flight)

    wait_until(lambda: gw.call(in_flight) == 0)


def test_a_long_time_to_first_token_releases_the_held_opening_after_the_hold(
    start_sim: Any, start_gateway: Any, make_client: Client
) -> None:
    """The opening events are held only ``upstream.stream_hold_seconds``: a provider slow to
    its first token (here 60 s) does not leave the client on a silent connection."""
    sim = start_sim(sim_config({KEY_A: {"rpm": 1000}}))
    settings = gateway_settings(
        sim.url, [{"secret": KEY_A, "limits": {"rpm": 1000}}], upstream__stream_hold_seconds=0.2
    )
    gw = start_gateway(settings)
    started = time.monotonic()
    with make_client(gw.url).messages.create(
        model=MODEL,
        max_tokens=100,
        stream=True,
        messages=[{"role": "user", "content": "take your time"}],
        extra_headers={"x-sim-latency-ms": "60000"},
    ) as stream:
        first = next(iter(stream))
        assert first.type == "message_start"
        assert time.monotonic() - started < 30  # long before the provider's first token
    # leaving the stream closed the provider's connection and settled its lease
    pool = gw_app_pool(gw)
    wait_until(lambda: all(entry.in_flight == 0 for entry in pool.entries))
    assert sim_stats(sim.url)["keys"][KEY_A]["output_tokens"] == 0  # no content was sent
