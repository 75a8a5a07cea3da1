"""The simulated provider through the official SDK and raw HTTP: answers, streaming, errors.

Each test gets a real simulator on 127.0.0.1 in a background thread (``SimulatorThread``).
Rate limits, faults and holds have their own modules (``test_simulator_limits.py``,
``test_simulator_faults.py``); the pure functions are in ``test_simulator_units.py``.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest

from scalegate.clock import ManualClock
from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorThread
from scalegate.sse import SSEParser

MODEL = "claude-haiku-4-5-20251001"
ALIAS = "claude-haiku-4-5"  # the SDK warns (DeprecationWarning) on older 4.5 models
KEY = "sk-sim-test"
OLD_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
NEW_HEADERS = {"authorization": f"Bearer {KEY}", "anthropic-version": "2026-10-21"}


def user(text: str) -> Any:
    return [{"role": "user", "content": text}]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorThread]:
    config = SimulatorConfig(keys={KEY: SimKeyLimits(rpm=1000, itpm=1_000_000, otpm=1_000_000)})
    with SimulatorThread(config, clock=clock) as thread:
        yield thread


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as c:
        yield c


def raw(
    sim: SimulatorThread,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP/1.1 request; the status, lower-cased headers and body."""
    parsed = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        payload = (
            body if isinstance(body, bytes) else (None if body is None else orjson.dumps(body))
        )
        all_headers = {"content-type": "application/json", **(headers or {})}
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


def sse_events(data: bytes) -> list[tuple[str | None, Any]]:
    return [(e.event, e.json()) for e in SSEParser().feed(data)]


# --- the SDK as a client -------------------------------------------------------------------


def test_create_returns_a_provider_shaped_message(client: anthropic.Anthropic) -> None:
    raw_response = client.messages.with_raw_response.create(
        model=ALIAS, max_tokens=200, messages=user("Hello there")
    )
    message = raw_response.parse()
    assert raw_response.headers["request-id"].startswith("req_")
    assert message.id.startswith("msg_")
    assert message.model == MODEL  # the alias resolves to the dated id
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    text = message.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert 20 <= len(text.split()) <= 80
    assert message.usage.output_tokens == len(text.split())
    # "Hello there": 11 bytes → ceil(11/4) = 3, + 3 per message + 5
    assert message.usage.input_tokens == 11
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0


def test_stream_accumulates_to_the_same_message(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(model=MODEL, max_tokens=200, messages=user("Same question"))
    with client.messages.stream(
        model=MODEL, max_tokens=200, messages=user("Same question")
    ) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed_text == plain.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert final.content[0].text == streamed_text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.stop_reason == "end_turn"


def test_answers_are_deterministic_per_model_and_prompt(client: anthropic.Anthropic) -> None:
    def text(model: str, prompt: str) -> str:
        message = client.messages.create(model=model, max_tokens=500, messages=user(prompt))
        return message.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text

    assert text(MODEL, "What is a token bucket?") == text(ALIAS, "What is a token bucket?")
    assert text(MODEL, "What is a token bucket?") != text(MODEL, "What is a leaky bucket?")
    assert text(MODEL, "What is a token bucket?") != text(
        "claude-opus-4-6", "What is a token bucket?"
    )


def test_tokens_directive_forces_exact_output(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=500, messages=user("Write exactly [sim:tokens=137] words")
    )
    assert message.usage.output_tokens == 137
    assert len(message.content[0].text.split()) == 137  # type: ignore[union-attr]  # a content-block union; this test's block is text


def test_max_tokens_truncates(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=7, messages=user("[sim:tokens=50]"))
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 7
    assert len(message.content[0].text.split()) == 7  # type: ignore[union-attr]  # a content-block union; this test's block is text


def test_stop_sequence_cuts_the_answer(client: anthropic.Anthropic) -> None:
    full = client.messages.create(model=MODEL, max_tokens=100, messages=user("[sim:tokens=40]"))
    words = full.content[0].text.split()  # type: ignore[union-attr]  # a content-block union; this test's block is text
    stop = words[10]
    cut = client.messages.create(
        model=MODEL, max_tokens=100, messages=user("[sim:tokens=40]"), stop_sequences=[stop]
    )
    assert cut.stop_reason == "stop_sequence"
    assert cut.stop_sequence == stop
    assert stop not in cut.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    first = next(i for i, w in enumerate(words) if stop in w)
    assert cut.usage.output_tokens == first + 1  # the words generated, the stop's included


WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "verbose": {"type": "boolean"},
        },
        "required": ["city", "days", "unit"],
    },
}


TOOLS: Any = [{"name": "noop", "input_schema": {"type": "object"}}, WEATHER_TOOL]


@pytest.mark.parametrize(
    ("choice", "prompt"),
    [({"type": "any"}, "weather?"), ({"type": "auto"}, "weather? [sim:tool]")],
)
def test_tool_use(client: anthropic.Anthropic, choice: Any, prompt: str) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=TOOLS[::-1],
        tool_choice=choice,
        messages=user(prompt),
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert block.name == "get_weather"
    tool_input: Any = block.input
    assert set(tool_input) == {"city", "days", "unit"}
    assert isinstance(tool_input["city"], str)
    assert 1 <= tool_input["days"] <= 7
    assert tool_input["unit"] in ("celsius", "fahrenheit")


def test_named_tool_choice_streams_input_json(client: anthropic.Anthropic) -> None:
    tools = TOOLS
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 300, "tools": tools}
    choice: Any = {"type": "tool", "name": "get_weather"}
    plain = client.messages.create(**kwargs, tool_choice=choice, messages=user("hi"))
    with client.messages.stream(**kwargs, tool_choice=choice, messages=user("hi")) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].input == plain.content[0].input  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert final.usage.output_tokens == plain.usage.output_tokens
    # no tool call without a reason to make one
    text = client.messages.create(**kwargs, messages=user("hi"))
    assert text.stop_reason == "end_turn"


def test_count_tokens_matches_create(client: anthropic.Anthropic, sim: SimulatorThread) -> None:
    system = "You are terse."
    messages: Any = [
        {"role": "user", "content": [{"type": "text", "text": "Describe this"}]},
        {"role": "assistant", "content": "It is"},
        {"role": "user", "content": "continue"},
    ]
    counted = client.messages.count_tokens(model=MODEL, system=system, messages=messages)
    created = client.messages.create(model=MODEL, max_tokens=10, system=system, messages=messages)
    assert counted.input_tokens == created.usage.input_tokens
    # 14 + 13 + 5 + 8 = 40 bytes → 10, + 3 × 3 messages + 5
    assert counted.input_tokens == 24
    assert sim.simulator.stats.keys[KEY].count_tokens_requests == 1


def test_models_list_and_retrieve(client: anthropic.Anthropic, sim: SimulatorThread) -> None:
    every = [m.id for m in client.models.list(limit=1000)]
    assert every == sim.simulator.config.models
    page = client.models.list(limit=2)
    assert [m.id for m in page.data] == every[:2]
    assert page.has_more
    after = client.models.list(limit=2, after_id=every[1])
    assert [m.id for m in after.data] == every[2:4]
    before = client.models.list(limit=2, before_id=every[3])
    assert [m.id for m in before.data] == every[1:3]
    info = client.models.retrieve(ALIAS)
    assert info.id == MODEL
    assert info.display_name == "Claude Haiku 4.5"
    assert info.created_at.year == 2025
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nonexistent-1")


def test_prompt_caching_creation_then_read(
    client: anthropic.Anthropic, sim: SimulatorThread, clock: ManualClock
) -> None:
    system: Any = [{"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}}]

    def ask() -> anthropic.types.Usage:
        return client.messages.create(
            model=MODEL, max_tokens=20, system=system, messages=user("hi")
        ).usage

    # prefix: 400 bytes → 100 + 5; total: 402 bytes → 101 + 3 + 5 = 109
    first, second = ask(), ask()
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (105, 0)
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 105)
    assert first.input_tokens == second.input_tokens == 4
    stats = sim.simulator.stats.keys[KEY]
    assert stats.input_tokens == 109 + 4  # reads are not charged
    assert stats.cache_read_input_tokens == 105
    clock.advance(301)  # past the five-minute lifetime (reads refreshed it at the start)
    assert ask().cache_creation_input_tokens == 105


def test_top_level_cache_control_marks_the_last_block(client: anthropic.Anthropic) -> None:
    kwargs: Any = {"model": MODEL, "max_tokens": 5, "messages": user("y" * 40)}
    first = client.messages.create(**kwargs, cache_control={"type": "ephemeral"}).usage
    second = client.messages.create(**kwargs, cache_control={"type": "ephemeral"}).usage
    assert first.cache_creation_input_tokens == 10 + 3 + 5
    assert second.cache_read_input_tokens == 18
    assert second.input_tokens == 0


# --- errors as the SDK sees them -----------------------------------------------------------


def test_sdk_error_classes(client: anthropic.Anthropic, sim: SimulatorThread) -> None:
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.create(model=MODEL, max_tokens=0, messages=user("hi"))
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        client.messages.create(
            model=MODEL, max_tokens=5, messages=user("hi"), extra_body={"temperature": 0.5}
        )
    with pytest.raises(anthropic.NotFoundError) as not_found:
        client.messages.create(model="claude-imaginary-9", max_tokens=5, messages=user("hi"))
    assert not_found.value.request_id is not None
    with (
        anthropic.Anthropic(api_key="sk-wrong", base_url=sim.url, max_retries=0) as other,
        pytest.raises(anthropic.AuthenticationError),
    ):
        other.messages.create(model=MODEL, max_tokens=5, messages=user("hi"))
    for fault, error_class in [
        ("500", anthropic.InternalServerError),
        ("529", anthropic.OverloadedError),
        ("429", anthropic.RateLimitError),
    ]:
        with pytest.raises(error_class) as caught:
            client.messages.create(
                model=MODEL,
                max_tokens=5,
                messages=user("hi"),
                extra_headers={"x-sim-fault": fault},
            )
        assert caught.value.status_code == int(fault)
        error_body: Any = caught.value.body
        expected = {"500": "api_error", "529": "overloaded_error", "429": "rate_limit_error"}
        assert error_body["error"]["type"] == expected[fault]


def test_revoked_key_is_refused_until_restored(
    client: anthropic.Anthropic, sim: SimulatorThread
) -> None:
    client.messages.create(model=MODEL, max_tokens=5, messages=user("hi"))
    assert raw(sim, "POST", f"/_sim/keys/{KEY}/revoke")[0] == 200
    with pytest.raises(anthropic.AuthenticationError, match="revoked"):
        client.messages.create(model=MODEL, max_tokens=5, messages=user("hi"))
    stats = orjson.loads(raw(sim, "GET", "/_sim/stats")[2])["keys"][KEY]
    assert stats["revoked"] is True
    assert stats["events"][-1]["kind"] == "auth"
    raw(sim, "POST", f"/_sim/keys/{KEY}/restore")
    client.messages.create(model=MODEL, max_tokens=5, messages=user("hi"))


# --- raw HTTP: older clients and validation ------------------------------------------------


def test_old_style_client_with_x_api_key(sim: SimulatorThread) -> None:
    body = {"model": MODEL, "max_tokens": 50, "messages": user("hi"), "temperature": 0.2}
    status, headers, data = raw(sim, "POST", "/v1/messages", body, OLD_HEADERS)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    message = orjson.loads(data)
    assert message["type"] == "message"
    assert set(message["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }


def test_raw_stream_has_the_provider_event_sequence(sim: SimulatorThread) -> None:
    body = {"model": MODEL, "max_tokens": 50, "stream": True, "messages": user("[sim:tokens=10]")}
    headers = {**OLD_HEADERS, "accept": "application/json"}  # the SDK's Accept: body decides
    status, response_headers, data = raw(sim, "POST", "/v1/messages", body, headers)
    assert status == 200
    assert response_headers["content-type"] == "text/event-stream"
    assert response_headers["cache-control"] == "no-cache"
    assert response_headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-requests-remaining" in response_headers
    events = sse_events(data)
    names = [name for name, _ in events]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert deltas == 4  # ten words, three per delta
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["usage"]["output_tokens"] == 1
    assert start["usage"]["input_tokens"] == 12
    message_delta = events[-2][1]
    assert message_delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert message_delta["usage"]["output_tokens"] == 10


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        (b"{not json", NEW_HEADERS, 400, "JSON"),
        (b"[1, 2]", NEW_HEADERS, 400, "JSON object"),
        ({"model": MODEL, "max_tokens": 5, "messages": user("x")}, {"x-api-key": KEY}, 400,
         "anthropic-version: header is required"),
        ({"max_tokens": 5, "messages": user("x")}, NEW_HEADERS, 400, "model"),
        ({"model": MODEL, "messages": user("x")}, NEW_HEADERS, 400, "max_tokens"),
        ({"model": MODEL, "max_tokens": "5", "messages": user("x")}, NEW_HEADERS, 400,
         "max_tokens"),
        ({"model": MODEL, "max_tokens": 5, "messages": []}, NEW_HEADERS, 400, "messages"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]},
         NEW_HEADERS, 400, "role"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": 3}]},
         NEW_HEADERS, 400, "content"),
        ({"model": MODEL, "max_tokens": 5, "messages": user("x"), "top_k": 5}, NEW_HEADERS, 400,
         "top_k"),
        ({"model": MODEL, "max_tokens": 5, "messages": user("x"), "temperature": 3},
         OLD_HEADERS, 400, "temperature"),
        ({"model": "gpt-4", "max_tokens": 5, "messages": user("x")}, NEW_HEADERS, 404,
         "gpt-4"),
        ({"model": MODEL, "max_tokens": 5, "messages": user("x")}, {**NEW_HEADERS,
         "authorization": ""}, 401, "required"),
        ({"model": MODEL, "max_tokens": 5, "messages": user("x")}, {**OLD_HEADERS,
         "x-api-key": "sk-unknown"}, 401, "invalid"),
    ],
)  # fmt: skip
def test_validation_errors(
    sim: SimulatorThread, body: Any, headers: dict[str, str], status: int, needle: str
) -> None:
    got_status, got_headers, data = raw(sim, "POST", "/v1/messages", body, headers)
    assert got_status == status
    envelope = orjson.loads(data)
    assert envelope["type"] == "error"
    assert (
        envelope["error"]["type"]
        == {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
        }[status]
    )
    assert needle in envelope["error"]["message"]
    assert envelope["request_id"] == got_headers["request-id"]
    kind = "auth" if status == 401 else "invalid"
    stats = orjson.loads(raw(sim, "GET", "/_sim/stats")[2])
    assert stats["totals"]["status_counts"] == {str(status): 1}
    if status != 401:
        assert stats["keys"][KEY]["events"][0]["kind"] == kind


def test_unknown_fields_are_ignored(sim: SimulatorThread) -> None:
    body = {"model": MODEL, "max_tokens": 5, "messages": user("x"), "some_new_beta": {"a": 1}}
    headers = {**NEW_HEADERS, "anthropic-beta": "future-feature-2027-01-01"}
    assert raw(sim, "POST", "/v1/messages", body, headers)[0] == 200


def test_unknown_route_gets_the_error_envelope(sim: SimulatorThread) -> None:
    status, _, data = raw(sim, "GET", "/v1/nothing-here", headers=NEW_HEADERS)
    assert status == 404
    assert orjson.loads(data)["error"]["type"] == "not_found_error"


def test_models_require_auth_and_version(sim: SimulatorThread) -> None:
    assert raw(sim, "GET", "/v1/models")[0] == 401
    assert raw(sim, "GET", "/v1/models", headers={"x-api-key": KEY})[0] == 400
    status, _, data = raw(sim, "GET", "/v1/models?limit=1", headers=OLD_HEADERS)
    assert status == 200
    page = orjson.loads(data)
    assert page["first_id"] == page["last_id"] == page["data"][0]["id"]
    assert page["data"][0]["type"] == "model"
    assert raw(sim, "GET", "/v1/models?limit=0", headers=OLD_HEADERS)[0] == 400
