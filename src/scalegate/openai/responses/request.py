"""A Responses API body (``POST /v1/responses``) → an Anthropic Messages body.

:func:`translate_responses_request` checks by hand, like the chat translation
(:mod:`scalegate.openai.request`), and shares its helpers and its rule for names: each
parameter OpenAI documents falls in one set below, and a name in none of them is a 400
``Unrecognized request argument supplied``.

* translated — ``model``, ``input`` and ``instructions`` (:mod:`.items`),
  ``max_output_tokens`` (default :data:`~scalegate.openai.request.DEFAULT_MAX_TOKENS`),
  ``temperature``, ``top_p``, ``tools`` (function tools only), ``tool_choice``,
  ``parallel_tool_calls``, ``text.format``, ``user``/``safety_identifier``
  (→ ``metadata.user_id``, as in the chat translation), ``stream``;
* passed through — ``top_k`` (an Anthropic feature, sent with the SDK's ``extra_body``);
* ignored — ``metadata``, ``store`` (nothing is ever stored: the echoed response says
  ``store: false``), ``truncation`` (nothing is truncated: an over-long input is the
  provider's 400), ``service_tier``, ``prompt_cache_key``, ``prompt_cache_retention``,
  ``include``, ``stream_options``, ``max_tool_calls`` (it limits built-in tools, of which
  there are none);
* refused unless absent or a no-op (:data:`REFUSED`) — ``previous_response_id``,
  ``conversation``, ``prompt`` and ``background: true`` need state the gateway does not
  keep; ``reasoning.effort``; ``top_logprobs`` > 0; ``thinking``.

``reasoning`` is refused rather than mapped to Anthropic's extended thinking: thinking
blocks must be sent back, signature and all, on the next turn of a tool-using conversation,
and Responses clients would do that only through ``reasoning`` items carrying the
provider's signature — which this translation does not produce. Refusing is honest; a
silently dropped effort is not. (``reasoning`` with no effort, or ``effort: "none"``, is
accepted: it asks for nothing.)

``text.format``: ``text`` changes nothing; ``json_schema`` and ``json_object`` add a forced
*answer tool* exactly as ``response_format`` does for chat completions
(:func:`~scalegate.openai.tools.schema_tool`, :func:`~scalegate.openai.tools.json_object_tool`);
its input comes back as the ``output_text`` of a message item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scalegate.openai.messages import bad
from scalegate.openai.request import (
    DEFAULT_ANTHROPIC_VERSION,
    DEFAULT_MAX_TOKENS,
    check_names,
    end_user,
    positive_int,
    sampling,
)
from scalegate.openai.responses.items import STATELESS, translate_input
from scalegate.openai.tools import (
    force_answer,
    function_tool,
    json_object_tool,
    no_parallel,
    schema_tool,
    translate_tool_choice,
)

_TRANSLATED = frozenset(
    {
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p",
        "tools", "tool_choice", "parallel_tool_calls", "text", "user", "safety_identifier",
        "stream",
    }
)  # fmt: skip
_PASSED = frozenset({"top_k"})
_IGNORED = frozenset(
    {
        "metadata", "store", "truncation", "service_tier", "prompt_cache_key",
        "prompt_cache_retention", "include", "stream_options", "max_tool_calls",
    }
)  # fmt: skip


def _absent(value: Any) -> bool:
    return value is None


def _false(value: Any) -> bool:
    return value is None or value is False


def _zero(value: Any) -> bool:
    return value is None or (not isinstance(value, bool) and value == 0)


def _no_effort(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, dict) and value.get("effort") in (None, "none")


#: name → (accepts the value, why anything else is refused)
REFUSED: dict[str, tuple[Callable[[Any], bool], str]] = {
    "previous_response_id": (_absent, STATELESS),
    "conversation": (_absent, STATELESS),
    "prompt": (_absent, "stored prompts do not translate; send instructions and input"),
    "background": (_false, f"background responses do not translate: {STATELESS}"),
    "reasoning": (
        _no_effort,
        "reasoning effort does not translate: the provider's extended thinking must be sent "
        "back with its signatures on later turns, which this API's items do not carry here",
    ),
    "top_logprobs": (_zero, "the provider does not return log probabilities"),
    "thinking": (_absent, "extended thinking is not available on /v1/responses"),
}


@dataclass(frozen=True, slots=True)
class ResponsesTranslation:
    """A translated Responses request: the Anthropic body and what the answer needs.

    ``echo`` holds the request settings the ``response`` object repeats back (``tools``,
    ``tool_choice``, ``text``, ``instructions``, …), already in the Responses shape.
    """

    payload: dict[str, Any]
    model: str
    max_tokens: int
    stream: bool
    answer_tool: str | None  # the tool whose input is the text.format JSON answer
    dropped: tuple[str, ...]  # parameters left out because the API version rejects them
    echo: dict[str, Any]


def translate_responses_request(
    body: dict[str, Any], anthropic_version: str = DEFAULT_ANTHROPIC_VERSION
) -> ResponsesTranslation:
    """Check and translate a Responses body; raises :class:`OpenAIRequestError` (400)."""
    check_names(body, _TRANSLATED | _PASSED | _IGNORED, REFUSED)
    model = body.get("model")
    if model is None:
        raise bad("model", "Field required", "missing_required_parameter")
    if not isinstance(model, str) or not model.strip():
        raise bad("model", "must be a non-empty string", "invalid_type")
    system, turns = translate_input(body.get("input"), body.get("instructions"))
    requested = positive_int(body, "max_output_tokens")
    max_tokens = DEFAULT_MAX_TOKENS if requested is None else requested
    payload: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("stream", "must be a boolean", "invalid_type")
    if stream:
        payload["stream"] = True
    dropped = sampling(body, payload, anthropic_version)
    user = end_user(body)
    if user is not None:
        payload["metadata"] = {"user_id": user}
    text_format = _text_format(body.get("text"))
    answer = _tools(body, text_format, payload)
    if system:
        payload["system"] = system
    echo = _echo(body, text_format)
    return ResponsesTranslation(payload, model, max_tokens, bool(stream), answer, dropped, echo)


def _text_format(text: Any) -> dict[str, Any]:
    """The checked ``text.format`` (``{"type": "text"}`` when absent)."""
    if text is None:
        return {"type": "text"}
    if not isinstance(text, dict):
        raise bad("text", "must be an object", "invalid_type")
    verbosity = text.get("verbosity")
    if verbosity not in (None, "medium"):
        raise bad("text.verbosity", "does not translate to the provider", "unsupported_value")
    unknown = sorted(set(text) - {"format", "verbosity"})
    if unknown:
        raise bad(f"text.{unknown[0]}", "Unrecognized argument", "unsupported_parameter")
    fmt = text.get("format")
    if fmt is None:
        return {"type": "text"}
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise bad("text.format.type", "must be 'text', 'json_object' or 'json_schema'")
    return dict(fmt)


def _tools(
    body: dict[str, Any], text_format: dict[str, Any], payload: dict[str, Any]
) -> str | None:
    """Set tools and tool_choice on ``payload``; return the answer tool's name, if any."""
    tools = _function_tools(body.get("tools"))
    choice = _tool_choice(body.get("tool_choice"), tools)
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise bad("parallel_tool_calls", "must be a boolean", "invalid_type")
    answer: dict[str, Any] | None = None
    if text_format["type"] == "json_object":
        answer = json_object_tool(tools)
    elif text_format["type"] == "json_schema":
        answer = schema_tool(text_format, tools, "text.format")
    if answer is not None:
        choice = force_answer(answer, tools, choice)
        tools = [*tools, answer]
    if parallel is False and tools:
        choice = no_parallel(choice)
    if tools:
        payload["tools"] = tools
    if choice is not None:
        payload["tool_choice"] = choice
    return answer["name"] if answer is not None else None


def _function_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise bad("tools", "must be an array", "invalid_type")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            raise bad(
                f"tools[{i}].type",
                f"{kind!r} tools do not translate: only function tools run through the gateway "
                "(built-in tools such as web_search, file_search or computer use are OpenAI's)",
                "unsupported_value",
            )
        out.append(function_tool(tool, f"tools[{i}]"))
    return out


def _tool_choice(choice: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Anthropic ``tool_choice``; a named function is ``{"type": "function", "name"}``."""
    if choice is None or isinstance(choice, str):
        return translate_tool_choice(choice, tools)
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind != "function":
        raise bad(
            "tool_choice",
            "only 'auto', 'required', 'none' or {'type': 'function', 'name': …} translate",
            "unsupported_value",
        )
    name = choice.get("name")
    if not any(tool["name"] == name for tool in tools):
        raise bad("tool_choice.name", f"no function named {name!r} in tools")
    return {"type": "tool", "name": name}


def _echo(body: dict[str, Any], text_format: dict[str, Any]) -> dict[str, Any]:
    """The request settings a ``response`` object repeats, in the Responses shape.

    Only values of the types the SDK's ``Response`` declares are echoed (an ignored
    parameter is not checked, so a stray type there must not break the client's parsing).
    """
    tools = [
        {
            "type": "function",
            "name": tool["name"],
            "description": _str(tool.get("description")),
            "parameters": tool.get("parameters"),
            "strict": tool.get("strict") if isinstance(tool.get("strict"), bool) else None,
        }
        for tool in body.get("tools") or ()
    ]
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        metadata = {k: v for k, v in metadata.items() if isinstance(k, str) and isinstance(v, str)}
    parallel = body.get("parallel_tool_calls")
    return {
        "instructions": body.get("instructions") or None,
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": metadata if isinstance(metadata, dict) else {},
        "parallel_tool_calls": parallel if isinstance(parallel, bool) else True,
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "text": {"format": _echo_format(text_format), "verbosity": "medium"},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": tools,
        "user": body.get("user"),
        "safety_identifier": body.get("safety_identifier"),
        "prompt_cache_key": _str(body.get("prompt_cache_key")),
    }


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _echo_format(text_format: dict[str, Any]) -> dict[str, Any]:
    """``text.format`` with the fields the response object requires filled in."""
    if text_format["type"] != "json_schema":
        return {"type": text_format["type"]}
    return {
        "type": "json_schema",
        "name": text_format["name"],
        "schema": text_format.get("schema", {"type": "object"}),
        "description": text_format.get("description"),
        "strict": text_format.get("strict"),
    }
