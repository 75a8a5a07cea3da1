"""Streams the provider cuts: never a silent truncation, and retried while nothing was sent.

The simulator drops a share of streamed answers mid-way (``drop_connection_rate``): after two
content deltas of a long answer, or before any content of a one-delta answer.
"""

from __future__ import annotations

from collections.abc import Callable

import anthropic

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_stats
from tests.servers import ServerThread

ROOMY = {"rpm": 100_000, "itpm": 10_000_000, "otpm": 10_000_000}


def test_a_stream_cut_after_content_ends_with_an_error_event_never_silently(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: ROOMY}, faults={"drop_connection_rate": 0.3}, seed=7))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "limits": ROOMY}]))
    complete = raised = silent = 0
    messages: set[str] = set()
    with anthropic.Anthropic(api_key="c", base_url=gw.url, max_retries=0) as client:
        for i in range(40):
            try:
                with client.messages.stream(
                    model=MODEL,
                    max_tokens=200,
                    messages=[{"role": "user", "content": f"story {i} [sim:tokens=40]"}],
                ) as stream:
                    final = stream.get_final_message()
            except anthropic.APIError as exc:
                messages.add(str(exc))
                raised += 1
                continue
            if final.stop_reason is None:
                silent += 1  # a truncated answer returned as if complete
            else:
                complete += 1
    injected = sim_stats(sim.url)["keys"][KEY_A]["injected"].get("drop_midstream", 0)
    assert injected > 0  # the run did cut streams
    assert silent == 0
    assert all("upstream connection lost" in m for m in messages), messages
    assert raised == injected  # every cut reached its client as an error
    assert complete + raised == 40
    metrics = request(gw.url, "GET", "/metrics").body.decode()
    assert f"scalegate_stream_cuts_total {float(injected)}" in metrics


def test_a_stream_cut_before_any_content_is_retried_on_another_attempt(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(
        sim_config({KEY_A: ROOMY, KEY_B: ROOMY}, faults={"drop_connection_rate": 0.3}, seed=3)
    )
    keys = [{"secret": k, "limits": ROOMY} for k in (KEY_A, KEY_B)]
    gw = start_gateway(gateway_settings(sim.url, keys))
    headers = {"x-api-key": "c", "anthropic-version": "2023-06-01"}
    extra_attempts = 0
    for i in range(30):
        body = messages_body(f"one word {i} [sim:tokens=1]", stream=True)
        resp = request(gw.url, "POST", "/v1/messages", body, headers)
        assert resp.status == 200, resp.body
        assert b"event: message_stop" in resp.body  # complete: the cut attempt was retried
        assert b"event: error" not in resp.body
        extra_attempts += int(resp.headers["x-scalegate-attempts"]) - 1
    stats = sim_stats(sim.url)["keys"]
    injected = sum(k["injected"].get("drop_midstream", 0) for k in stats.values())
    assert injected > 0
    assert extra_attempts == injected  # each cut before content cost one attempt, no answer
