"""The simulator speaks today's API: system messages, structured outputs, thinking, per-model
output ceilings, cache-aware and class-pooled rate limits, 429 headers, ``HEAD /``.

A real simulator on 127.0.0.1 (``SimulatorThread``) with a manual clock, so buckets refill
only when a test says so; raw HTTP where the wire shape is the point, the official SDK where
a client's view is. Facts these tests encode are sourced in ``docs/provider-facts.md``.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, Literal

import anthropic
import jsonschema  # type: ignore[import-untyped]  # no stubs; a test dependency (via kubernetes-validate)
import orjson
import pydantic
import pytest

from scalegate.clock import ManualClock
from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorThread
from scalegate.sse import SSEParser

KEY = "sk-sim-modern"
MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GENEROUS = SimKeyLimits(rpm=1000, itpm=10_000_000, otpm=10_000_000)

Start = Callable[[SimKeyLimits], SimulatorThread]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def start(clock: ManualClock) -> Iterator[Start]:
    threads: list[SimulatorThread] = []

    def _start(limits: SimKeyLimits = GENEROUS) -> SimulatorThread:
        thread = SimulatorThread(SimulatorConfig(keys={KEY: limits}), clock=clock).start()
        threads.append(thread)
        return thread

    yield _start
    for thread in threads:
        thread.stop()


@pytest.fixture
def sim(start: Start) -> SimulatorThread:
    return start(GENEROUS)


@pytest.fixture
def client(sim: SimulatorThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key=KEY, base_url=sim.url, max_retries=0) as c:
        yield c


def call(
    sim: SimulatorThread, body: Any, method: str = "POST", path: str = "/v1/messages"
) -> tuple[int, dict[str, str], bytes]:
    url = urllib.parse.urlsplit(sim.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        payload = None if body is None else orjson.dumps(body)
        conn.request(method, path, body=payload, headers={**HEADERS, "content-type": "json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def ask(text: str = "hi", *, model: str = MODEL, max_tokens: int = 500, **extra: Any) -> Any:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def events(data: bytes) -> list[tuple[str | None, Any]]:
    return [(e.event, e.json()) for e in SSEParser().feed(data)]


# --- what the current API accepts --------------------------------------------------------


def test_system_role_inside_messages_is_accepted(sim: SimulatorThread) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "system", "content": [{"type": "text", "text": "Be brief from now on."}]},
    ]
    status, _, data = call(sim, {**ask(), "messages": messages})
    assert status == 200, data
    assert orjson.loads(data)["content"][0]["type"] == "text"


def test_sdk_sends_a_system_message(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "system", "content": "Answer in one line."},
        ],
    )
    assert message.stop_reason == "end_turn"


def test_unknown_block_types_are_accepted_and_ignored(sim: SimulatorThread) -> None:
    plain = ask("what is new [sim:tokens=9]")
    extended = ask()
    extended["messages"] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is new [sim:tokens=9]"},
                {"type": "hologram_2027", "payload": {"x": 1}},
            ],
        }
    ]
    one, two = call(sim, plain), call(sim, extended)
    assert one[0] == two[0] == 200, two[2]
    assert orjson.loads(one[2])["content"] == orjson.loads(two[2])["content"]


def test_head_root_answers_200(sim: SimulatorThread) -> None:
    status, _, data = call(sim, None, method="HEAD", path="/")
    assert status == 200
    assert data == b""


# --- structured outputs ----------------------------------------------------------------------

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 12},
        "count": {"type": "integer", "minimum": 3, "maximum": 7},
        "score": {"type": "number", "exclusiveMinimum": 0},
        "ok": {"type": "boolean"},
        "level": {"enum": ["low", "mid", "high"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "owner": {"$ref": "#/$defs/Person"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "version": {"const": 2},
        "when": {"type": "string", "format": "date-time"},
        "optional": {"type": "string"},
    },
    "required": [
        "name", "count", "score", "ok", "level", "tags", "owner", "either", "version", "when",
    ],
    "additionalProperties": False,
    "$defs": {
        "Person": {
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "age": {"type": "integer"},
            },
            "required": ["email", "age"],
            "additionalProperties": False,
        }
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "shape",
    [
        {"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}},
        {"output_format": {"type": "json_schema", "schema": SCHEMA}},  # the older beta field
    ],
    ids=["output_config.format", "output_format"],
)
def test_structured_output_is_json_valid_for_the_schema(
    sim: SimulatorThread, shape: dict[str, Any]
) -> None:
    status, _, data = call(sim, ask("extract", **shape))
    assert status == 200, data
    message = orjson.loads(data)
    [block] = message["content"]
    answer = orjson.loads(block["text"])
    jsonschema.validate(answer, SCHEMA)
    assert answer["version"] == 2
    assert "optional" not in answer  # minimal: required properties only
    assert message["usage"]["output_tokens"] == -(-len(block["text"].encode()) // 4)
    assert call(sim, ask("extract", **shape))[2] != b""  # and deterministic:
    assert orjson.loads(call(sim, ask("extract", **shape))[2])["content"] == message["content"]


def test_structured_output_streams_as_text_deltas(sim: SimulatorThread) -> None:
    fmt: dict[str, Any] = {"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}
    whole = orjson.loads(call(sim, ask("extract", **fmt))[2])["content"][0]["text"]
    status, _, data = call(sim, ask("extract", stream=True, **fmt))
    assert status == 200
    deltas = [d["delta"] for e, d in events(data) if e == "content_block_delta"]
    assert len(deltas) > 1
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == whole


def test_structured_output_cut_by_max_tokens(sim: SimulatorThread) -> None:
    fmt: dict[str, Any] = {"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}
    message = orjson.loads(call(sim, ask("extract", max_tokens=5, **fmt))[2])
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["output_tokens"] == 5


def test_bad_format_type_is_a_400(sim: SimulatorThread) -> None:
    body = ask(output_config={"format": {"type": "xml", "schema": {}}})
    status, _, data = call(sim, body)
    assert status == 400
    assert "output_config.format.type" in orjson.loads(data)["error"]["message"]


class Address(pydantic.BaseModel):
    city: str
    postcode: int


class Contact(pydantic.BaseModel):
    name: str
    kind: Literal["person", "company"]
    emails: list[str]
    address: Address
    nickname: str | None


def test_sdk_parse_returns_the_pydantic_model(client: anthropic.Anthropic) -> None:
    parsed = client.messages.parse(
        model=MODEL,
        max_tokens=1000,
        messages=[{"role": "user", "content": "Extract the contact"}],
        output_format=Contact,
    )
    contact = parsed.parsed_output
    assert isinstance(contact, Contact)
    assert isinstance(contact.address, Address)
    assert contact.kind in ("person", "company")
    assert contact.emails


# --- thinking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "thinking",
    [{"type": "enabled", "budget_tokens": 2000}, {"type": "adaptive"}],
    ids=["enabled", "adaptive"],
)
def test_thinking_block_comes_first_with_a_signature(
    sim: SimulatorThread, thinking: dict[str, Any]
) -> None:
    message = orjson.loads(
        call(sim, ask("why? [sim:tokens=12]", max_tokens=4000, thinking=thinking))[2]
    )
    first, second = message["content"]
    assert first["type"] == "thinking"
    assert first["thinking"]
    assert first["signature"]
    assert second == {"type": "text", "text": second["text"]}
    assert len(second["text"].split(" ")) == 12
    thought = len(first["thinking"].split(" "))
    assert message["usage"]["output_tokens"] == thought + 12


def test_thinking_streams_thinking_and_signature_deltas(sim: SimulatorThread) -> None:
    body = ask("why? [sim:tokens=12]", max_tokens=4000, thinking={"type": "adaptive"})
    whole = orjson.loads(call(sim, body)[2])
    status, _, data = call(sim, {**body, "stream": True})
    assert status == 200
    seq = events(data)
    start = next(d for e, d in seq if e == "content_block_start" and d["index"] == 0)
    assert start["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    block0 = [d["delta"] for e, d in seq if e == "content_block_delta" and d["index"] == 0]
    assert [d["type"] for d in block0[:-1]] == ["thinking_delta"] * (len(block0) - 1)
    assert block0[-1] == {"type": "signature_delta", "signature": whole["content"][0]["signature"]}
    assert "".join(d["thinking"] for d in block0[:-1]) == whole["content"][0]["thinking"]
    names = [e for e, _ in seq]
    stop0 = next(i for i, (e, d) in enumerate(seq) if e == "content_block_stop" and d["index"] == 0)
    assert seq[stop0 - 1][1]["delta"]["type"] == "signature_delta"  # just before the stop
    assert names.count("content_block_start") == 2
    final = next(d for e, d in seq if e == "message_delta")
    assert final["usage"]["output_tokens"] == whole["usage"]["output_tokens"]


def test_sdk_stream_accumulates_the_thinking_block(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think first"}],
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].type == "thinking"
    assert message.content[0].signature
    assert message.content[1].type == "text"


def test_omitted_thinking_keeps_the_signature_only(sim: SimulatorThread) -> None:
    body = ask(thinking={"type": "adaptive", "display": "omitted"})
    message = orjson.loads(call(sim, body)[2])
    assert message["content"][0]["thinking"] == ""
    assert message["content"][0]["signature"]
    _, _, data = call(sim, {**body, "stream": True})
    deltas = [d["delta"]["type"] for e, d in events(data) if e == "content_block_delta"]
    assert "thinking_delta" not in deltas
    assert "signature_delta" in deltas


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "needle"),
    [
        ({"type": "enabled", "budget_tokens": 500}, 4000, "budget_tokens"),
        ({"type": "enabled", "budget_tokens": 4000}, 4000, "max_tokens"),
        ({"type": "enabled"}, 4000, "budget_tokens"),
        ({"type": "sometimes"}, 4000, "thinking.type"),
    ],
)
def test_invalid_thinking_is_a_400(
    sim: SimulatorThread, thinking: Any, max_tokens: int, needle: str
) -> None:
    status, _, data = call(sim, ask(max_tokens=max_tokens, thinking=thinking))
    assert status == 400
    assert needle in orjson.loads(data)["error"]["message"]


# --- per-model output ceilings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "ceiling"),
    [
        ("claude-haiku-4-5", 64_000),
        ("claude-sonnet-4-5", 64_000),
        ("claude-opus-4-5", 64_000),
        ("claude-sonnet-4-6", 128_000),
        ("claude-opus-4-8", 128_000),
        ("claude-opus-5-5", 128_000),
    ],
)
def test_max_tokens_ceiling_is_the_models_own(
    sim: SimulatorThread, model: str, ceiling: int
) -> None:
    assert call(sim, ask("[sim:tokens=3]", model=model, max_tokens=ceiling))[0] == 200
    status, _, data = call(sim, ask("[sim:tokens=3]", model=model, max_tokens=ceiling + 1))
    assert status == 400
    message = orjson.loads(data)["error"]["message"]
    assert f"max_tokens: {ceiling + 1} > {ceiling}" in message


def test_models_endpoint_reports_each_models_limits(sim: SimulatorThread) -> None:
    status, _, data = call(sim, None, method="GET", path="/v1/models/claude-haiku-4-5")
    assert status == 200
    info = orjson.loads(data)
    assert (info["max_tokens"], info["max_input_tokens"]) == (64_000, 200_000)
    info = orjson.loads(call(sim, None, method="GET", path="/v1/models/claude-opus-4-8")[2])
    assert (info["max_tokens"], info["max_input_tokens"]) == (128_000, 1_000_000)


# --- rate limits ------------------------------------------------------------------------------


def cached_ask(text: str) -> Any:
    system = [{"type": "text", "text": "s" * 8000, "cache_control": {"type": "ephemeral"}}]
    return ask(text, max_tokens=10, system=system)


def test_cache_reads_do_not_count_toward_itpm(start: Start) -> None:
    sim = start(SimKeyLimits(rpm=100, itpm=3000, otpm=100_000))
    status, headers, data = call(sim, cached_ask("a"))  # writes ~2000 tokens to the cache
    assert status == 200, data
    usage = orjson.loads(data)["usage"]
    assert usage["cache_creation_input_tokens"] > 1900
    written = usage["cache_creation_input_tokens"] + usage["input_tokens"]
    assert sim.simulator.stats.snapshot(0, set())["keys"][KEY]["input_tokens"] == written
    for text in ("b", "c", "d"):  # each reads the prefix: only its few uncached tokens count
        status, headers, data = call(sim, cached_ask(text))
        assert status == 200, data
        assert (
            orjson.loads(data)["usage"]["cache_read_input_tokens"]
            == usage["cache_creation_input_tokens"]
        )
    # without the cache, the same prompt (≈2000 tokens) no longer fits in what is left
    status, headers, _ = call(sim, ask("s" * 8000, max_tokens=10))
    assert status == 429
    assert headers["retry-after"]


def test_models_of_one_class_share_the_keys_buckets(start: Start) -> None:
    sim = start(SimKeyLimits(rpm=2))
    assert call(sim, ask(model="claude-opus-4-6"))[0] == 200
    assert call(sim, ask(model="claude-opus-4-8"))[0] == 200
    status, headers, data = call(sim, ask(model="claude-opus-4-5"))  # Opus 4.x: one budget
    assert status == 429, data
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    # other classes have budgets of their own
    for model in ("claude-sonnet-4-6", "claude-opus-5-5", "claude-haiku-4-5"):
        status, headers, _ = call(sim, ask(model=model))
        assert status == 200, model
        assert headers["anthropic-ratelimit-requests-remaining"] == "1"


def test_a_429_carries_ratelimit_headers_and_retry_after(start: Start) -> None:
    sim = start(SimKeyLimits(rpm=1, itpm=50_000, otpm=20_000))
    assert call(sim, ask())[0] == 200
    status, headers, data = call(sim, ask())
    assert status == 429
    assert orjson.loads(data)["error"]["type"] == "rate_limit_error"
    assert int(headers["retry-after"]) >= 1
    for name in ("requests", "input-tokens", "output-tokens", "tokens"):
        for field in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{name}-{field}" in headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
