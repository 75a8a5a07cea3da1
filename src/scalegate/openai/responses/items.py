"""Responses API ``input`` (and ``instructions``) → Anthropic ``system`` and ``messages``.

``input`` is a string (one user message) or a list of items:

* messages — ``{"role", "content"}`` with or without ``"type": "message"``: ``system`` and
  ``developer`` ones are hoisted into ``system`` (after ``instructions``), in order;
  ``user`` and ``assistant`` ones become turns. ``content`` is a string or parts:
  ``input_text``/``output_text`` (and an assistant's ``refusal``) → text blocks;
  for ``user`` only, ``input_image`` (an http(s) or base64 ``data:`` ``image_url`` → an image
  block) and ``input_file`` (a PDF as a ``data:`` ``file_data`` or a ``file_url`` → a
  document block). ``file_id`` references are a 400: the gateway has no file store.
* ``function_call`` → a ``tool_use`` block in an assistant turn (``call_id`` is the block id,
  ``arguments`` the JSON-object string); ``function_call_output`` → a ``tool_result`` block
  in a user turn, its ``output`` a string or text/image/file parts.
* ``reasoning`` items are dropped: they are the other provider's chain of thought, which
  this one neither accepts nor needs.
* ``item_reference`` is a 400 — it points at stored state the gateway does not keep — and
  so is any other item type (built-in tool calls and their outputs).

As in the chat translation, consecutive turns of one role are merged, empty text is
dropped, and a conversation with no user or assistant content is a 400.
"""

from __future__ import annotations

from typing import Any

from scalegate.openai.messages import Block, arguments, bad, data_url, image_block

_TEXT_PARTS = ("input_text", "output_text")
STATELESS = (
    "the gateway is stateless and keeps no responses or conversations; send the whole "
    "conversation in input (as with store: false)"
)


def translate_input(value: Any, instructions: Any) -> tuple[list[Block], list[dict[str, Any]]]:
    """(system text blocks, alternating Anthropic turns) for ``input`` and ``instructions``."""
    system = _instructions(instructions)
    if value is None:
        raise bad("input", "Field required", "missing_required_parameter")
    if isinstance(value, str):
        if not value:
            raise bad("input", "must not be empty")
        return system, [{"role": "user", "content": [{"type": "text", "text": value}]}]
    if not isinstance(value, list):
        raise bad("input", "must be a string or an array of input items", "invalid_type")
    turns: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise bad(where, "must be an object", "invalid_type")
        role, blocks = _item(item, where, system)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise bad("input", "needs at least one user or assistant item with content")
    return system, turns


def _instructions(value: Any) -> list[Block]:
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        raise bad("instructions", "must be a string", "invalid_type")
    return [{"type": "text", "text": value}]


def _item(item: dict[str, Any], where: str, system: list[Block]) -> tuple[str, list[Block]]:
    """(Anthropic role, blocks) for one item; system text goes to ``system`` instead."""
    kind = item.get("type", "message")
    if kind == "message":
        return _message(item, where, system)
    if kind == "function_call":
        return "assistant", [_function_call(item, where)]
    if kind == "function_call_output":
        return "user", [_function_call_output(item, where)]
    if kind == "reasoning":
        return "assistant", []
    if kind == "item_reference":
        raise bad(f"{where}.type", f"item_reference does not translate: {STATELESS}")
    raise bad(f"{where}.type", f"input item type {kind!r} does not translate", "unsupported_value")


def _message(item: dict[str, Any], where: str, system: list[Block]) -> tuple[str, list[Block]]:
    role = item.get("role")
    content = item.get("content")
    if role in ("system", "developer"):
        system.extend(_parts(content, f"{where}.content", images=False))
        return "user", []
    if role not in ("user", "assistant"):
        raise bad(
            f"{where}.role", f"{role!r} is not supported; use user, assistant, system or developer"
        )
    return role, _parts(content, f"{where}.content", images=role == "user")


def _parts(content: Any, where: str, *, images: bool) -> list[Block]:
    """Blocks for message content; ``images`` allows image and file parts (user turns)."""
    if content is None:
        raise bad(where, "Field required", "missing_required_parameter")
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise bad(where, "must be a string or an array of content parts", "invalid_type")
    blocks: list[Block] = []
    for j, part in enumerate(content):
        block = _part(part, f"{where}[{j}]", images=images)
        if block is not None:
            blocks.append(block)
    return blocks


def _part(part: Any, where: str, *, images: bool) -> Block | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS or kind == "refusal":
        key = "refusal" if kind == "refusal" else "text"
        text = part.get(key)
        if not isinstance(text, str):
            raise bad(f"{where}.{key}", "must be a string", "invalid_type")
        return {"type": "text", "text": text} if text else None
    if kind in ("input_image", "input_file") and not images:
        raise bad(where, f"{kind} parts are only allowed in user content", "unsupported_value")
    if kind == "input_image":
        return _image(part, where)
    if kind == "input_file":
        return _file(part, where)
    if kind == "input_audio":
        raise bad(where, "audio input does not translate to the provider", "unsupported_value")
    raise bad(where, f"content part type {kind!r} is not supported", "unsupported_value")


def _no_file_id(part: dict[str, Any], where: str) -> None:
    if part.get("file_id") is not None:
        raise bad(
            f"{where}.file_id",
            "file ids do not translate (the gateway has no file store); send the data inline",
            "unsupported_value",
        )


def _image(part: dict[str, Any], where: str) -> Block:
    _no_file_id(part, where)
    url = part.get("image_url")
    if not isinstance(url, str):
        raise bad(f"{where}.image_url", "Field required (a string)", "missing_required_parameter")
    return image_block(url, f"{where}.image_url")


def _file(part: dict[str, Any], where: str) -> Block:
    _no_file_id(part, where)
    file_data = part.get("file_data")
    file_url = part.get("file_url")
    if isinstance(file_data, str) and file_data.startswith("data:"):
        media_type, data = data_url(file_data, f"{where}.file_data")
        if media_type != "application/pdf":
            raise bad(
                f"{where}.file_data", "only application/pdf files translate", "unsupported_value"
            )
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "document", "source": source}
    if isinstance(file_url, str) and file_url.startswith(("https://", "http://")):
        return {"type": "document", "source": {"type": "url", "url": file_url}}
    raise bad(where, "needs file_data (a base64 data: URL of a PDF) or an http(s) file_url")


def _function_call(item: dict[str, Any], where: str) -> Block:
    call_id = item.get("call_id")
    name = item.get("name")
    if not isinstance(call_id, str) or not call_id:
        raise bad(f"{where}.call_id", "Field required (a string)", "missing_required_parameter")
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name", "Field required (a string)", "missing_required_parameter")
    return {
        "type": "tool_use",
        "id": call_id,
        "name": name,
        "input": arguments(item.get("arguments"), f"{where}.arguments"),
    }


def _function_call_output(item: dict[str, Any], where: str) -> Block:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad(f"{where}.call_id", "Field required (a string)", "missing_required_parameter")
    block: Block = {"type": "tool_result", "tool_use_id": call_id}
    output = item.get("output")
    if isinstance(output, str):
        if output:
            block["content"] = output
        return block
    parts = _parts(output, f"{where}.output", images=True)
    if parts:
        block["content"] = parts
    return block
