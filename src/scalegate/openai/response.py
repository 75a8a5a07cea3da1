"""An Anthropic Message → an OpenAI ``chat.completion`` (:func:`translate_message`).

* ``id`` is ``chatcmpl-`` + the message id without its ``msg_`` prefix, so a completion can be
  traced to the provider's message; ``model`` is the model the provider says answered.
* ``message.content`` joins the text blocks (``None`` when there are none); each ``tool_use``
  block becomes a ``tool_calls`` entry with its ``id`` unchanged (a client sends it back as
  ``tool_call_id``, which becomes the ``tool_use_id``) and ``arguments`` as a JSON string.
  Thinking and other block types are not returned.
* The json_schema *answer tool*'s input is the ``content`` (compact JSON) and the finish
  reason is ``stop``; text the model wrote before calling it is dropped.
* ``finish_reason`` by :data:`FINISH_REASONS`; an unknown stop reason is ``stop``.
* ``usage.prompt_tokens`` = input + cache creation + cache read tokens;
  ``prompt_tokens_details.cached_tokens`` = cache read tokens.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any, tool_calls: bool) -> str:
    """OpenAI's finish reason; ``tool_use`` with no client-visible tool call is ``stop``."""
    reason = FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"
    if reason == "tool_calls" and not tool_calls:
        return "stop"
    return reason


def completion_id(message_id: Any) -> str:
    text = str(message_id or "")
    return "chatcmpl-" + (text.removeprefix("msg_") or "scalegate")


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(usage: Any) -> dict[str, Any]:
    """OpenAI ``usage`` for the provider's (missing counts are zero)."""
    counts = usage if isinstance(usage, dict) else {}
    read = _count(counts, "cache_read_input_tokens")
    prompt = _count(counts, "input_tokens") + _count(counts, "cache_creation_input_tokens") + read
    completion = _count(counts, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read},
    }


def tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """A ``tool_use`` block as an OpenAI tool call."""
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": block.get("name"), "arguments": arguments},
    }


def translate_message(
    message: dict[str, Any], answer_tool: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """The ``chat.completion`` for a (successful) Anthropic Message."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    answer: str | None = None
    blocks = message.get("content")
    for block in blocks if isinstance(blocks, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and answer_tool is not None and block.get("name") == answer_tool:
            answer = orjson.dumps(block.get("input") or {}).decode()
        elif kind == "tool_use":
            calls.append(tool_call(block))
    content = answer if answer is not None else ("".join(texts) if texts else None)
    reply: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    return {
        "id": completion_id(message.get("id")),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": message.get("model"),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(message.get("stop_reason"), bool(calls)),
            }
        ],
        "usage": openai_usage(message.get("usage")),
        "system_fingerprint": None,
    }
