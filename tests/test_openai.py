"""``POST /v1/chat/completions`` end to end: the official ``openai`` SDK → gateway → simulator.

Usage numbers are checked against what the simulator itself counted (``/_sim/stats``), and
answers against the same request sent straight to the simulator in Anthropic form.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scalegate.config import Settings
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, MODEL, gateway_settings
from tests.helpers import request, sim_stats
from tests.servers import ServerThread

KEYS = (KEY_A, KEY_B, KEY_C)
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
# A 1×1 PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()

OpenAIClient = Callable[..., openai.OpenAI]


@pytest.fixture
def make_openai() -> Iterator[OpenAIClient]:
    clients: list[openai.OpenAI] = []

    def make(gateway: ServerThread, api_key: str = "x", **kw: Any) -> openai.OpenAI:
        client = openai.OpenAI(api_key=api_key, base_url=gateway.url + "/v1", max_retries=0, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(gateway: ServerThread, make_openai: OpenAIClient) -> openai.OpenAI:
    return make_openai(gateway)


def totals(sim: SimulatorThread) -> dict[str, int]:
    keys = sim_stats(sim.url)["keys"]
    names = ("requests", "input_tokens", "cache_read_input_tokens", "output_tokens")
    return {n: sum(keys.get(k, {}).get(n, 0) for k in KEYS) for n in names}


def direct(sim: SimulatorThread, **params: Any) -> anthropic.types.Message:
    """The same request straight to the simulator, in Anthropic form."""
    with anthropic.Anthropic(api_key=KEY_A, base_url=sim.url, max_retries=0) as ac:
        return ac.messages.create(model=MODEL, **params)


# -- create ---------------------------------------------------------------------------------


def test_create_text_with_usage_as_the_simulator_counted(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello there [sim:tokens=7]"}]
    )
    completion = raw.parse()
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.created > 0
    assert completion.model.startswith("claude-sonnet-4-6")
    (choice,) = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content is not None
    assert len(choice.message.content.split()) == 7
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    counted = totals(sim)
    assert counted["requests"] == 1
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == counted["input_tokens"] + counted["cache_read_input_tokens"]
    assert usage.completion_tokens == counted["output_tokens"] == 7
    assert usage.total_tokens == usage.prompt_tokens + 7
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert raw.headers["x-scalegate-key"].startswith("key-")
    assert raw.headers["x-scalegate-priority"] == "normal"
    assert raw.headers["x-scalegate-attempts"] == "1"
    assert float(raw.headers["x-scalegate-overhead-ms"]) >= 0
    assert raw.headers["x-request-id"] == raw.headers["request-id"]
    assert not [h for h in raw.headers if h.startswith("anthropic-ratelimit-")]


def test_system_and_developer_messages_are_hoisted(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "Say something [sim:tokens=5]"},
        ],
    )
    same = direct(
        sim,
        max_tokens=4096,
        system=[
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Answer in English."},
        ],
        messages=[{"role": "user", "content": "Say something [sim:tokens=5]"}],
    )
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == same.usage.input_tokens
    assert completion.choices[0].message.content == same.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text


def test_multi_turn_with_consecutive_turns_merged(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        max_tokens=64,
        messages=[
            {"role": "user", "content": "First."},
            {"role": "user", "content": "Second."},
            {"role": "assistant", "content": "Noted."},
            {"role": "assistant", "content": "Anything else?"},
            {"role": "user", "content": "Yes [sim:tokens=4]"},
        ],
    )
    # One message per role change: three turns, as the provider requires them to alternate.
    same = direct(
        sim,
        max_tokens=64,
        messages=[
            {"role": "user", "content": "First.Second."},
            {"role": "assistant", "content": "Noted.Anything else?"},
            {"role": "user", "content": "Yes [sim:tokens=4]"},
        ],
    )
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == same.usage.input_tokens
    assert completion.choices[0].message.content == same.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text


def test_stop_sequences(client: openai.OpenAI) -> None:
    prompt = [{"role": "user", "content": "Tell me more [sim:tokens=30]"}]
    full = client.chat.completions.create(model=MODEL, messages=prompt).choices[0].message.content
    assert full is not None
    word = full.split()[10]
    cut = client.chat.completions.create(model=MODEL, messages=prompt, stop=[word, "zzz-never"])
    choice = cut.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content is not None
    assert word not in choice.message.content
    assert full.startswith(choice.message.content)
    assert len(choice.message.content) < len(full)
    single = client.chat.completions.create(model=MODEL, messages=prompt, stop=word)
    assert single.choices[0].message.content == choice.message.content


def test_max_completion_tokens_gives_finish_reason_length(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        max_completion_tokens=5,
        messages=[{"role": "user", "content": "Long one [sim:tokens=40]"}],
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 5 == totals(sim)["output_tokens"]


# -- streaming ------------------------------------------------------------------------------


def test_stream_accumulates_with_an_include_usage_chunk(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Stream it [sim:tokens=12]"}],
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 12
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert finishes[:-1] == [None] * (len(finishes) - 1)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    counted = totals(sim)
    assert last.usage.completion_tokens == counted["output_tokens"] == 12
    assert last.usage.prompt_tokens == counted["input_tokens"]
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_wire_format_ends_with_done(gateway: ServerThread) -> None:
    resp = request(
        gateway.url,
        "POST",
        "/v1/chat/completions",
        {
            "model": MODEL,
            "stream": True,
            "messages": [{"role": "user", "content": "wire [sim:tokens=6]"}],
        },
        {"content-type": "application/json", "authorization": "Bearer x"},
    )
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["x-scalegate-key"].startswith("key-")
    frames = resp.body.decode().split("\n\n")
    assert frames[-1] == ""
    assert frames[-2] == "data: [DONE]"
    assert all(f.startswith("data: ") for f in frames[:-1])
    docs = [json.loads(f[6:]) for f in frames[:-2]]
    assert all(d["object"] == "chat.completion.chunk" for d in docs)
    assert "usage" not in docs[-1]  # no include_usage: no usage chunk, no usage fields


# -- tools ----------------------------------------------------------------------------------


def test_tool_call_then_tool_result_then_text(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER], tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]  # a content-block union; this test's block is text
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert isinstance(arguments["city"], str)
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "Sunny [sim:tokens=6]"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    content = second.choices[0].message.content
    assert content is not None
    assert len(content.split()) == 6


def test_named_tool_choice_and_sim_directive(client: openai.OpenAI) -> None:
    named = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Go"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
    )
    assert named.choices[0].message.tool_calls is not None
    directive = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Go [sim:tool]"}], tools=[WEATHER]
    )
    assert directive.choices[0].finish_reason == "tool_calls"
    none = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Go [sim:tool]"}],
        tools=[WEATHER],
        tool_choice="none",
    )
    assert none.choices[0].finish_reason == "stop"
    assert none.choices[0].message.tool_calls is None


def test_streamed_tool_call_deltas(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        stream=True,
        messages=[{"role": "user", "content": "Weather? [sim:tool]"}],
        tools=[WEATHER],
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        delta = chunk.choices[0].delta
        for part in delta.tool_calls or []:
            entry = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            if part.id:
                assert not entry["id"]  # the id comes once, first
                entry["id"] = part.id
                assert part.function is not None
                entry["name"] = part.function.name or ""
            elif part.function is not None:
                entry["arguments"] += part.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"].startswith("toolu_")
    assert calls[0]["name"] == "get_weather"
    assert "city" in json.loads(calls[0]["arguments"])


# -- structured output and images ------------------------------------------------------------


class Forecast(BaseModel):
    city: str
    celsius: int


def test_response_format_json_schema_parses(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=MODEL, messages=[{"role": "user", "content": "Forecast?"}], response_format=Forecast
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert isinstance(choice.message.parsed, Forecast)
    assert json.loads(choice.message.content or "") == choice.message.parsed.model_dump()


def test_response_format_json_schema_streams_as_content(client: openai.OpenAI) -> None:
    schema = Forecast.model_json_schema()
    stream = client.chat.completions.create(
        model=MODEL,
        stream=True,
        messages=[{"role": "user", "content": "Forecast?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "f", "schema": schema}},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert Forecast.model_validate_json(content)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_image_input_as_a_base64_data_url(client: openai.OpenAI, sim: SimulatorThread) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this? [sim:tokens=3]"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            }
        ],
    )
    assert completion.usage is not None
    counted = totals(sim)
    assert counted["requests"] == 1
    # The simulator charges 1000 tokens per image block it accepted.
    assert completion.usage.prompt_tokens == counted["input_tokens"] >= 1000
    assert completion.usage.completion_tokens == 3


def test_anthropic_version_that_rejects_sampling_drops_it(
    gateway: ServerThread, make_openai: OpenAIClient
) -> None:
    client = make_openai(gateway, default_headers={"anthropic-version": "2026-10-21"})
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        temperature=0.3,
        top_p=0.9,
        messages=[{"role": "user", "content": "hi [sim:tokens=2]"}],
    )
    assert raw.parse().choices[0].finish_reason == "stop"  # the simulator would 400 them
    assert raw.headers["x-scalegate-dropped-params"] == "temperature,top_p"


def test_priority_header_and_tenant_bearer_auth(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_openai: OpenAIClient,
) -> None:
    tenants = [{"name": "web", "keys": ["tenant-1"], "priority": "normal", "max_priority": "high"}]
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}], tenants=tenants))
    with pytest.raises(openai.AuthenticationError) as info:
        make_openai(gw, api_key="wrong").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["type"] == "authentication_error"  # type: ignore[index]  # the SDK types this document as object
    ok = make_openai(gw, api_key="tenant-1", default_headers={"x-scalegate-priority": "critical"})
    raw = ok.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "x [sim:tokens=1]"}]
    )
    assert raw.headers["x-scalegate-priority"] == "high"  # clamped to the tenant's maximum
    assert sim_stats(sim.url)["keys"][KEY_A]["accepted"] == 1


class Recorder:
    """An upstream that records what it receives and answers one canned Message."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], Any]] = []

    async def messages(self, req: Request) -> Response:
        self.seen.append((dict(req.headers.items()), json.loads(await req.body())))
        reply = {
            "id": "msg_rec1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }
        return Response(json.dumps(reply), 200, {"request-id": "req_up1"}, "application/json")


def test_what_goes_upstream(
    start_gateway: Callable[[Settings], ServerThread], make_openai: OpenAIClient
) -> None:
    """The pool key as x-api-key, anthropic-version 2023-06-01, the OpenAI SDK's own headers
    left out, other headers forwarded, and the translated body."""
    rec = Recorder()
    app = Starlette(routes=[Route("/v1/messages", rec.messages, methods=["POST"])])
    with ServerThread(app) as upstream:
        gw = start_gateway(gateway_settings(upstream.url, [{"secret": KEY_A}]))
        client = make_openai(gw, default_headers={"x-trace-me": "1", "OpenAI-Project": "p"})
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "hi"},
            ],
            stop="END",
            temperature=0.5,
            user="u-1",
        )
    assert raw.parse().choices[0].message.content == "ok"
    assert raw.headers["x-request-id"] == "req_up1"
    ((headers, body),) = rec.seen
    assert headers["x-api-key"] == KEY_A
    assert "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert headers["x-trace-me"] == "1"
    assert not [h for h in headers if h.startswith(("x-stainless-", "openai-"))]
    assert body == {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "metadata": {"user_id": "u-1"},
        "system": [{"type": "text", "text": "sys"}],
    }


# -- caching --------------------------------------------------------------------------------


def test_the_cache_answers_chat_completions_plain_and_streamed(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    asked = [{"role": "user", "content": "What is a token bucket? [sim:tokens=9]"}]
    exact = {"x-scalegate-cache": "exact"}
    first = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=asked, extra_headers=exact
    )
    again = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=asked, extra_headers=exact
    )
    assert (first.headers["x-scalegate-cache"], again.headers["x-scalegate-cache"]) == (
        "miss",
        "hit",
    )
    assert totals(sim)["requests"] == 1  # the hit never reached the provider
    one, two = first.parse(), again.parse()
    assert two.choices[0].message.content == one.choices[0].message.content
    assert two.usage == one.usage
    # The same question streamed: the stored Message replayed as chunks the SDK accepts.
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=asked,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=exact,
    )
    assert raw.headers["x-scalegate-cache"] == "hit"
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == one.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage == one.usage
    assert totals(sim)["requests"] == 1
    # Without the header (the default mode is off) the provider is asked again.
    plain = client.chat.completions.with_raw_response.create(model=MODEL, messages=asked)
    assert plain.headers["x-scalegate-cache"] == "bypass"
    assert totals(sim)["requests"] == 2


def test_a_streamed_miss_is_stored_for_the_next_request(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    asked = [{"role": "user", "content": "Explain retries with jitter [sim:tokens=11]"}]
    exact = {"x-scalegate-cache": "exact"}
    streamed = client.chat.completions.create(
        model=MODEL, messages=asked, stream=True, extra_headers=exact
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    # The client may read the stream's last byte before the gateway has stored it: then the
    # identical request joins the stream still in flight ("coalesced", seen once in a full
    # run). Either way it is answered with the streamed text and asks the provider nothing,
    # and the answer is stored once the leader lands: the next request is a hit.
    again = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=asked, extra_headers=exact
    )
    assert again.headers["x-scalegate-cache"] in ("hit", "coalesced")
    assert again.parse().choices[0].message.content == text
    hit = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=asked, extra_headers=exact
    )
    assert hit.headers["x-scalegate-cache"] == "hit"
    assert hit.parse().choices[0].message.content == text
    assert totals(sim)["requests"] == 1
    # A tool-use answer is never stored (DESIGN §7): asked twice, answered twice.
    tools = {"tools": [WEATHER], "tool_choice": "required"}
    weather = [{"role": "user", "content": "Weather in Oslo?"}]
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=weather, extra_headers=exact, **tools
        )
        assert raw.headers["x-scalegate-cache"] == "miss"
        assert raw.parse().choices[0].finish_reason == "tool_calls"
    assert totals(sim)["requests"] == 3
