"""OpenAI ``tools``, ``tool_choice``, ``parallel_tool_calls`` and ``response_format``.

* ``tools[i]`` of ``type: function`` → ``{"name", "description", "input_schema"}`` (the
  function's ``parameters``; a function without them takes ``{"type": "object"}``).
  ``strict`` is ignored: the provider does not promise schema-exact arguments.
* ``tool_choice``: ``auto`` → ``auto``, ``required`` → ``any``, ``none`` → ``none``, a named
  function → ``{"type": "tool", "name": …}``. ``parallel_tool_calls: false`` →
  ``disable_parallel_tool_use: true``.
* ``response_format``: ``text`` changes nothing; ``json_object`` appends
  :data:`JSON_OBJECT_INSTRUCTION` to the system prompt (the provider has no JSON mode, so
  this asks rather than guarantees); ``json_schema`` adds an *answer tool* named after the
  schema whose ``input_schema`` is the schema, and forces it (``tool_choice: tool``) — or,
  when the request has tools of its own and may call them, allows it alongside them
  (``tool_choice: any``). The answer tool's input comes back as ``message.content``
  (see :mod:`scalegate.openai.response`). The schema's root must be an object.
"""

from __future__ import annotations

from typing import Any

from scalegate.openai.messages import bad

JSON_OBJECT_INSTRUCTION = (
    "Respond with a single valid JSON object and nothing else: no prose before or after it "
    "and no code fences."
)
ANSWER_TOOL_DESCRIPTION = (
    "Give your final answer by calling this tool; its input is the answer, as a JSON object "
    "matching the schema."
)
_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def translate_tools(tools: Any) -> list[dict[str, Any]]:
    """Anthropic tool definitions for OpenAI ``tools`` (``[]`` for none)."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise bad("tools", "must be an array", "invalid_type")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise bad(f"{where}.type", "only 'function' tools translate", "unsupported_value")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad(f"{where}.function.name", "Field required", "missing_required_parameter")
        schema = function.get("parameters")
        if schema is None:
            schema = {"type": "object", "properties": {}}
        elif not isinstance(schema, dict):
            raise bad(f"{where}.function.parameters", "must be a JSON schema object")
        definition: dict[str, Any] = {"name": function["name"], "input_schema": schema}
        description = function.get("description")
        if isinstance(description, str) and description:
            definition["description"] = description
        out.append(definition)
    return out


def translate_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Anthropic ``tool_choice`` for an OpenAI one (``None``: leave it out)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in _CHOICES:
            raise bad("tool_choice", "must be 'auto', 'required', 'none' or a named function")
        if choice == "required" and not tools:
            raise bad("tool_choice", "'required' needs at least one tool in tools")
        return dict(_CHOICES[choice]) if tools else None
    function = choice.get("function") if isinstance(choice, dict) else None
    if not isinstance(function, dict) or choice.get("type") != "function":
        raise bad("tool_choice", "only 'auto', 'required', 'none' or a named function translate")
    name = function.get("name")
    if not any(tool["name"] == name for tool in tools):
        raise bad("tool_choice.function.name", f"no function named {name!r} in tools")
    return {"type": "tool", "name": name}


def no_parallel(choice: dict[str, Any] | None) -> dict[str, Any]:
    """``choice`` with ``disable_parallel_tool_use`` set (``auto`` when there was none)."""
    out: dict[str, Any] = dict(choice) if choice is not None else {"type": "auto"}
    if out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def answer_tool(response_format: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The answer tool for a ``json_schema`` response format; ``None`` for other formats.

    Raises a 400 for formats that do not translate. ``json_object`` is handled by the caller
    (a system instruction), so it returns ``None`` too.
    """
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return None
    if kind != "json_schema":
        raise bad("response_format.type", "must be 'text', 'json_object' or 'json_schema'")
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise bad(
            "response_format.json_schema.name", "Field required", "missing_required_parameter"
        )
    schema = spec.get("schema", {"type": "object"})
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise bad(
            "response_format.json_schema.schema",
            "the root must be an object schema (type: object) to translate",
            "unsupported_value",
        )
    if any(tool["name"] == spec["name"] for tool in tools):
        raise bad("response_format.json_schema.name", "clashes with a function in tools")
    description = spec.get("description")
    if not isinstance(description, str) or not description:
        description = ANSWER_TOOL_DESCRIPTION
    return {"name": spec["name"], "description": description, "input_schema": schema}


def force_answer(
    tool: dict[str, Any], tools: list[dict[str, Any]], choice: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The ``tool_choice`` once the answer tool is added to ``tools``.

    Without tools of the request's own (or with ``tool_choice: none``) the answer tool is
    forced; with tools the model may call, it must call one of them or answer (``any``); a
    named function stays named.
    """
    if not tools or (choice is not None and choice["type"] == "none"):
        return {"type": "tool", "name": tool["name"]}
    if choice is not None and choice["type"] == "tool":
        return choice
    return {"type": "any"}


def is_json_object(response_format: Any) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") == "json_object"
