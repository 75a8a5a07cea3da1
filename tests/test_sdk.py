"""The official anthropic SDK (2.x), pointed at the gateway with base_url, works unchanged."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, MODEL, gateway_settings, sim_config
from tests.helpers import sim_post, sim_stats
from tests.servers import ServerThread

UPSTREAM_KEYS = (KEY_A, KEY_B, KEY_C)
USER = [{"role": "user", "content": "Hello there [sim:tokens=7]"}]


Client = Callable[..., anthropic.Anthropic]


def accepted(sim: SimulatorThread) -> int:
    stats = sim_stats(sim.url)["keys"]
    return sum(stats[k]["accepted"] for k in UPSTREAM_KEYS if k in stats)


def test_create(gateway: ServerThread, sim: SimulatorThread, make_client: Client) -> None:
    raw = make_client(gateway.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=USER
    )
    message = raw.parse()
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.usage.output_tokens == 7
    block = message.content[0]
    assert block.type == "text"
    assert len(block.text.split()) == 7
    assert message.stop_reason == "end_turn"
    assert raw.headers["x-scalegate-key"].startswith("key-")
    assert float(raw.headers["x-scalegate-overhead-ms"]) >= 0
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["x-scalegate-priority"] == "normal"
    assert not [h for h in raw.headers if h.startswith("anthropic-ratelimit-")]
    assert accepted(sim) == 1


def test_answers_are_the_same_as_straight_from_the_provider(
    gateway: ServerThread,
    sim: SimulatorThread,
    make_client: Client,
) -> None:
    direct = make_client(sim.url, api_key=KEY_A)
    via = make_client(gateway.url).messages.create(model=MODEL, max_tokens=64, messages=USER)
    straight = direct.messages.create(model=MODEL, max_tokens=64, messages=USER)
    assert via.content == straight.content
    assert via.usage.input_tokens == straight.usage.input_tokens


def test_stream_accumulates_the_final_message(gateway: ServerThread, make_client: Client) -> None:
    with make_client(gateway.url).messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Stream [sim:tokens=12]"}]
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == final.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert len(final.content[0].text.split()) == 12  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert final.usage.output_tokens == 12
    assert final.stop_reason == "end_turn"


def test_stream_with_tool_use(gateway: ServerThread, make_client: Client) -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    with make_client(gateway.url).messages.stream(
        model=MODEL,
        max_tokens=200,
        tools=tools,  # type: ignore[arg-type]  # a deliberately wrong or loosely typed value, as a client sends it
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool = final.content[-1]
    assert tool.type == "tool_use"
    assert tool.name == "get_weather"
    assert isinstance(tool.input, dict)
    assert isinstance(tool.input["city"], str)


def test_count_tokens_matches_the_provider(
    gateway: ServerThread, sim: SimulatorThread, make_client: Client
) -> None:
    counted = make_client(gateway.url).messages.count_tokens(model=MODEL, messages=USER)
    direct = make_client(sim.url, api_key=KEY_A)
    assert (
        counted.input_tokens
        == direct.messages.count_tokens(model=MODEL, messages=USER).input_tokens
    )
    assert counted.input_tokens > 0
    assert accepted(sim) == 0  # count_tokens reserves no message quota


def test_models_list_and_retrieve(
    gateway: ServerThread, sim: SimulatorThread, make_client: Client
) -> None:
    client = make_client(gateway.url)
    models = list(client.models.list(limit=5))  # the SDK pages through all of them
    assert len(models) > 5
    assert all(m.type == "model" for m in models)
    one = client.models.retrieve(models[0].id)
    assert one.id == models[0].id
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-does-not-exist")
    # The listing is cached: with every key revoked at the provider it still answers.
    for key in UPSTREAM_KEYS:
        sim_post(sim.url, f"/_sim/keys/{key}/revoke")
    assert [m.id for m in client.models.list(limit=5)] == [m.id for m in models]


def test_async_client(gateway: ServerThread, make_client: Client) -> None:
    import asyncio

    async def run() -> list[int]:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=gateway.url, max_retries=0)
        answers = await asyncio.gather(
            *(
                client.messages.create(
                    model=MODEL,
                    max_tokens=50,
                    messages=[{"role": "user", "content": f"n{i} [sim:tokens={i + 1}]"}],
                )
                for i in range(20)
            )
        )
        await client.close()
        return [a.usage.output_tokens for a in answers]

    assert asyncio.run(run()) == list(range(1, 21))


# -- error classes: each gateway-made error maps to the SDK's exception for its status --------


def test_bad_request_error(gateway: ServerThread, make_client: Client) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        make_client(gateway.url).messages.create(model=MODEL, max_tokens=0, messages=USER)
    assert info.value.status_code == 400
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]  # the SDK types this document as object
    assert "max_tokens" in info.value.message
    assert info.value.request_id
    assert info.value.request_id.startswith("req_")


def test_not_found_error_for_a_model_no_key_serves(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 100}}))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "models": ["claude-haiku-*"]}]))
    with pytest.raises(anthropic.NotFoundError) as info:
        make_client(gw.url).messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]  # the SDK types this document as object
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 0


def test_authentication_error_with_tenants(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    tenants = [{"name": "web", "keys": ["tenant-secret-1"], "priority": "normal"}]
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}], tenants=tenants))
    with pytest.raises(anthropic.AuthenticationError) as info:
        make_client(gw.url).messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]  # the SDK types this document as object
    ok = make_client(gw.url, api_key="tenant-secret-1")
    assert ok.messages.create(model=MODEL, max_tokens=10, messages=USER).type == "message"


def test_request_too_large_error(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}], server__max_body_bytes=4096))
    big = [{"role": "user", "content": "x" * 10_000}]
    with pytest.raises(anthropic.APIStatusError) as info:
        make_client(gw.url).messages.create(model=MODEL, max_tokens=10, messages=big)
    assert info.value.status_code == 413
    assert info.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]  # the SDK types this document as object


def test_rate_limit_error_carries_retry_after(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 1000}}))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "limits": {"rpm": 2}}]))
    client = make_client(gw.url)
    for _ in range(2):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER)
    with pytest.raises(anthropic.RateLimitError) as info:
        client.with_options(default_headers={"x-scalegate-deadline-ms": "0"}).messages.create(
            model=MODEL, max_tokens=10, messages=USER
        )
    retry_after = int(info.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 30  # 2 rpm refills one request every 30 s
    assert info.value.response.headers["x-should-retry"] == "true"
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 2


def test_overloaded_error_when_every_key_is_revoked(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 100}}))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}]))
    sim_post(sim.url, f"/_sim/keys/{KEY_A}/revoke")
    with pytest.raises(anthropic.APIStatusError) as info:
        make_client(gw.url).messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]  # the SDK types this document as object
    assert KEY_A not in str(info.value.body)


def test_internal_server_error_after_upstream_500s(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 100}}, faults={"error_500_rate": 1.0}))
    gw = start_gateway(
        gateway_settings(
            sim.url, [{"secret": KEY_A}], retry={"max_attempts": 3, "base_seconds": 0.01}
        )
    )
    with pytest.raises(anthropic.InternalServerError) as info:
        make_client(gw.url).messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert info.value.status_code == 500
    assert info.value.body["error"]["type"] == "api_error"  # type: ignore[index]  # the SDK types this document as object
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 3  # exactly max_attempts


def test_models_in_the_openai_shape_for_the_openai_sdk(gateway: ServerThread) -> None:
    import openai

    with openai.OpenAI(api_key="c", base_url=gateway.url + "/v1", max_retries=0) as client:
        models = list(client.models.list())
        assert models
        assert all(m.object == "model" and m.owned_by == "anthropic" for m in models)
        assert client.models.retrieve(models[0].id).id == models[0].id


def test_simulate_command_accepts_any_key_without_a_config(tmp_path: object) -> None:
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "scalegate.cli", "simulate", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, proc.stderr
                time.sleep(0.05)
        with anthropic.Anthropic(
            api_key="any-key", base_url=f"http://127.0.0.1:{port}", max_retries=0
        ) as client:
            message = client.messages.create(model=MODEL, max_tokens=20, messages=USER)
        assert message.usage.output_tokens == 7
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
        assert proc.stderr is not None
        proc.stderr.close()
    assert code == 0
