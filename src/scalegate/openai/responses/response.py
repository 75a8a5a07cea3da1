"""An Anthropic Message → a Responses API ``response`` object.

:func:`translate_message_to_response` builds what ``POST /v1/responses`` answers; the
builders below it are shared with the stream translator (:mod:`.stream`), so a streamed
answer's final ``response`` is the one a non-streamed call would have got.

* ``id`` is ``resp_`` + the provider's message id without ``msg_`` (traceable to it); output
  items are named from it: ``msg_<id>_<n>`` for the *n*-th output item when it is a message,
  ``fc_<tool_use id>`` for a function call, whose ``call_id`` is the ``tool_use`` id itself
  (a client sends it back in ``function_call_output``, which becomes the ``tool_use_id``).
* Each text block is one ``message`` item with one ``output_text`` part (``annotations:
  []``); each ``tool_use`` block is a ``function_call`` item, ``arguments`` its input as a
  JSON string. Thinking and other block types are not returned.
* The ``text.format`` *answer tool*'s input is one message item whose text is the compact
  JSON (what ``client.responses.parse`` parses); text written before it is dropped.
* ``status`` is ``completed`` unless :data:`INCOMPLETE` names the stop reason: then it is
  ``incomplete`` with ``incomplete_details.reason``, and the last output item is
  ``incomplete`` too (it is the one that was cut off).
* ``usage.input_tokens`` = input + cache creation + cache read tokens;
  ``input_tokens_details`` has ``cached_tokens`` (cache reads) and ``cache_write_tokens``
  (cache creation); ``reasoning_tokens`` is 0 (thinking is not requested).
* The other fields repeat the request (:attr:`ResponsesTranslation.echo`) or state what the
  gateway does: ``store: false``, ``background: false``, ``truncation: "disabled"``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from scalegate.openai.responses.request import ResponsesTranslation

#: Anthropic stop reasons that leave a response ``incomplete``, with OpenAI's reason.
INCOMPLETE: dict[str, str] = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}


def response_id(message_id: Any) -> str:
    text = str(message_id or "")
    return "resp_" + (text.removeprefix("msg_") or "scalegate")


def message_item_id(resp_id: str, output_index: int) -> str:
    return f"msg_{resp_id.removeprefix('resp_')}_{output_index}"


def call_item_id(tool_use_id: Any) -> str:
    return "fc_" + str(tool_use_id or "").removeprefix("toolu_")


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def responses_usage(usage: Any) -> dict[str, Any]:
    """Responses ``usage`` for the provider's (missing counts are zero)."""
    counts = usage if isinstance(usage, dict) else {}
    read = _count(counts, "cache_read_input_tokens")
    written = _count(counts, "cache_creation_input_tokens")
    prompt = _count(counts, "input_tokens") + written + read
    output = _count(counts, "output_tokens")
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": read, "cache_write_tokens": written},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def incomplete_reason(stop_reason: Any) -> str | None:
    """OpenAI's ``incomplete_details.reason`` for a stop reason (``None``: completed)."""
    return INCOMPLETE.get(stop_reason) if isinstance(stop_reason, str) else None


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str | None, status: str = "completed") -> dict[str, Any]:
    """A ``message`` output item; ``text=None`` for one just opened, with no part yet."""
    content = [] if text is None else [text_part(text)]
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def call_item(
    tool_use_id: Any, name: Any, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    """A ``function_call`` output item for a ``tool_use`` block."""
    return {
        "id": call_item_id(tool_use_id),
        "type": "function_call",
        "status": status,
        "call_id": tool_use_id,
        "name": name,
        "arguments": arguments,
    }


def response_document(
    tr: ResponsesTranslation,
    resp_id: str,
    *,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object, in any state (``in_progress`` ones have no usage yet)."""
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": None if incomplete is None else {"reason": incomplete},
        "model": model,
        "output": output,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": False,
        "top_logprobs": 0,
        "truncation": "disabled",
        "usage": usage,
        **tr.echo,
    }


def translate_message_to_response(
    message: dict[str, Any], tr: ResponsesTranslation, created_at: int | None = None
) -> dict[str, Any]:
    """The ``response`` object for a (successful) Anthropic Message."""
    resp_id = response_id(message.get("id"))
    output: list[dict[str, Any]] = []
    answer: dict[str, Any] | None = None
    blocks = message.get("content")
    for block in blocks if isinstance(blocks, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            output.append(message_item(message_item_id(resp_id, len(output)), block["text"]))
        elif (
            kind == "tool_use"
            and tr.answer_tool is not None
            and block.get("name") == tr.answer_tool
        ):
            answer = block
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            output.append(call_item(block.get("id"), block.get("name"), arguments))
    if answer is not None:
        text = orjson.dumps(answer.get("input") or {}).decode()
        output = [item for item in output if item["type"] != "message"]
        output.append(message_item(message_item_id(resp_id, len(output)), text))
    incomplete = incomplete_reason(message.get("stop_reason"))
    if incomplete is not None and output:
        output[-1]["status"] = "incomplete"
    return response_document(
        tr,
        resp_id,
        created_at=int(time.time()) if created_at is None else created_at,
        model=str(message.get("model") or tr.model),
        status="completed" if incomplete is None else "incomplete",
        output=output,
        usage=responses_usage(message.get("usage")),
        incomplete=incomplete,
    )
