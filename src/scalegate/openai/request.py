"""An OpenAI chat completions body → an Anthropic Messages body (:func:`translate_request`).

Hand-written checks, no model of the whole body (DESIGN §11). Every parameter OpenAI
documents falls in exactly one of these sets, and a name in none of them is a 400
(``Unrecognized request argument supplied``), as OpenAI itself answers:

* translated — ``model``, ``messages``, ``max_completion_tokens``/``max_tokens`` (default
  :data:`DEFAULT_MAX_TOKENS`), ``stop``, ``temperature``, ``top_p``, ``tools``,
  ``tool_choice``, ``parallel_tool_calls``, ``response_format``, ``user`` and
  ``safety_identifier`` (→ ``metadata.user_id``), ``stream``, ``stream_options``;
* passed through for Anthropic features (send them with the SDK's ``extra_body``) —
  ``top_k``, ``thinking``;
* ignored, because they do not change the answer or only concern OpenAI's platform —
  ``store``, ``metadata``, ``service_tier``, ``seed`` (OpenAI does not promise determinism
  either), ``prompt_cache_key``;
* refused with a 400 unless they have their no-op value (:data:`REFUSED`): ``n`` > 1,
  ``logprobs``, ``top_logprobs``, ``audio``, ``modalities`` other than text, ``prediction``,
  ``frequency_penalty``/``presence_penalty`` ≠ 0, ``logit_bias``, ``functions``,
  ``function_call``, ``reasoning_effort``, ``verbosity``, ``web_search_options``.

``temperature`` above 1 is a 400 too: the provider's range is 0–1 and silently clamping
would change the sampling the caller asked for. With an ``anthropic-version`` that rejects
sampling parameters (2026-10-21 and later), ``temperature``, ``top_p`` and ``top_k`` are
dropped and named in :attr:`Translation.dropped` (the route echoes them in
``x-scalegate-dropped-params``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scalegate.openai.errors import OpenAIRequestError
from scalegate.openai.messages import bad, translate_messages
from scalegate.openai.tools import (
    answer_instruction,
    answer_tool,
    force_answer,
    no_parallel,
    thinking_on,
    translate_tool_choice,
    translate_tools,
)

DEFAULT_MAX_TOKENS = 4096
#: Sent upstream unless the client sends its own ``anthropic-version`` header.
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
#: From this API version on the provider rejects sampling parameters (PROVIDER-NOTES).
NO_SAMPLING_VERSION = "2026-10-21"

_TRANSLATED = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "stop", "temperature",
        "top_p", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user",
        "safety_identifier", "stream", "stream_options",
    }
)  # fmt: skip
_PASSED = frozenset({"top_k", "thinking"})
_IGNORED = frozenset({"store", "metadata", "service_tier", "seed", "prompt_cache_key"})
_SAMPLING = ("temperature", "top_p", "top_k")


def _absent(value: Any) -> bool:
    return value is None


def _one(value: Any) -> bool:
    return value is None or value == 1


def _false(value: Any) -> bool:
    return value is None or value is False


def _zero(value: Any) -> bool:
    return value is None or (not isinstance(value, bool) and value == 0)


def _empty(value: Any) -> bool:
    return value is None or value == {}


def _text_only(value: Any) -> bool:
    return value is None or value == ["text"]


#: name → (accepts the value, why anything else is refused)
REFUSED: dict[str, tuple[Callable[[Any], bool], str]] = {
    "n": (_one, "only one choice per request translates (n must be 1); send n requests"),
    "logprobs": (_false, "the provider does not return log probabilities"),
    "top_logprobs": (_zero, "the provider does not return log probabilities"),
    "audio": (_absent, "audio output does not translate to the provider"),
    "modalities": (_text_only, "only text output translates"),
    "prediction": (_absent, "predicted outputs do not translate to the provider"),
    "frequency_penalty": (_zero, "the provider has no frequency penalty"),
    "presence_penalty": (_zero, "the provider has no presence penalty"),
    "logit_bias": (_empty, "the provider has no logit bias"),
    "functions": (_absent, "the deprecated functions parameter does not translate; use tools"),
    "function_call": (_absent, "the deprecated function_call does not translate; use tool_choice"),
    "reasoning_effort": (_absent, "does not translate; send Anthropic's thinking in extra_body"),
    "verbosity": (_absent, "does not translate to the provider"),
    "web_search_options": (_absent, "web search does not translate to the provider"),
}


@dataclass(frozen=True, slots=True)
class Translation:
    """A translated request: the Anthropic body and what the answer's translation needs."""

    payload: dict[str, Any]
    model: str
    max_tokens: int
    stream: bool
    include_usage: bool  # stream_options.include_usage: one usage chunk before [DONE]
    answer_tool: str | None  # the tool whose input is the json_schema/json_object answer
    dropped: tuple[str, ...]  # parameters left out because the API version rejects them


def translate_request(
    body: dict[str, Any], version: str = DEFAULT_ANTHROPIC_VERSION
) -> Translation:
    """Check and translate an OpenAI body; raises :class:`OpenAIRequestError` (400)."""
    check_names(body, _TRANSLATED | _PASSED | _IGNORED, REFUSED)
    model = body.get("model")
    if model is None:
        raise bad("model", "Field required", "missing_required_parameter")
    if not isinstance(model, str) or not model.strip():
        raise bad("model", "must be a non-empty string", "invalid_type")
    system, messages = translate_messages(body.get("messages"))
    max_tokens = _max_tokens(body)
    payload: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    stream, include_usage = _stream(body)
    if stream:
        payload["stream"] = True
    stops = _stops(body.get("stop"))
    if stops:
        payload["stop_sequences"] = stops
    dropped = sampling(body, payload, version)
    user = end_user(body)
    if user is not None:
        payload["metadata"] = {"user_id": user}
    if body.get("thinking") is not None:
        payload["thinking"] = body["thinking"]
    answer = _tools(body, payload)
    if answer is not None and thinking_on(payload.get("thinking")):
        system.append({"type": "text", "text": answer_instruction(answer)})
    if system:
        payload["system"] = system
    name = answer["name"] if answer is not None else None
    return Translation(payload, model, max_tokens, stream, include_usage, name, dropped)


def check_names(
    body: dict[str, Any],
    accepted: frozenset[str],
    refused_values: dict[str, tuple[Callable[[Any], bool], str]],
) -> None:
    """400 for a name in neither set, or a refused name whose value is not its no-op."""
    for name, value in body.items():
        if name in accepted:
            continue
        refused = refused_values.get(name)
        if refused is None:
            raise OpenAIRequestError(
                f"Unrecognized request argument supplied: {name}",
                param=name,
                code="unsupported_parameter",
            )
        accepts, why = refused
        if not accepts(value):
            raise bad(name, why, "unsupported_parameter")


def positive_int(body: dict[str, Any], name: str) -> int | None:
    """``body[name]`` checked to be a positive integer (``None`` when absent)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad(name, "must be a positive integer")
    return value


def _max_tokens(body: dict[str, Any]) -> int:
    newer = positive_int(body, "max_completion_tokens")
    older = positive_int(body, "max_tokens")
    if newer is not None and older is not None and newer != older:
        raise bad("max_tokens", "differs from max_completion_tokens; send only one of them")
    chosen = newer if newer is not None else older
    return DEFAULT_MAX_TOKENS if chosen is None else chosen


def _stream(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("stream", "must be a boolean", "invalid_type")
    options = body.get("stream_options")
    if options is None:
        return bool(stream), False
    if not stream:
        raise bad("stream_options", "is only allowed when stream is true")
    if not isinstance(options, dict):
        raise bad("stream_options", "must be an object", "invalid_type")
    include_usage = options.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise bad("stream_options.include_usage", "must be a boolean", "invalid_type")
    return True, include_usage


def _stops(stop: Any) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise bad("stop", "must be a non-empty string or an array of non-empty strings")
    return stops


def _number(body: dict[str, Any], name: str, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise bad(name, f"must be a number between 0 and {high:g}")
    return value


def sampling(body: dict[str, Any], payload: dict[str, Any], version: str) -> tuple[str, ...]:
    """Copy temperature/top_p/top_k into ``payload``; return the names the version drops."""
    temperature = _number(body, "temperature", 2)
    if temperature is not None and temperature > 1:
        raise bad(
            "temperature",
            "the provider accepts 0 to 1; values above 1 do not translate",
            "unsupported_value",
        )
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise bad("top_k", "must be a non-negative integer")
    values = {"temperature": temperature, "top_p": _number(body, "top_p", 1), "top_k": top_k}
    present = {name: value for name, value in values.items() if value is not None}
    if version >= NO_SAMPLING_VERSION:
        return tuple(name for name in _SAMPLING if name in present)
    payload.update(present)
    return ()


def end_user(body: dict[str, Any]) -> str | None:
    """``user`` or ``safety_identifier`` (the first non-empty), for ``metadata.user_id``."""
    for name in ("user", "safety_identifier"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad(name, "must be a string", "invalid_type")
        if value:
            return value
    return None


def _tools(body: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None:
    """Set tools and tool_choice on ``payload``; return the answer tool, if any."""
    tools = translate_tools(body.get("tools"))
    choice = translate_tool_choice(body.get("tool_choice"), tools)
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise bad("parallel_tool_calls", "must be a boolean", "invalid_type")
    answer = answer_tool(body.get("response_format"), tools)
    if answer is not None:
        choice = force_answer(answer, tools, choice, thinking=thinking_on(body.get("thinking")))
        tools = [*tools, answer]
    if parallel is False and tools:
        choice = no_parallel(choice)
    if tools:
        payload["tools"] = tools
    if choice is not None:
        payload["tool_choice"] = choice
    return answer
