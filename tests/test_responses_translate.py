"""The OpenAI Responses API ↔ Anthropic Messages translation (no servers).

Besides tables of bodies and payloads, the translated ``response`` objects and stream
events go through the installed ``openai`` SDK — its pydantic types, and a real
``OpenAI`` client over an in-process transport (``responses.create``, ``responses.parse``,
``responses.stream``) — so a shape the SDK would reject fails here.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import ANY

import httpx2 as httpx
import openai
import orjson
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.responses import Response, ResponseStreamEvent

from scalegate.cache.replay import message_events
from scalegate.openai import OpenAIRequestError, translate_message, translate_request
from scalegate.openai.request import DEFAULT_MAX_TOKENS
from scalegate.openai.responses import (
    ResponsesStreamTranslator,
    ResponsesTranslation,
    translate_message_to_response,
    translate_responses_request,
)
from scalegate.sse import SSEEvent, SSEParser, format_event

M = "claude-sonnet-4-6"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}
ANTH_WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "degrees": {"type": "integer"}},
    "required": ["city", "degrees"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "name": "forecast", "schema": SCHEMA, "strict": True}
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


def text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


def translate(**fields: Any) -> ResponsesTranslation:
    return translate_responses_request({"model": M, "input": "hi", **fields})


def payload_of(**fields: Any) -> dict[str, Any]:
    return translate(**fields).payload


def message(*blocks: dict[str, Any], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_01abc",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6-20250101",
        "content": list(blocks),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 4, **usage},
    }


TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}


# -- requests -------------------------------------------------------------------------------


def test_string_input_and_defaults() -> None:
    tr = translate()
    assert tr.payload == {
        "model": M,
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": [text("hi")]}],
    }
    assert (tr.model, tr.max_tokens, tr.stream, tr.answer_tool, tr.dropped) == (
        M,
        DEFAULT_MAX_TOKENS,
        False,
        None,
        (),
    )


def test_message_list_instructions_and_roles() -> None:
    tr = translate_responses_request(
        {
            "model": M,
            "instructions": "Be brief.",
            "input": [
                {"role": "developer", "content": "Use metric units."},
                {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                {"type": "message", "role": "user", "content": "there"},
                {
                    "type": "message",
                    "id": "msg_x",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "Hello!", "annotations": []}],
                },
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"role": "system", "content": [{"type": "input_text", "text": "Stay kind."}]},
                {"role": "user", "content": "Weather?"},
            ],
            "max_output_tokens": 200,
            "temperature": 0.5,
            "top_p": 0.9,
            "stream": True,
            "store": True,
            "metadata": {"a": "b"},
            "truncation": "auto",
            "service_tier": "auto",
            "prompt_cache_key": "k",
            "include": ["reasoning.encrypted_content"],
            "parallel_tool_calls": True,
            "user": "u-1",
        }
    )
    assert tr.stream
    assert tr.max_tokens == 200
    assert tr.payload == {
        "model": M,
        "max_tokens": 200,
        "stream": True,
        "temperature": 0.5,
        "top_p": 0.9,
        "metadata": {"user_id": "u-1"},
        "system": [text("Be brief."), text("Use metric units."), text("Stay kind.")],
        "messages": [
            {"role": "user", "content": [text("Hi"), text("there")]},
            {"role": "assistant", "content": [text("Hello!")]},
            {"role": "user", "content": [text("Weather?")]},
        ],
    }


def test_images_and_files() -> None:
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "low"},
        {
            "type": "input_file",
            "filename": "a.pdf",
            "file_data": "data:application/pdf;base64,JVBE",
        },
        {"type": "input_file", "file_url": "https://example.com/b.pdf"},
    ]
    payload = payload_of(input=[{"role": "user", "content": content}])
    assert payload["messages"][0]["content"] == [
        text("What is this?"),
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
        },
        {"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"}},
    ]


def test_tools_and_tool_choice() -> None:
    payload = payload_of(tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)
    assert payload["tools"] == [ANTH_WEATHER]
    assert payload["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    named = payload_of(tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})
    assert named["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert payload_of(tools=[WEATHER], tool_choice="none")["tool_choice"] == {"type": "none"}
    assert payload_of(tools=[WEATHER], tool_choice="auto")["tool_choice"] == {"type": "auto"}
    bare = payload_of(tools=[{"type": "function", "name": "ping", "parameters": None}])
    assert bare["tools"] == [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]


def test_text_formats_add_a_forced_answer_tool() -> None:
    tr = translate(text={"format": JSON_SCHEMA_FORMAT})
    assert tr.answer_tool == "forecast"
    (tool,) = tr.payload["tools"]
    assert tool["name"] == "forecast"
    assert tool["input_schema"] == SCHEMA
    assert tr.payload["tool_choice"] == {"type": "tool", "name": "forecast"}

    tr = translate(text={"format": {"type": "json_object"}})
    assert tr.answer_tool == "json_answer"
    assert tr.payload["tools"][0]["input_schema"] == {
        "type": "object",
        "additionalProperties": True,
    }
    assert tr.payload["tool_choice"] == {"type": "tool", "name": "json_answer"}

    tr = translate(text={"format": {"type": "json_object"}}, tools=[WEATHER])
    assert [t["name"] for t in tr.payload["tools"]] == ["get_weather", "json_answer"]
    assert tr.payload["tool_choice"] == {"type": "any"}

    tr = translate(text={"format": {"type": "text"}, "verbosity": "medium"})
    assert tr.answer_tool is None
    assert "tools" not in tr.payload


def test_sampling_is_dropped_when_the_api_version_rejects_it() -> None:
    tr = translate_responses_request(
        {"model": M, "input": "hi", "temperature": 0.2, "top_k": 3}, "2026-10-21"
    )
    assert tr.dropped == ("temperature", "top_k")
    assert "temperature" not in tr.payload
    assert "top_k" not in tr.payload


# (name, fields over a minimal body, param named in the error, a word of the message)
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "previous_response_id",
        {"previous_response_id": "resp_1"},
        "previous_response_id",
        "stateless",
    ),
    ("conversation", {"conversation": "conv_1"}, "conversation", "whole conversation"),
    ("background", {"background": True}, "background", "stateless"),
    ("stored prompt", {"prompt": {"id": "pmpt_1"}}, "prompt", "stored prompts"),
    ("reasoning effort", {"reasoning": {"effort": "high"}}, "reasoning", "thinking"),
    ("thinking", {"thinking": {"type": "enabled"}}, "thinking", "thinking"),
    ("top_logprobs", {"top_logprobs": 2}, "top_logprobs", "log probabilities"),
    ("unknown parameter", {"frobnicate": 1}, "frobnicate", "Unrecognized request argument"),
    ("web_search tool", {"tools": [{"type": "web_search"}]}, "tools[0].type", "built-in"),
    ("file_search tool", {"tools": [{"type": "file_search"}]}, "tools[0].type", "function"),
    (
        "computer tool",
        {"tools": [{"type": "computer_use_preview"}]},
        "tools[0].type",
        "computer",
    ),
    ("function without a name", {"tools": [{"type": "function"}]}, "tools[0].name", "required"),
    ("tool_choice builtin", {"tool_choice": {"type": "web_search_preview"}}, "tool_choice", "auto"),
    (
        "tool_choice unknown function",
        {"tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}},
        "tool_choice.name",
        "nope",
    ),
    ("tool_choice required without tools", {"tool_choice": "required"}, "tool_choice", "tool"),
    ("text.verbosity", {"text": {"verbosity": "high"}}, "text.verbosity", "translate"),
    ("text.format unknown", {"text": {"format": {"type": "grammar"}}}, "text.format.type", "json"),
    (
        "json_schema without a name",
        {"text": {"format": {"type": "json_schema", "schema": SCHEMA}}},
        "text.format.name",
        "required",
    ),
    (
        "json_schema with an array root",
        {"text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "array"}}}},
        "text.format.schema",
        "object",
    ),
    ("temperature > 1", {"temperature": 1.5}, "temperature", "0 to 1"),
    ("max_output_tokens 0", {"max_output_tokens": 0}, "max_output_tokens", "positive"),
    ("stream not a bool", {"stream": "yes"}, "stream", "boolean"),
    ("missing model", {"model": None}, "model", "required"),
    ("missing input", {"input": None}, "input", "required"),
    ("empty input", {"input": []}, "input", "at least one"),
    ("only instructions", {"input": [{"role": "system", "content": "x"}]}, "input", "user"),
    ("bad role", {"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "robot"),
    (
        "item_reference",
        {"input": [{"type": "item_reference", "id": "msg_1"}]},
        "input[0].type",
        "stateless",
    ),
    (
        "built-in tool call item",
        {"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]},
        "input[0].type",
        "web_search_call",
    ),
    (
        "image file_id",
        {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
        "input[0].content[0].file_id",
        "file store",
    ),
    (
        "image of an unsupported type",
        {
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_image", "image_url": "data:image/bmp;base64,Qk0="}],
                }
            ]
        },
        "input[0].content[0].image_url",
        "image/bmp",
    ),
    (
        "image in an assistant message",
        {
            "input": [
                {
                    "role": "assistant",
                    "content": [{"type": "input_image", "image_url": "https://x.test/a.png"}],
                }
            ]
        },
        "input[0].content[0]",
        "user content",
    ),
    (
        "function_call with bad arguments",
        {
            "input": [
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{oops"},
            ]
        },
        "input[0].arguments",
        "JSON",
    ),
    (
        "function_call_output without call_id",
        {"input": [{"type": "function_call_output", "output": "x"}]},
        "input[0].call_id",
        "required",
    ),
]


@pytest.mark.parametrize(
    ("name", "fields", "param", "needle"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_what_does_not_translate_is_a_400_naming_the_field(
    name: str, fields: dict[str, Any], param: str, needle: str
) -> None:
    body = {key: value for key, value in {"model": M, "input": "hi", **fields}.items()}
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(OpenAIRequestError) as info:
        translate_responses_request(body)
    assert info.value.status == 400
    assert info.value.param == param
    assert needle.lower() in info.value.message.lower()


def test_no_op_values_of_refused_parameters_are_accepted() -> None:
    tr = translate(
        previous_response_id=None,
        background=False,
        reasoning={"effort": None, "summary": "auto"},
        top_logprobs=0,
    )
    assert tr.payload["messages"]
    assert translate(reasoning={"effort": "none"}).payload["messages"]


# -- responses ------------------------------------------------------------------------------


def test_text_response_validates_in_the_sdk() -> None:
    tr = translate(instructions="Be brief.", metadata={"k": "v"}, temperature=0.3)
    doc = translate_message_to_response(
        message(
            text("Hello"), text(" world"), cache_read_input_tokens=20, cache_creation_input_tokens=5
        ),
        tr,
        created_at=123,
    )
    assert doc["id"] == "resp_01abc"
    assert doc["object"] == "response"
    assert (doc["status"], doc["incomplete_details"], doc["created_at"]) == ("completed", None, 123)
    assert doc["usage"] == {
        "input_tokens": 35,
        "input_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 5},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 39,
    }
    response = Response.model_validate(doc)
    assert response.output_text == "Hello world"
    assert [item.id for item in response.output] == ["msg_01abc_0", "msg_01abc_1"]
    assert response.instructions == "Be brief."
    assert response.metadata == {"k": "v"}
    assert response.temperature == 0.3
    assert doc["store"] is False
    assert "output_text" not in doc  # the SDK's convenience property, not an API field


def test_max_tokens_is_incomplete() -> None:
    doc = translate_message_to_response(message(text("Once upon"), stop="max_tokens"), translate())
    assert doc["status"] == "incomplete"
    assert doc["incomplete_details"] == {"reason": "max_output_tokens"}
    assert doc["output"][-1]["status"] == "incomplete"
    assert Response.model_validate(doc).incomplete_details is not None


def test_function_tools_round_trip() -> None:
    """A tool call answer, then the client's next request with its output: ids line up."""
    tr = translate(tools=[WEATHER])
    doc = translate_message_to_response(
        message(text("Let me look."), TOOL_USE, stop="tool_use"), tr
    )
    response = Response.model_validate(doc)
    message_item, call = response.output
    assert message_item.type == "message"
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == (
        "toolu_1",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert call.id == "fc_1"
    assert [tool.type for tool in response.tools] == ["function"]
    # What an SDK user sends next: the previous input, the output items, the call's output.
    follow_up = [
        {"role": "user", "content": "Weather in Paris?"},
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "22°C, sunny"},
    ]
    payload = payload_of(input=follow_up, tools=[WEATHER])
    assert payload["messages"] == [
        {"role": "user", "content": [text("Weather in Paris?")]},
        {"role": "assistant", "content": [text("Let me look."), TOOL_USE]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22°C, sunny"}
            ],
        },
    ]
    parts = [
        {"type": "input_text", "text": "22°C"},
        {"type": "input_image", "image_url": "https://x.test/m.png"},
    ]
    with_parts = payload_of(input=[*follow_up[:-1], {**follow_up[-1], "output": parts}])
    assert with_parts["messages"][-1]["content"][0]["content"] == [
        text("22°C"),
        {"type": "image", "source": {"type": "url", "url": "https://x.test/m.png"}},
    ]


def test_json_schema_answer_is_the_output_text() -> None:
    tr = translate(text={"format": JSON_SCHEMA_FORMAT})
    answer = {
        "type": "tool_use",
        "id": "toolu_2",
        "name": "forecast",
        "input": {"city": "Oslo", "degrees": 3},
    }
    doc = translate_message_to_response(message(text("Sure:"), answer, stop="tool_use"), tr)
    response = Response.model_validate(doc)
    assert response.status == "completed"
    assert response.output_text == '{"city":"Oslo","degrees":3}'
    assert [item.type for item in response.output] == ["message"]
    assert doc["text"]["format"]["name"] == "forecast"


def test_chat_json_object_is_a_forced_json_answer() -> None:
    """The chat completions issue: json_object used to come back as free text."""
    tr = translate_request(
        {
            "model": M,
            "messages": [{"role": "user", "content": "JSON please"}],
            "response_format": {"type": "json_object"},
        }
    )
    assert tr.payload["tool_choice"] == {"type": "tool", "name": tr.answer_tool}
    answer = {"type": "tool_use", "id": "toolu_3", "name": tr.answer_tool, "input": {"ok": True}}
    completion = translate_message(message(answer, stop="tool_use"), tr.answer_tool)
    choice = completion["choices"][0]
    assert orjson.loads(choice["message"]["content"]) == {"ok": True}
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]


def test_chat_answer_tool_is_asked_for_not_forced_with_thinking() -> None:
    """The provider refuses forced tool use with extended thinking: ask for it instead."""
    thinking = {"type": "enabled", "budget_tokens": 1024}
    for fmt in ({"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "out"}}):
        tr = translate_request(
            {
                "model": M,
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": fmt,
                "thinking": thinking,
            }
        )
        assert tr.payload["tool_choice"] == {"type": "auto"}
        assert tr.answer_tool is not None
        assert tr.answer_tool in tr.payload["system"][-1]["text"]


# -- streams --------------------------------------------------------------------------------


def anthropic_stream(msg: dict[str, Any]) -> list[SSEEvent]:
    return list(SSEParser().feed(message_events(msg)))


def run_stream(tr: ResponsesTranslation, events: list[SSEEvent]) -> list[bytes]:
    translator = ResponsesStreamTranslator(tr)
    frames = [f for event in events for f in translator.feed(event)]
    frames.extend(translator.close())
    assert translator.ended
    return frames


def parse_frames(frames: list[bytes]) -> list[dict[str, Any]]:
    """Each frame's data, checked against its ``event:`` line and the SDK's event union."""
    docs: list[dict[str, Any]] = []
    for event in SSEParser().feed(b"".join(frames)):
        doc = event.json()
        assert event.event == doc["type"]
        EVENTS.validate_python(doc)
        docs.append(doc)
    assert [doc["sequence_number"] for doc in docs] == list(range(len(docs)))
    return docs


def test_stream_text_sequence() -> None:
    msg = message(text("Hello"), stop="end_turn")
    docs = parse_frames(run_stream(translate(), anthropic_stream(msg)))
    assert [doc["type"] for doc in docs] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert docs[0]["response"]["status"] == "in_progress"
    assert docs[0]["response"]["output"] == []
    assert docs[4]["delta"] == "Hello"
    assert docs[5]["text"] == "Hello"
    final = docs[-1]["response"]
    expected = translate_message_to_response(msg, translate(), created_at=final["created_at"])
    assert {**final, "completed_at": None} == {**expected, "completed_at": None}


def test_stream_function_call_arguments() -> None:
    tr = translate(tools=[WEATHER])
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {**message(), "content": [], "stop_reason": None}},
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {**TOOL_USE, "input": {}}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"city":'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ' "Paris"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 9},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    raw = b"".join(format_event(name, data) for name, data in events)
    docs = parse_frames(run_stream(tr, list(SSEParser().feed(raw))))
    assert [doc["type"] for doc in docs] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert docs[2]["item"] == {
        "id": "fc_1",
        "type": "function_call",
        "status": "in_progress",
        "call_id": "toolu_1",
        "name": "get_weather",
        "arguments": "",
    }
    assert docs[5]["arguments"] == '{"city": "Paris"}'
    (call,) = docs[-1]["response"]["output"]
    assert call["arguments"] == '{"city": "Paris"}'
    assert call["status"] == "completed"
    assert docs[-1]["response"]["usage"]["output_tokens"] == 9


def test_stream_max_tokens_is_response_incomplete() -> None:
    docs = parse_frames(
        run_stream(translate(), anthropic_stream(message(text("Once"), stop="max_tokens")))
    )
    item_done = next(doc for doc in docs if doc["type"] == "response.output_item.done")
    assert item_done["item"]["status"] == "incomplete"
    assert docs[-1]["type"] == "response.incomplete"
    assert docs[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_stream_answer_tool_streams_as_output_text() -> None:
    tr = translate(text={"format": {"type": "json_object"}})
    answer = {"type": "tool_use", "id": "toolu_9", "name": "json_answer", "input": {"a": 1}}
    docs = parse_frames(run_stream(tr, anthropic_stream(message(answer, stop="tool_use"))))
    assert "response.function_call_arguments.delta" not in [doc["type"] for doc in docs]
    assert next(d for d in docs if d["type"] == "response.output_text.done")["text"] == '{"a":1}'
    assert Response.model_validate(docs[-1]["response"]).output_text == '{"a":1}'


def test_stream_error_event_and_broken_stream() -> None:
    events = anthropic_stream(message(text("Hello")))[:5]  # start, ping, block start, delta, stop
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    events += list(SSEParser().feed(format_event("error", error)))
    docs = parse_frames(run_stream(translate(), events))
    assert [doc["type"] for doc in docs][-4:] == [
        "response.content_part.done",
        "response.output_item.done",
        "error",
        "response.failed",
    ]
    assert (docs[-2]["code"], docs[-2]["message"]) == ("overloaded_error", "Overloaded")
    failed = docs[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"
    assert failed["output"][0]["status"] == "incomplete"

    broken = parse_frames(run_stream(translate(), anthropic_stream(message(text("Hi")))[:4]))
    assert [doc["type"] for doc in broken][-5:] == [
        "response.output_text.done",  # the block was cut off mid-way: closed as incomplete
        "response.content_part.done",
        "response.output_item.done",
        "error",
        "response.failed",
    ]
    assert broken[-3]["item"] == {**broken[-3]["item"], "status": "incomplete", "content": [ANY]}
    assert broken[-2]["code"] == "upstream_incomplete"
    assert broken[-1]["response"]["output"] == [broken[-3]["item"]]

    before_start = parse_frames(run_stream(translate(), []))
    assert [doc["type"] for doc in before_start] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]


# -- the official SDK as the client ---------------------------------------------------------


def sdk_client(answer: dict[str, Any]) -> openai.OpenAI:
    """An ``OpenAI`` client whose transport translates each request and answers ``answer``."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        tr = translate_responses_request(orjson.loads(request.content))
        if not tr.stream:
            return httpx.Response(200, json=translate_message_to_response(answer, tr))
        body = b"".join(run_stream(tr, anthropic_stream(answer)))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    return openai.OpenAI(
        api_key="sk-FAKE-test", base_url="http://gateway.test/v1", http_client=http
    )


class Forecast(pydantic.BaseModel):
    city: str
    degrees: int


def test_sdk_create_parse_and_stream() -> None:
    client = sdk_client(message(text("Hello"), text(" there")))
    response = client.responses.create(model=M, input="hi")
    assert response.output_text == "Hello there"
    assert response.status == "completed"
    streamed = client.responses.create(model=M, input="hi", stream=True)
    types = [event.type for event in streamed]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"

    answer = {
        "type": "tool_use",
        "id": "toolu_5",
        "name": "Forecast",
        "input": {"city": "Oslo", "degrees": 3},
    }
    client = sdk_client(message(answer, stop="tool_use"))
    parsed = client.responses.parse(model=M, input="Oslo?", text_format=Forecast)
    assert parsed.output_parsed == Forecast(city="Oslo", degrees=3)
    with client.responses.stream(model=M, input="Oslo?", text_format=Forecast) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == '{"city":"Oslo","degrees":3}'
    assert final.output_parsed == Forecast(city="Oslo", degrees=3)


def test_sdk_stream_function_call() -> None:
    client = sdk_client(message(text("Checking."), TOOL_USE, stop="tool_use"))
    with client.responses.stream(model=M, input="Paris?", tools=[WEATHER]) as stream:  # type: ignore[list-item]  # a plain dict where the SDK wants its TypedDict
        for _ in stream:
            pass
        final = stream.get_final_response()
    call = final.output[-1]
    assert call.type == "function_call"
    assert (call.call_id, call.arguments) == ("toolu_1", '{"city":"Paris"}')
    assert final.output_text == "Checking."


# -- any body -------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_items = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["message", "function_call", "function_call_output", "reasoning", "x"]
        ),
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]),
        "content": st.text(max_size=5) | _json,
        "call_id": st.text(max_size=3) | _json,
        "name": st.text(max_size=3),
        "arguments": st.sampled_from(["{}", '{"a":1}', "[]", "x", ""]) | _json,
        "output": st.text(max_size=3) | _json,
    },
)
_bodies = st.fixed_dictionaries(
    {"model": st.just(M), "input": st.text(max_size=5) | st.lists(_items, max_size=4) | _json},
    optional={
        "instructions": st.text(max_size=5) | _json,
        "tools": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["function", "web_search"]), "name": st.text(max_size=3)}
            ),
            max_size=2,
        )
        | _json,
        "tool_choice": st.sampled_from(["auto", "none", "required"]) | _json,
        "text": st.fixed_dictionaries(
            {
                "format": st.fixed_dictionaries(
                    {"type": st.sampled_from(["text", "json_object", "json_schema"])}
                )
            }
        )
        | _json,
        "max_output_tokens": st.integers(-1, 10) | _json,
        "metadata": _json,
        "prompt_cache_key": _json,
        "reasoning": _json,
        "temperature": st.floats(-1, 3) | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_bodies)
def test_any_body_translates_or_is_a_400(body: dict[str, Any]) -> None:
    error: OpenAIRequestError | None = None
    try:
        tr = translate_responses_request(body)
    except OpenAIRequestError as exc:
        error = exc
    if error is not None:
        assert error.status == 400
        assert error.message.startswith(f"{error.param}: ") or "Unrecognized" in error.message
        return
    assert tr.payload["messages"]
    orjson.dumps(tr.payload)
    Response.model_validate(translate_message_to_response(message(text("ok")), tr))
