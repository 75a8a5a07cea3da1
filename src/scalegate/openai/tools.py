"""OpenAI ``tools``, ``tool_choice``, ``parallel_tool_calls`` and ``response_format``.

* ``tools[i]`` of ``type: function`` → ``{"name", "description", "input_schema"}`` (the
  function's ``parameters``; a function without them takes ``{"type": "object"}``).
  ``strict`` is ignored: the provider does not promise schema-exact arguments.
* ``tool_choice``: ``auto`` → ``auto``, ``required`` → ``any``, ``none`` → ``none``, a named
  function → ``{"type": "tool", "name": …}``. ``parallel_tool_calls: false`` →
  ``disable_parallel_tool_use: true``.
* ``response_format``: ``text`` changes nothing; ``json_schema`` adds an *answer tool* named
  after the schema whose ``input_schema`` is the schema, and forces it (``tool_choice:
  tool``) — or, when the request has tools of its own and may call them, allows it alongside
  them (``tool_choice: any``). The answer tool's input comes back as ``message.content``
  (see :mod:`scalegate.openai.response`). The schema's root must be an object.
  ``json_object`` is the same with a permissive schema (``{"type": "object"}``) and the tool
  named :data:`JSON_OBJECT_TOOL` (suffixed if the request has a function of that name): the
  provider has no JSON mode, and a system instruction alone only *asks* — a forced tool call
  is the one way its answer is always a JSON object. With extended ``thinking`` on, the
  provider refuses forced tool use: the choice stays ``auto`` and a system instruction asks
  for the answer tool instead (:func:`force_answer`, :func:`answer_instruction`).

The pieces are shared with the Responses API (:mod:`scalegate.openai.responses`), whose
bodies name the same things differently (a function tool is flat there, the schema sits in
``text.format``), so each helper takes the field's path for its error messages.
"""

from __future__ import annotations

from typing import Any

from scalegate.openai.messages import bad

ANSWER_TOOL_DESCRIPTION = (
    "Give your final answer by calling this tool; its input is the answer, as a JSON object "
    "matching the schema."
)
JSON_OBJECT_TOOL = "json_answer"
JSON_OBJECT_DESCRIPTION = (
    "Give your final answer by calling this tool; its input is the answer, as a JSON object."
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
        out.append(function_tool(tool.get("function"), f"{where}.function"))
    return out


def function_tool(function: Any, where: str) -> dict[str, Any]:
    """The Anthropic definition of one function (``name``, ``description``, ``parameters``).

    ``where`` is the function's path in the body (``tools[0].function`` for chat
    completions, ``tools[0]`` for the Responses API, where the function is flat).
    """
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise bad(f"{where}.name", "Field required", "missing_required_parameter")
    schema = function.get("parameters")
    if schema is None:
        schema = {"type": "object", "properties": {}}
    elif not isinstance(schema, dict):
        raise bad(f"{where}.parameters", "must be a JSON schema object")
    definition: dict[str, Any] = {"name": function["name"], "input_schema": schema}
    description = function.get("description")
    if isinstance(description, str) and description:
        definition["description"] = description
    return definition


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
    """The answer tool for a ``json_schema`` or ``json_object`` response format.

    ``None`` for ``text`` (or no format); raises a 400 for formats that do not translate.
    """
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return json_object_tool(tools)
    if kind != "json_schema":
        raise bad("response_format.type", "must be 'text', 'json_object' or 'json_schema'")
    return schema_tool(response_format.get("json_schema"), tools, "response_format.json_schema")


def schema_tool(spec: Any, tools: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """The answer tool for a JSON schema ``spec`` (``name``, ``schema``, ``description``).

    ``where`` is the spec's path in the body, for errors. ``strict`` is ignored.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise bad(f"{where}.name", "Field required", "missing_required_parameter")
    schema = spec.get("schema", {"type": "object"})
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise bad(
            f"{where}.schema",
            "the root must be an object schema (type: object) to translate",
            "unsupported_value",
        )
    if any(tool["name"] == spec["name"] for tool in tools):
        raise bad(f"{where}.name", "clashes with a function in tools")
    description = spec.get("description")
    if not isinstance(description, str) or not description:
        description = ANSWER_TOOL_DESCRIPTION
    return {"name": spec["name"], "description": description, "input_schema": schema}


def json_object_tool(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer tool for "any JSON object": a permissive schema, a name no tool has."""
    names = {tool["name"] for tool in tools}
    name, n = JSON_OBJECT_TOOL, 1
    while name in names:
        name, n = f"{JSON_OBJECT_TOOL}_{n}", n + 1
    schema = {"type": "object", "additionalProperties": True}
    return {"name": name, "description": JSON_OBJECT_DESCRIPTION, "input_schema": schema}


def force_answer(
    tool: dict[str, Any],
    tools: list[dict[str, Any]],
    choice: dict[str, Any] | None,
    *,
    thinking: bool = False,
) -> dict[str, Any]:
    """The ``tool_choice`` once the answer tool is added to ``tools``.

    Without tools of the request's own (or with ``tool_choice: none``) the answer tool is
    forced; with tools the model may call, it must call one of them or answer (``any``); a
    named function stays named. With extended ``thinking`` on, the provider refuses forced
    tool use, so the choice is ``auto`` (unless the caller forced one itself) and the caller
    must *ask* for the answer tool instead (:func:`answer_instruction`).
    """
    if thinking:
        forced = choice is not None and choice["type"] in ("tool", "any")
        return choice if forced and choice is not None else {"type": "auto"}
    if not tools or (choice is not None and choice["type"] == "none"):
        return {"type": "tool", "name": tool["name"]}
    if choice is not None and choice["type"] == "tool":
        return choice
    return {"type": "any"}


def thinking_on(thinking: Any) -> bool:
    """Whether an Anthropic ``thinking`` setting turns extended thinking on."""
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def answer_instruction(tool: dict[str, Any]) -> str:
    """The system text that asks for the answer tool when it cannot be forced."""
    return f"Give your final answer only by calling the {tool['name']} tool."
