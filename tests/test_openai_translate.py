"""Unit tables for the OpenAI ↔ Anthropic translation functions (no servers)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalegate.errors import RateLimitError, UpstreamFailure
from scalegate.openai import (
    DEFAULT_MAX_TOKENS,
    ChunkTranslator,
    OpenAIRequestError,
    render_openai_error,
    translate_message,
    translate_request,
)
from scalegate.sse import SSEParser, format_event

M = "claude-sonnet-4-6"
USER = {"role": "user", "content": "hi"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ANTH_WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


class _AnyText:
    """Equal to any non-empty string (for generated descriptions and instructions)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose


ANY_TEXT: Any = _AnyText()


def text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


def body(**extra: Any) -> dict[str, Any]:
    return {"model": M, "messages": [USER], **extra}


# (name, OpenAI body, the keys of the Anthropic payload that must equal these values)
TRANSLATIONS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "minimal: default max_tokens, content as blocks",
        body(),
        {
            "model": M,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": [text("hi")]}],
        },
    ),
    ("max_completion_tokens", body(max_completion_tokens=50), {"max_tokens": 50}),
    ("max_tokens", body(max_tokens=60), {"max_tokens": 60}),
    ("both, equal", body(max_tokens=70, max_completion_tokens=70), {"max_tokens": 70}),
    ("stop as a string", body(stop="END"), {"stop_sequences": ["END"]}),
    ("stop as a list", body(stop=["a", "b"]), {"stop_sequences": ["a", "b"]}),
    ("stop null", body(stop=None), {"stop_sequences": None}),
    ("sampling", body(temperature=0.5, top_p=0.9), {"temperature": 0.5, "top_p": 0.9}),
    ("top_k via extra_body", body(top_k=5), {"top_k": 5}),
    (
        "thinking via extra_body",
        body(thinking={"type": "enabled", "budget_tokens": 1024}),
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    ),
    ("user → metadata", body(user="u-42"), {"metadata": {"user_id": "u-42"}}),
    (
        "safety_identifier → metadata",
        body(safety_identifier="s-1"),
        {"metadata": {"user_id": "s-1"}},
    ),
    (
        "ignored parameters",
        body(store=True, seed=7, metadata={"a": "b"}, service_tier="auto"),
        {"metadata": None, "seed": None, "store": None},
    ),
    (
        "no-op values of refused parameters",
        body(n=1, logprobs=False, frequency_penalty=0, logit_bias={}),
        {"n": None, "logprobs": None},
    ),
    ("stream", body(stream=True, stream_options={"include_usage": True}), {"stream": True}),
    (
        "system and developer hoisted, in order, wherever they stand",
        {
            "model": M,
            "messages": [
                {"role": "system", "content": "one"},
                USER,
                {"role": "developer", "content": [text("two"), text("")]},
            ],
        },
        {
            "system": [text("one"), text("two")],
            "messages": [{"role": "user", "content": [text("hi")]}],
        },
    ),
    (
        "consecutive same-role turns merged; empty ones dropped",
        {
            "model": M,
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "user", "content": [text("b")]},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "c"},
                {"role": "assistant", "content": "d", "name": "bot"},
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            ],
        },
        {
            "messages": [
                {"role": "user", "content": [text("a"), text("b"), text("c")]},
                {"role": "assistant", "content": [text("d"), text("no")]},
            ]
        },
    ),
    (
        "tool calls and results",
        {
            "model": M,
            "tools": [WEATHER],
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "c2", "content": [text("rain")]},
                {"role": "user", "content": "thanks"},
            ],
        },
        {
            "tools": [ANTH_WEATHER],
            "messages": [
                {"role": "user", "content": [text("hi")]},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "c1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                        {"type": "tool_use", "id": "c2", "name": "get_weather", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "c1", "content": "sunny"},
                        {"type": "tool_result", "tool_use_id": "c2", "content": [text("rain")]},
                        text("thanks"),
                    ],
                },
            ],
        },
    ),
    (
        "tool_choice auto",
        body(tools=[WEATHER], tool_choice="auto"),
        {"tool_choice": {"type": "auto"}},
    ),
    (
        "tool_choice required",
        body(tools=[WEATHER], tool_choice="required"),
        {"tool_choice": {"type": "any"}},
    ),
    (
        "tool_choice none",
        body(tools=[WEATHER], tool_choice="none"),
        {"tool_choice": {"type": "none"}},
    ),
    (
        "tool_choice named",
        body(
            tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}}
        ),
        {"tool_choice": {"type": "tool", "name": "get_weather"}},
    ),
    ("tool_choice without tools is dropped", body(tool_choice="auto"), {"tool_choice": None}),
    (
        "parallel_tool_calls false",
        body(tools=[WEATHER], parallel_tool_calls=False),
        {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
    ),
    (
        "parameters default to an empty object schema",
        body(tools=[{"type": "function", "function": {"name": "now"}}]),
        {"tools": [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]},
    ),
    (
        "images: data URL → base64, https → url",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        text("what is this?"),
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://x.test/a.jpg", "detail": "low"},
                        },
                    ],
                }
            ],
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        text("what is this?"),
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                    ],
                }
            ]
        },
    ),
    (
        "a PDF file_data → document",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "file",
                            "file": {
                                "file_data": "data:application/pdf;base64,JVBE",
                                "filename": "a.pdf",
                            },
                        }
                    ],
                }
            ],
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": "JVBE",
                            },
                        }
                    ],
                }
            ]
        },
    ),
    (
        "json_schema → a forced answer tool",
        body(
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "strict": True,
                    "schema": {"type": "object", "properties": {"x": {"type": "integer"}}},
                },
            }
        ),
        {
            "tools": [
                {
                    "name": "answer",
                    "description": ANY_TEXT,
                    "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}},
                }
            ],
            "tool_choice": {"type": "tool", "name": "answer"},
        },
    ),
    (
        "json_schema with tools the model may call → any",
        body(
            tools=[WEATHER],
            response_format={"type": "json_schema", "json_schema": {"name": "answer"}},
        ),
        {"tool_choice": {"type": "any"}},
    ),
    (
        "json_object → a forced answer tool with a permissive schema",
        {
            "model": M,
            "messages": [{"role": "system", "content": "sys"}, USER],
            "response_format": {"type": "json_object"},
        },
        {
            "system": [text("sys")],
            "tools": [
                {
                    "name": "json_answer",
                    "description": ANY_TEXT,
                    "input_schema": {"type": "object", "additionalProperties": True},
                }
            ],
            "tool_choice": {"type": "tool", "name": "json_answer"},
        },
    ),
    (
        "json_object beside a function named json_answer → a free name, tool_choice any",
        body(
            tools=[{"type": "function", "function": {"name": "json_answer"}}],
            response_format={"type": "json_object"},
        ),
        {"tool_choice": {"type": "any"}},
    ),
    (
        "response_format text",
        body(response_format={"type": "text"}),
        {"system": None, "tools": None},
    ),
]


@pytest.mark.parametrize(
    ("name", "openai_body", "expected"), TRANSLATIONS, ids=[t[0] for t in TRANSLATIONS]
)
def test_translate_request(
    name: str, openai_body: dict[str, Any], expected: dict[str, Any]
) -> None:
    payload = translate_request(openai_body).payload
    for key, value in expected.items():
        assert payload.get(key) == value, key
    orjson.dumps(payload)  # always serialisable


def test_translation_flags() -> None:
    tr = translate_request(body(stream=True, stream_options={"include_usage": True}))
    assert (tr.stream, tr.include_usage, tr.answer_tool, tr.dropped) == (True, True, None, ())
    schema = {"type": "json_schema", "json_schema": {"name": "out"}}
    assert translate_request(body(response_format=schema)).answer_tool == "out"
    json_object = {"type": "json_object"}
    assert translate_request(body(response_format=json_object)).answer_tool == "json_answer"
    named = [{"type": "function", "function": {"name": "json_answer"}}]
    tr = translate_request(body(tools=named, response_format=json_object))
    assert tr.answer_tool == "json_answer_1"
    assert [tool["name"] for tool in tr.payload["tools"]] == ["json_answer", "json_answer_1"]


def test_sampling_is_dropped_when_the_api_version_rejects_it() -> None:
    tr = translate_request(body(temperature=0.2, top_p=0.5, top_k=3), "2026-10-21")
    assert tr.dropped == ("temperature", "top_p", "top_k")
    assert not {"temperature", "top_p", "top_k"} & tr.payload.keys()


# (name, OpenAI body, param named in the error, a word of the message)
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    ("n > 1", body(n=2), "n", "n must be 1"),
    ("logprobs", body(logprobs=True), "logprobs", "log probabilities"),
    ("top_logprobs", body(top_logprobs=3), "top_logprobs", "log probabilities"),
    ("audio", body(audio={"voice": "alloy", "format": "wav"}), "audio", "audio"),
    ("modalities audio", body(modalities=["text", "audio"]), "modalities", "text"),
    ("frequency_penalty", body(frequency_penalty=0.5), "frequency_penalty", "penalty"),
    ("presence_penalty", body(presence_penalty=-1), "presence_penalty", "penalty"),
    ("logit_bias", body(logit_bias={"50256": -100}), "logit_bias", "logit bias"),
    ("prediction", body(prediction={"type": "content", "content": "x"}), "prediction", "predicted"),
    ("functions", body(functions=[{"name": "f"}]), "functions", "use tools"),
    ("reasoning_effort", body(reasoning_effort="high"), "reasoning_effort", "thinking"),
    ("unknown parameter", body(frobnicate=1), "frobnicate", "Unrecognized request argument"),
    ("temperature > 1", body(temperature=1.5), "temperature", "0 to 1"),
    ("temperature > 2", body(temperature=3), "temperature", "between 0 and 2"),
    ("missing model", {"messages": [USER]}, "model", "Field required"),
    ("missing messages", {"model": M}, "messages", "Field required"),
    ("empty messages", {"model": M, "messages": []}, "messages", "at least one"),
    (
        "only a system message",
        {"model": M, "messages": [{"role": "system", "content": "x"}]},
        "messages",
        "user or assistant",
    ),
    (
        "bad role",
        {"model": M, "messages": [{"role": "robot", "content": "x"}]},
        "messages[0].role",
        "robot",
    ),
    (
        "function role",
        {"model": M, "messages": [{"role": "function", "name": "f", "content": "x"}]},
        "messages[0].role",
        "deprecated",
    ),
    ("max_tokens 0", body(max_tokens=0), "max_tokens", "positive integer"),
    ("max_tokens conflict", body(max_tokens=5, max_completion_tokens=6), "max_tokens", "only one"),
    ("stop empty", body(stop=[""]), "stop", "non-empty"),
    (
        "stream_options without stream",
        body(stream_options={"include_usage": True}),
        "stream_options",
        "stream",
    ),
    ("stream not a bool", body(stream="yes"), "stream", "boolean"),
    (
        "invalid tool-call arguments",
        {
            "model": M,
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{city: Paris"},
                        }
                    ],
                },
            ],
        },
        "messages[1].tool_calls[0].function.arguments",
        "not valid JSON",
    ),
    (
        "tool-call arguments not an object",
        {
            "model": M,
            "messages": [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "[1]"},
                        }
                    ],
                },
            ],
        },
        "messages[1].tool_calls[0].function.arguments",
        "JSON object",
    ),
    (
        "tool message without id",
        {"model": M, "messages": [USER, {"role": "tool", "content": "x"}]},
        "messages[1].tool_call_id",
        "Field required",
    ),
    (
        "audio input",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
                    ],
                }
            ],
        },
        "messages[0].content[0]",
        "audio",
    ),
    (
        "image type",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}
                    ],
                }
            ],
        },
        "messages[0].content[0].image_url.url",
        "image/tiff",
    ),
    (
        "image not base64",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}],
                }
            ],
        },
        "messages[0].content[0].image_url.url",
        "base64",
    ),
    (
        "image ftp URL",
        {
            "model": M,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}],
                }
            ],
        },
        "messages[0].content[0].image_url.url",
        "http(s)",
    ),
    (
        "file id",
        {
            "model": M,
            "messages": [
                {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}
            ],
        },
        "messages[0].content[0].file.file_id",
        "file_data",
    ),
    (
        "custom tool",
        body(tools=[{"type": "custom", "custom": {"name": "x"}}]),
        "tools[0].type",
        "function",
    ),
    ("required without tools", body(tool_choice="required"), "tool_choice", "at least one tool"),
    (
        "named tool missing",
        body(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}}),
        "tool_choice.function.name",
        "nope",
    ),
    (
        "allowed_tools",
        body(tools=[WEATHER], tool_choice={"type": "allowed_tools", "allowed_tools": {}}),
        "tool_choice",
        "named function",
    ),
    (
        "json_schema root not an object",
        body(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "n", "schema": {"type": "array"}},
            }
        ),
        "response_format.json_schema.schema",
        "object",
    ),
    (
        "json_schema without a name",
        body(response_format={"type": "json_schema", "json_schema": {}}),
        "response_format.json_schema.name",
        "Field required",
    ),
    (
        "unknown response_format",
        body(response_format={"type": "grammar"}),
        "response_format.type",
        "json_schema",
    ),
]


@pytest.mark.parametrize(
    ("name", "openai_body", "param", "needle"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_what_does_not_translate_is_a_400_naming_the_field(
    name: str, openai_body: dict[str, Any], param: str, needle: str
) -> None:
    with pytest.raises(OpenAIRequestError) as info:
        translate_request(openai_body)
    assert info.value.status == 400
    assert info.value.param == param
    assert needle in info.value.message


def message(*blocks: dict[str, Any], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_01abc",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6-20250101",
        "content": list(blocks),
        "stop_reason": stop,
        "usage": {"input_tokens": 10, "output_tokens": 4, **usage},
    }


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("something_new", "stop"),
    ],
)
def test_finish_reasons(stop_reason: str, finish: str) -> None:
    completion = translate_message(message(text("x"), stop=stop_reason))
    assert completion["choices"][0]["finish_reason"] == finish


def test_translate_message_text_and_usage() -> None:
    completion = translate_message(
        message(
            text("Hello"), text(" world"), cache_creation_input_tokens=5, cache_read_input_tokens=20
        ),
        created=123,
    )
    assert completion["id"] == "chatcmpl-01abc"
    assert completion["object"] == "chat.completion"
    assert completion["created"] == 123
    assert completion["model"] == "claude-sonnet-4-6-20250101"
    choice = completion["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello world", "refusal": None}
    assert completion["usage"] == {
        "prompt_tokens": 35,
        "completion_tokens": 4,
        "total_tokens": 39,
        "prompt_tokens_details": {"cached_tokens": 20},
    }


def test_translate_message_tool_calls() -> None:
    completion = translate_message(message(text("Let me look."), TOOL_USE, stop="tool_use"))
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me look."
    (call,) = choice["message"]["tool_calls"]
    assert call == {
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }


def test_translate_message_answer_tool_becomes_the_content() -> None:
    answer = {"type": "tool_use", "id": "toolu_2", "name": "answer", "input": {"x": 1}}
    completion = translate_message(message(text("Sure:"), answer, stop="tool_use"), "answer")
    choice = completion["choices"][0]
    assert choice["message"]["content"] == '{"x":1}'
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"


def events(*pairs: tuple[str, dict[str, Any]]) -> list[Any]:
    raw = b"".join(format_event(name, data) for name, data in pairs)
    return list(SSEParser().feed(raw))


def frames_of(translator: ChunkTranslator, evs: list[Any]) -> list[Any]:
    out: list[bytes] = []
    for event in evs:
        out.extend(translator.feed(event))
    out.extend(translator.close())
    docs: list[Any] = []
    for f in out:
        assert f.startswith(b"data: ")
        assert f.endswith(b"\n\n")
        data = f[6:-2]
        docs.append("[DONE]" if data == b"[DONE]" else orjson.loads(data))
    return docs


def block_start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_start", {
        "type": "content_block_start",
        "index": index,
        "content_block": block,
    }


def block_delta(index: int, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def text_delta(index: int, t: str) -> tuple[str, dict[str, Any]]:
    return block_delta(index, {"type": "text_delta", "text": t})


def json_delta(index: int, partial: str) -> tuple[str, dict[str, Any]]:
    return block_delta(index, {"type": "input_json_delta", "partial_json": partial})


def tool_start(index: int, tool_id: str, name: str) -> tuple[str, dict[str, Any]]:
    return block_start(index, {"type": "tool_use", "id": tool_id, "name": name, "input": {}})


def message_delta(stop_reason: str, output_tokens: int) -> tuple[str, dict[str, Any]]:
    data = {"stop_reason": stop_reason}
    return "message_delta", {
        "type": "message_delta",
        "delta": data,
        "usage": {"output_tokens": output_tokens},
    }


START = (
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_s1",
            "model": M,
            "usage": {"input_tokens": 7, "cache_read_input_tokens": 3, "output_tokens": 1},
        },
    },
)
STOP = ("message_stop", {"type": "message_stop"})


def test_chunk_translator_text_with_usage() -> None:
    evs = events(
        START,
        ("ping", {"type": "ping"}),
        block_start(0, text("")),
        text_delta(0, "Hi"),
        text_delta(0, " there"),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        message_delta("max_tokens", 2),
        STOP,
    )
    docs = frames_of(ChunkTranslator(include_usage=True), evs)
    assert docs[-1] == "[DONE]"
    chunks = docs[:-1]
    assert {c["id"] for c in chunks} == {"chatcmpl-s1"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert deltas == ["Hi", " there"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 10
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 3}


def test_chunk_translator_tool_calls_and_thinking_skipped() -> None:
    evs = events(
        START,
        block_start(0, {"type": "thinking", "thinking": ""}),
        block_delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
        tool_start(1, "toolu_a", "f"),
        json_delta(1, '{"a":'),
        json_delta(1, "1}"),
        tool_start(2, "toolu_b", "g"),
        json_delta(2, "{}"),
        message_delta("tool_use", 9),
        STOP,
    )
    docs = frames_of(ChunkTranslator(), evs)
    assert docs[-1] == "[DONE]"
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in docs[:-1]
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls == [
        {
            "index": 0,
            "id": "toolu_a",
            "type": "function",
            "function": {"name": "f", "arguments": ""},
        },
        {"index": 0, "function": {"arguments": '{"a":'}},
        {"index": 0, "function": {"arguments": "1}"}},
        {
            "index": 1,
            "id": "toolu_b",
            "type": "function",
            "function": {"name": "g", "arguments": ""},
        },
        {"index": 1, "function": {"arguments": "{}"}},
    ]
    assert docs[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert "usage" not in docs[-2]  # without include_usage no usage field at all


def test_chunk_translator_answer_tool_streams_as_content() -> None:
    evs = events(
        START,
        tool_start(0, "toolu_a", "out"),
        json_delta(0, '{"x": 1}'),
        message_delta("tool_use", 3),
        STOP,
    )
    docs = frames_of(ChunkTranslator(answer_tool="out"), evs)
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in docs[:-1])
    assert orjson.loads(content) == {"x": 1}
    assert docs[-2]["choices"][0]["finish_reason"] == "stop"


def test_chunk_translator_error_event_and_broken_stream() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    docs = frames_of(ChunkTranslator(), events(START, ("error", overloaded)))
    assert docs[-1] == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "param": None,
            "code": "overloaded_error",
        }
    }
    assert "[DONE]" not in docs
    docs = frames_of(ChunkTranslator(), events(START))  # upstream ended without message_stop
    assert docs[-1]["error"]["code"] == "upstream_incomplete"
    assert "[DONE]" not in docs


def test_render_openai_error() -> None:
    status, raw, headers = render_openai_error(
        RateLimitError("busy", retry_after=2.5, should_retry=True), "req_1"
    )
    assert status == 429
    assert orjson.loads(raw) == {
        "error": {
            "message": "busy",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert headers == {
        "request-id": "req_1",
        "x-request-id": "req_1",
        "retry-after": "3",
        "x-should-retry": "true",
    }
    upstream = orjson.dumps(
        {"type": "error", "error": {"type": "not_found_error", "message": "model: x"}}
    )
    status, raw, _ = render_openai_error(UpstreamFailure(404, upstream), "req_2")
    assert status == 404
    assert orjson.loads(raw)["error"] == {
        "message": "model: x",
        "type": "invalid_request_error",
        "param": None,
        "code": "not_found_error",
    }


# -- never anything but a 400 for bad input -----------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers(-3, 5) | st.floats(-1, 3) | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "text", "role", "content", "url", "name", "id", "function"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_PART = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "file", "refusal", "input_audio", "x"])},
    optional={"text": _JSON, "image_url": _JSON, "file": _JSON, "refusal": _JSON},
)
_MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "x"])},
    optional={
        "content": st.none() | st.text(max_size=5) | st.lists(_PART, max_size=3) | _JSON,
        "tool_calls": _JSON
        | st.lists(st.fixed_dictionaries({"function": _JSON}, optional={"id": _JSON})),
        "tool_call_id": _JSON,
        "refusal": _JSON,
    },
)
_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": st.just(M) | _JSON,
        "messages": st.lists(_MESSAGE, max_size=4) | _JSON,
        "tools": st.lists(st.just(WEATHER) | _JSON, max_size=2) | _JSON,
        "tool_choice": st.sampled_from(["auto", "required", "none"]) | _JSON,
        "response_format": _JSON,
        "stop": _JSON,
        "max_tokens": _JSON,
        "temperature": _JSON,
        "stream": _JSON,
        "stream_options": _JSON,
        "parallel_tool_calls": _JSON,
        "user": _JSON,
        "n": _JSON,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_BODY)
def test_any_body_translates_or_is_a_400(openai_body: dict[str, Any]) -> None:
    error: OpenAIRequestError | None = None
    try:
        payload = translate_request(openai_body).payload
    except OpenAIRequestError as exc:
        error = exc
    if error is not None:
        assert error.status == 400
        assert error.message.startswith(f"{error.param}: ") or "Unrecognized" in error.message
        return
    assert payload["messages"]
    orjson.dumps(payload)
