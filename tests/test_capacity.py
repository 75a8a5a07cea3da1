"""The gateway's own capacity: open streams per process, LOW shed first, an honest 529.

A process sized for ten open streams (``server.max_open_streams``) holds ten streams at the
simulator. LOW may fill 80 % of it, NORMAL 90 %, CRITICAL all of it; past a priority's share
a new stream is refused at once with ``529 overloaded_error`` and ``retry-after`` — never a
``429`` that would blame the provider's quota — and the cause is a metric and on health.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, MODEL, gateway_settings, sim_config
from tests.helpers import request, sim_post
from tests.servers import ServerThread

ROOMY = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}


@pytest.fixture
def setup(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> Iterator[tuple[SimulatorThread, ServerThread]]:
    sim = start_sim(sim_config({KEY_A: ROOMY}))
    gw = start_gateway(
        gateway_settings(sim.url, [{"secret": KEY_A, "limits": ROOMY}], server__max_open_streams=10)
    )
    yield sim, gw
    request(sim.url, "POST", "/_sim/release/cap")  # whatever is still held (any status)


def open_stream(client: anthropic.Anthropic, priority: str) -> Any:
    """A stream held open at the simulator after its first event; its iterator."""
    stream = client.messages.create(
        model=MODEL,
        max_tokens=50,
        stream=True,
        messages=[{"role": "user", "content": "hold [sim:tokens=20]"}],
        extra_headers={"x-sim-hold": "cap", "x-scalegate-priority": priority},
    )
    events = iter(stream)
    assert next(events).type == "message_start"
    return stream


def test_open_streams_are_bounded_and_low_is_shed_first(
    setup: tuple[SimulatorThread, ServerThread],
) -> None:
    sim, gw = setup
    with anthropic.Anthropic(api_key="c", base_url=gw.url, max_retries=0) as client:
        check_shedding(sim, gw, client)


def check_shedding(sim: SimulatorThread, gw: ServerThread, client: anthropic.Anthropic) -> None:
    held = [open_stream(client, "low") for _ in range(8)]  # LOW may fill 80 %
    with pytest.raises(anthropic.APIStatusError) as low:
        open_stream(client, "low")
    assert low.value.status_code == 529
    assert low.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]  # the SDK types the body as object
    assert int(low.value.response.headers["retry-after"]) >= 1
    assert "open streams" in low.value.body["error"]["message"]  # type: ignore[index]  # the SDK types the body as object
    held.append(open_stream(client, "normal"))  # NORMAL up to 90 %
    with pytest.raises(anthropic.APIStatusError) as normal:
        open_stream(client, "normal")
    assert normal.value.status_code == 529
    held.append(open_stream(client, "critical"))  # CRITICAL all of it
    with pytest.raises(anthropic.APIStatusError) as full:
        open_stream(client, "critical")
    assert full.value.status_code == 529
    health = request(gw.url, "GET", "/api/monitoring/health").json()
    assert health["components"]["capacity"]["status"] == "degraded"
    assert health["components"]["capacity"]["refused"]["open_streams"] == 3
    metrics = request(gw.url, "GET", "/metrics").body.decode()
    assert 'scalegate_capacity_refusals_total{reason="open_streams"} 3.0' in metrics
    assert 'scalegate_gateway_in_flight{kind="streams"} 10.0' in metrics
    sim_post(sim.url, "/_sim/release/cap")
    for stream in held:
        assert list(stream)[-1].type == "message_stop"
        stream.close()
    # Capacity is given back as the streams end.
    again = open_stream(client, "low")
    sim_post(sim.url, "/_sim/release/cap")
    assert list(again)[-1].type == "message_stop"
    again.close()
