"""Errors on ``POST /v1/chat/completions`` arrive in the OpenAI envelope, with the SDK's classes.

Whether the gateway made the error (validation, quota, overload, auth, size) or the provider
did (passed back translated), the status and the retry headers are those of the Anthropic
route; the body is ``{"error": {"message", "type", "param", "code"}}``. Never a 500 for bad
input, and nothing reaches the provider for a request that does not translate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import orjson
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, MODEL, gateway_settings, sim_config
from tests.helpers import request, sim_post, sim_stats
from tests.servers import ServerThread

USER = [{"role": "user", "content": "Hello [sim:tokens=3]"}]
OpenAIClient = Callable[..., openai.OpenAI]


@pytest.fixture
def make_openai() -> Iterator[OpenAIClient]:
    clients: list[openai.OpenAI] = []

    def make(gateway: ServerThread, **kw: Any) -> openai.OpenAI:
        kw.setdefault("api_key", "x")
        client = openai.OpenAI(base_url=gateway.url + "/v1", max_retries=0, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def arrivals(sim: SimulatorThread) -> int:
    keys = sim_stats(sim.url)["keys"]
    return sum(keys.get(k, {}).get("requests", 0) for k in (KEY_A, KEY_B, KEY_C))


def one_key_gateway(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    sim_limits: dict[str, Any] | None = None,
    **settings: Any,
) -> tuple[SimulatorThread, ServerThread]:
    sim = start_sim(sim_config({KEY_A: sim_limits or {"rpm": 1000}}))
    keys = [{"secret": KEY_A, **settings.pop("key", {})}]
    return sim, start_gateway(gateway_settings(sim.url, keys, **settings))


UNSUPPORTED: list[tuple[dict[str, Any], str]] = [
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
    ({"audio": {"voice": "alloy", "format": "wav"}, "modalities": ["text", "audio"]}, "audio"),
    ({"frequency_penalty": 1.0}, "frequency_penalty"),
    ({"logit_bias": {"1": 5}}, "logit_bias"),
    ({"temperature": 1.7}, "temperature"),
    ({"extra_body": {"frobnicate": True}}, "frobnicate"),
]


@pytest.mark.parametrize(("params", "param"), UNSUPPORTED, ids=[u[1] for u in UNSUPPORTED])
def test_unsupported_features_are_400s(
    gateway: ServerThread,
    sim: SimulatorThread,
    make_openai: OpenAIClient,
    params: dict[str, Any],
    param: str,
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        make_openai(gateway).chat.completions.create(model=MODEL, messages=USER, **params)
    assert info.value.status_code == 400
    body: Any = info.value.body
    assert body["type"] == "invalid_request_error"
    assert body["param"] == param
    assert body["code"] in ("unsupported_parameter", "unsupported_value")
    assert param in body["message"] or "Unrecognized" in body["message"]
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req_")
    assert arrivals(sim) == 0


def test_invalid_tool_call_arguments(
    gateway: ServerThread, sim: SimulatorThread, make_openai: OpenAIClient
) -> None:
    messages: Any = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "x"},
    ]
    with pytest.raises(openai.BadRequestError) as info:
        make_openai(gateway).chat.completions.create(model=MODEL, messages=messages)
    body: Any = info.value.body
    assert body["param"] == "messages[1].tool_calls[0].function.arguments"
    assert "not valid JSON" in body["message"]
    assert arrivals(sim) == 0


JSON_HEADERS = {"content-type": "application/json", "authorization": "Bearer x"}
BAD_BODIES: list[tuple[str, Any, str]] = [
    ("malformed JSON", b'{"model": "m", ', "not valid JSON"),
    ("empty body", b"", "empty"),
    ("not an object", b"[1]", "JSON object"),
    ("missing messages", {"model": MODEL}, "messages: Field required"),
    ("missing model", {"messages": USER}, "model: Field required"),
    ("messages a string", {"model": MODEL, "messages": "hi"}, "messages"),
    ("message a number", {"model": MODEL, "messages": [5]}, "messages[0]"),
    ("content a number", {"model": MODEL, "messages": [{"role": "user", "content": 5}]}, "content"),
    (
        "part without type",
        {"model": MODEL, "messages": [{"role": "user", "content": [{}]}]},
        "None",
    ),
    (
        "tool_calls a dict",
        {"model": MODEL, "messages": [{"role": "assistant", "tool_calls": {}}]},
        "array",
    ),
    ("tools a string", {"model": MODEL, "messages": USER, "tools": "x"}, "tools"),
    ("tool_choice a number", {"model": MODEL, "messages": USER, "tool_choice": 3}, "tool_choice"),
    ("stop a number", {"model": MODEL, "messages": USER, "stop": 3}, "stop"),
    (
        "temperature a string",
        {"model": MODEL, "messages": USER, "temperature": "hot"},
        "temperature",
    ),
    ("user a number", {"model": MODEL, "messages": USER, "user": 5}, "user"),
    (
        "response_format a string",
        {"model": MODEL, "messages": USER, "response_format": "json"},
        "type",
    ),
]


@pytest.mark.parametrize(("name", "body", "needle"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_a_400_envelope(
    gateway: ServerThread, sim: SimulatorThread, name: str, body: Any, needle: str
) -> None:
    resp = request(gateway.url, "POST", "/v1/chat/completions", body, JSON_HEADERS)
    assert resp.status == 400, resp.body
    doc = orjson.loads(resp.body)
    assert set(doc) == {"error"}
    assert set(doc["error"]) == {"message", "type", "param", "code"}
    assert doc["error"]["type"] == "invalid_request_error"
    assert needle in doc["error"]["message"]
    assert resp.headers["x-request-id"].startswith("req_")
    assert resp.headers["x-scalegate-request-id"] == resp.headers["x-request-id"]
    assert resp.headers["content-type"].startswith("application/json")
    assert arrivals(sim) == 0


def test_rate_limit_error_with_retry_after(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(start_sim, start_gateway, key={"limits": {"rpm": 2}})
    client = make_openai(gw)
    for _ in range(2):
        client.chat.completions.create(model=MODEL, messages=USER)
    with pytest.raises(openai.RateLimitError) as info:
        client.with_options(
            default_headers={"x-scalegate-deadline-ms": "0"}
        ).chat.completions.create(model=MODEL, messages=USER)
    headers = info.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 30  # 2 rpm refills one request every 30 s
    assert headers["x-should-retry"] == "true"
    assert headers["x-scalegate-priority"] == "normal"
    body: Any = info.value.body
    assert body["type"] == "rate_limit_error"
    assert body["code"] == "rate_limit_exceeded"
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 2


def test_request_too_large(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(start_sim, start_gateway, server__max_body_bytes=4096)
    big = [{"role": "user", "content": "x" * 10_000}]
    with pytest.raises(openai.APIStatusError) as info:
        make_openai(gw).chat.completions.create(model=MODEL, messages=big)
    assert info.value.status_code == 413
    assert info.value.body["code"] == "request_too_large"  # type: ignore[index]  # the SDK types this document as object
    assert arrivals(sim) == 0


def test_upstream_error_is_passed_back_in_openai_shape(
    gateway: ServerThread, make_openai: OpenAIClient
) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        make_openai(gateway).chat.completions.create(model="claude-nonexistent-9", messages=USER)
    body: Any = info.value.body
    assert body["code"] == "not_found_error"  # the provider's own error type
    assert "claude-nonexistent-9" in body["message"]
    assert info.value.request_id == info.value.response.headers["request-id"]


def test_overloaded_when_every_key_is_revoked(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(start_sim, start_gateway)
    sim_post(sim.url, f"/_sim/keys/{KEY_A}/revoke")
    with pytest.raises(openai.InternalServerError) as info:
        make_openai(gw).chat.completions.create(model=MODEL, messages=USER)
    assert info.value.status_code == 529
    assert info.value.body["type"] == "server_error"  # type: ignore[index]  # the SDK types this document as object
    assert info.value.body["code"] == "overloaded"  # type: ignore[index]  # the SDK types this document as object
    assert info.value.response.headers["x-should-retry"] == "false"
    assert KEY_A not in info.value.response.text


def test_server_error_after_upstream_500s(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(
        start_sim, start_gateway, retry={"max_attempts": 2, "base_seconds": 0.01}
    )
    client = make_openai(gw, default_headers={"x-sim-fault": "500"})
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model=MODEL, messages=USER)
    assert info.value.status_code == 500
    assert info.value.body["type"] == "server_error"  # type: ignore[index]  # the SDK types this document as object
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 2  # retried, then given up


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("overloaded_midstream", {"message": "Overloaded", "type": "server_error",
                                  "code": "overloaded_error"}),
        # The gateway ends a cut stream with the provider's own error event (never silently).
        ("drop_midstream", {"message": "upstream connection lost", "type": "server_error",
                            "code": "api_error"}),
    ],
)  # fmt: skip
def test_mid_stream_failure_becomes_an_error_frame(
    gateway: ServerThread, make_openai: OpenAIClient, fault: str, error: dict[str, Any]
) -> None:
    client = make_openai(gateway, default_headers={"x-sim-fault": fault})
    stream = client.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": "go [sim:tokens=30]"}]
    )
    received: list[str] = []

    def consume() -> None:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    with pytest.raises(openai.APIError) as info:
        consume()
    assert "".join(received)  # some text arrived before the provider failed
    assert info.value.body == {**error, "param": None}


def test_client_leaving_mid_stream_cancels_upstream(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(start_sim, start_gateway)
    client = make_openai(gw, default_headers={"x-sim-hold": "oai-leave"})
    stream = client.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": "long [sim:tokens=500]"}]
    )
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    stream.close()
    deadline = time.monotonic() + 10
    while sim_stats(sim.url)["keys"][KEY_A]["streams_cancelled"] != 1:
        assert time.monotonic() < deadline, "the upstream stream was not cancelled"
        time.sleep(0.01)
    assert sim_stats(sim.url)["keys"][KEY_A]["in_flight"] == 0

    async def in_flight() -> int:
        pool = gw.config.app.state.gateway.pool  # type: ignore[attr-defined]  # Starlette's app.state is untyped
        return sum(s["in_flight"] for s in await pool.status())

    while gw.call(in_flight) != 0:
        assert time.monotonic() < deadline, "the lease was not settled"
        time.sleep(0.01)


def test_stream_errors_before_the_first_chunk_are_http_errors(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    sim, gw = one_key_gateway(
        start_sim, start_gateway, retry={"max_attempts": 2, "base_seconds": 0.01}
    )
    client = make_openai(gw)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="claude-nonexistent-9", messages=USER, stream=True)
    overloaded = client.with_options(default_headers={"x-sim-fault": "overloaded_first"})
    with pytest.raises(openai.InternalServerError) as info:
        overloaded.chat.completions.create(model=MODEL, messages=USER, stream=True)
    assert info.value.status_code == 529
    assert info.value.body["code"] == "overloaded"  # type: ignore[index]  # the SDK types this document as object
    assert "retry-after" in info.value.response.headers
    assert sim_stats(sim.url)["keys"][KEY_A]["requests"] == 3  # 1 + 2 attempts


def test_unknown_paths_under_chat_answer_in_the_openai_envelope(gateway: ServerThread) -> None:
    missing = request(gateway.url, "GET", "/v1/chat/nothing")
    assert missing.status == 404
    assert set(missing.json()) == {"error"}  # OpenAI's shape, not {"type": "error", ...}
    assert {"message", "type", "param", "code"} <= set(missing.json()["error"])
    wrong = request(gateway.url, "GET", "/v1/chat/completions")
    assert wrong.status == 405
    assert set(wrong.json()) == {"error"}
