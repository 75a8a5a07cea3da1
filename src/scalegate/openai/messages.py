"""OpenAI ``messages`` → Anthropic ``system`` and ``messages``.

* ``system`` and ``developer`` messages, wherever they stand, are hoisted into ``system`` as
  text blocks, in order.
* ``user`` content: ``text`` parts, ``image_url`` (a ``data:`` base64 URL → an ``image`` block
  with ``source.type=base64``; an http(s) URL → ``source.type=url``; ``detail`` is ignored),
  ``file`` with a PDF ``file_data`` data URL → a ``document`` block. Audio, ``file_id`` and
  other parts are a 400.
* ``assistant``: text (and ``refusal`` text) blocks, then one ``tool_use`` block per
  ``tool_calls`` entry; ``arguments`` must be a JSON object encoded as a string (``""`` is
  taken as ``{}``), anything else is a 400 naming the field.
* ``tool`` messages → ``tool_result`` blocks in a user turn.
* Consecutive turns of the same Anthropic role are merged (the provider wants them to
  alternate); empty text is dropped, and so is a turn left with nothing in it.

``name`` on any message is ignored: the provider has no per-message author names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from scalegate.openai.errors import OpenAIRequestError

Block = dict[str, Any]
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def bad(param: str, message: str, code: str = "invalid_value") -> OpenAIRequestError:
    """A 400 about ``param`` whose message starts with the field's path."""
    return OpenAIRequestError(f"{param}: {message}", param=param, code=code)


def translate_messages(messages: Any) -> tuple[list[Block], list[dict[str, Any]]]:
    """(system text blocks, alternating Anthropic turns) for an OpenAI ``messages`` list."""
    if messages is None:
        raise bad("messages", "Field required", "missing_required_parameter")
    if not isinstance(messages, list):
        raise bad("messages", "must be an array of message objects", "invalid_type")
    if not messages:
        raise bad("messages", "must contain at least one message")
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad(where, "must be an object", "invalid_type")
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content"), f"{where}.content"))
            continue
        convert = _CONVERTERS.get(role) if isinstance(role, str) else None
        if convert is None:
            raise bad(
                f"{where}.role",
                f"{role!r} is not supported; use system, developer, user, assistant or tool",
            )
        anthropic_role, blocks = convert(message, where)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == anthropic_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": anthropic_role, "content": blocks})
    if not turns:
        raise bad("messages", "needs at least one user or assistant message with content")
    return system, turns


def _text_blocks(content: Any, where: str) -> list[Block]:
    """Text-only content (a string or ``text`` parts) as text blocks, empty ones dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise bad(where, "must be a string or an array of text parts", "invalid_type")
    blocks: list[Block] = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
            raise bad(f"{where}[{j}]", "only text parts are allowed here")
        key = part["type"]
        text = part.get(key)
        if not isinstance(text, str):
            raise bad(f"{where}[{j}].{key}", "must be a string", "invalid_type")
        if text:
            blocks.append({"type": "text", "text": text})
    return blocks


def _user(message: dict[str, Any], where: str) -> tuple[str, list[Block]]:
    content = message.get("content")
    if content is None or isinstance(content, str):
        return "user", _text_blocks(content, f"{where}.content")
    if not isinstance(content, list):
        raise bad(f"{where}.content", "must be a string or an array of parts", "invalid_type")
    blocks: list[Block] = []
    for j, part in enumerate(content):
        path = f"{where}.content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise bad(f"{path}.text", "must be a string", "invalid_type")
            if text:
                blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"{path}.image_url"))
        elif kind == "file":
            blocks.append(_document(part.get("file"), f"{path}.file"))
        elif kind == "input_audio":
            raise bad(path, "audio input does not translate to the provider", "unsupported_value")
        else:
            raise bad(path, f"content part type {kind!r} is not supported", "unsupported_value")
    return "user", blocks


def data_url(url: str, where: str) -> tuple[str, str]:
    """(media type, base64 data) of a ``data:<type>[;…];base64,<data>`` URL."""
    header, comma, data = url[5:].partition(",")
    params = header.split(";")
    if not comma or params[-1] != "base64" or not data:
        raise bad(where, "a data: URL must be base64-encoded (data:<type>;base64,<data>)")
    return params[0].lower(), data


def _image(spec: Any, where: str) -> Block:
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str):
        raise bad(f"{where}.url", "Field required (a string)", "missing_required_parameter")
    return image_block(url, f"{where}.url")


def image_block(url: str, where: str) -> Block:
    """The image block for an http(s) URL or a base64 ``data:`` URL at path ``where``."""
    if url.startswith("data:"):
        media_type, data = data_url(url, where)
        if media_type not in IMAGE_TYPES:
            supported = ", ".join(sorted(IMAGE_TYPES))
            raise bad(where, f"image type {media_type!r} is not one of {supported}")
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise bad(where, "must be an http(s) URL or a base64 data: URL")


def _document(spec: Any, where: str) -> Block:
    if not isinstance(spec, dict):
        raise bad(where, "must be an object", "invalid_type")
    if spec.get("file_id") is not None:
        raise bad(
            f"{where}.file_id", "file ids do not translate; send file_data", "unsupported_value"
        )
    file_data = spec.get("file_data")
    if not isinstance(file_data, str) or not file_data.startswith("data:"):
        raise bad(f"{where}.file_data", "must be a base64 data: URL")
    media_type, data = data_url(file_data, f"{where}.file_data")
    if media_type != "application/pdf":
        raise bad(f"{where}.file_data", "only application/pdf files translate", "unsupported_value")
    source = {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "document", "source": source}


def _assistant(message: dict[str, Any], where: str) -> tuple[str, list[Block]]:
    for field in ("audio", "function_call"):
        if message.get(field) is not None:
            raise bad(f"{where}.{field}", "does not translate to the provider", "unsupported_value")
    blocks = _text_blocks(message.get("content"), f"{where}.content")
    refusal = message.get("refusal")
    if not blocks and isinstance(refusal, str) and refusal:
        blocks.append({"type": "text", "text": refusal})
    calls = message.get("tool_calls")
    if calls is None:
        return "assistant", blocks
    if not isinstance(calls, list):
        raise bad(f"{where}.tool_calls", "must be an array", "invalid_type")
    blocks.extend(_tool_use(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls))
    return "assistant", blocks


def _tool_use(call: Any, where: str) -> Block:
    if not isinstance(call, dict):
        raise bad(where, "must be an object", "invalid_type")
    if call.get("type", "function") != "function":
        raise bad(f"{where}.type", "only function tool calls translate", "unsupported_value")
    call_id = call.get("id")
    function = call.get("function")
    if not isinstance(call_id, str) or not call_id:
        raise bad(f"{where}.id", "Field required (a string)", "missing_required_parameter")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise bad(f"{where}.function.name", "Field required", "missing_required_parameter")
    return {
        "type": "tool_use",
        "id": call_id,
        "name": function["name"],
        "input": arguments(function.get("arguments"), f"{where}.function.arguments"),
    }


def arguments(raw: Any, where: str) -> dict[str, Any]:
    """A tool call's ``arguments`` string as the object it encodes (``""`` → ``{}``)."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise bad(where, "must be a string holding a JSON object", "invalid_type")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad(where, f"is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise bad(where, "must encode a JSON object")
    return value


def _tool(message: dict[str, Any], where: str) -> tuple[str, list[Block]]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad(
            f"{where}.tool_call_id", "Field required (a string)", "missing_required_parameter"
        )
    block: Block = {"type": "tool_result", "tool_use_id": call_id}
    content = message.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    else:
        texts = _text_blocks(content, f"{where}.content")
        if texts:
            block["content"] = texts
    return "user", [block]


def _function(message: dict[str, Any], where: str) -> tuple[str, list[Block]]:
    raise bad(f"{where}.role", "the deprecated 'function' role does not translate; use 'tool'")


_CONVERTERS: dict[str, Callable[[dict[str, Any], str], tuple[str, list[Block]]]] = {
    "user": _user,
    "assistant": _assistant,
    "tool": _tool,
    "function": _function,
}
