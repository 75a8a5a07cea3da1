"""Request validation with the provider's 400/404 answers, and the parsed request it yields.

Only what the simulator relies on is checked; unknown fields are ignored, as the provider
tolerates betas and newer parameters. Messages may have the ``system`` role (mid-conversation
system messages, which Claude Code sends); content blocks of types the simulator does not know
are accepted and ignored for answering. Errors are :mod:`scalegate.errors` exceptions whose
message names the offending field.

Two current features shape the answer and are parsed here: structured outputs
(``output_config.format``, or the deprecated ``output_format`` beta field, both
``{"type": "json_schema", "schema": {...}}``) and thinking (``{"type": "enabled",
"budget_tokens": N}`` with 1024 ≤ N < ``max_tokens``, ``{"type": "adaptive"}``, or
``{"type": "disabled"}``; ``display: "omitted"`` returns a signature without the text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from scalegate.errors import InvalidRequestError, NotFoundError
from scalegate.simulator.catalog import ModelCatalog

#: From this API version on, sampling parameters are rejected.
NO_SAMPLING_VERSION = "2026-10-21"
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")
MIN_THINKING_BUDGET = 1024

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
_ROLES = frozenset({"user", "assistant", "system"})
_TOOL_CHOICES = frozenset({"auto", "any", "tool", "none"})
_THINKING_TYPES = frozenset({"enabled", "adaptive", "disabled"})
_THINKING_DISPLAYS = frozenset({"summarized", "omitted"})


@dataclass(frozen=True, slots=True)
class Thinking:
    """The request's thinking configuration, when thinking is on."""

    budget_tokens: int | None  # None for adaptive thinking
    omitted: bool = False  # ``display: "omitted"``: a signature, no thinking text


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A validated ``/v1/messages`` (or ``count_tokens``) body."""

    body: dict[str, Any]
    model: str  # the canonical (dated) model id
    max_tokens: int  # 0 for count_tokens
    stream: bool
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: dict[str, Any] | None
    stop_sequences: list[str]
    output_schema: dict[str, Any] | None = None  # structured outputs: the JSON schema
    thinking: Thinking | None = None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"There was an error parsing the body as JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


def check_version(version: str | None) -> str:
    """The ``anthropic-version`` header, which every endpoint requires."""
    if not version:
        raise InvalidRequestError("anthropic-version: header is required")
    if not _VERSION.fullmatch(version.strip()):
        raise InvalidRequestError(f"anthropic-version: unsupported version {version!r}")
    return version.strip()


def validate_messages(
    body: dict[str, Any], version: str, catalog: ModelCatalog, *, count_only: bool = False
) -> MessagesRequest:
    """Check a messages body; ``count_only`` skips what ``count_tokens`` does not take."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("model: Field required (a non-empty string)")
    canonical = catalog.resolve(model)
    if canonical is None:
        raise NotFoundError(f"model: {model}")
    max_tokens = 0
    if not count_only:
        max_tokens = _check_max_tokens(body.get("max_tokens"), canonical, catalog)
        if version >= NO_SAMPLING_VERSION:
            for name in SAMPLING_FIELDS:
                if name in body:
                    raise InvalidRequestError(
                        f"{name}: is not supported under anthropic-version {version}"
                    )
        else:
            _check_sampling(body)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError("stream: Input should be a valid boolean")
    messages = _check_messages(body.get("messages"))
    _check_system(body.get("system"))
    tools = _check_tools(body.get("tools"))
    tool_choice = _check_tool_choice(body.get("tool_choice"), tools)
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise InvalidRequestError("stop_sequences: must be a list of non-empty strings")
    return MessagesRequest(
        body,
        canonical,
        max_tokens,
        stream,
        messages,
        tools,
        tool_choice,
        list(stops),
        _output_schema(body),
        _check_thinking(body.get("thinking"), max_tokens, count_only=count_only),
    )


def _check_max_tokens(value: Any, model: str, catalog: ModelCatalog) -> int:
    if value is None:
        raise InvalidRequestError("max_tokens: Field required")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError("max_tokens: Input should be a positive integer")
    ceiling = catalog.max_tokens(model)
    if value > ceiling:
        raise InvalidRequestError(
            f"max_tokens: {value} > {ceiling}, which is the maximum allowed number of "
            f"output tokens for {model}"
        )
    return value


def _check_sampling(body: dict[str, Any]) -> None:
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
        ):
            raise InvalidRequestError(f"{name}: Input should be a number between 0 and 1")
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise InvalidRequestError("top_k: Input should be a non-negative integer")


def _check_blocks(blocks: list[Any], where: str) -> None:
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InvalidRequestError(f"{where}.{i}: each content block needs a string 'type'")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise InvalidRequestError(f"{where}.{i}.text: Field required (a string)")


def _check_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages: Field required (a non-empty list)")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequestError(f"messages.{i}: Input should be an object")
        if message.get("role") not in _ROLES:
            raise InvalidRequestError(
                f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'"
            )
        content = message.get("content")
        if isinstance(content, list):
            _check_blocks(content, f"messages.{i}.content")
        elif not isinstance(content, str):
            raise InvalidRequestError(
                f"messages.{i}.content: Input should be a string or a list of content blocks"
            )
    return messages


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise InvalidRequestError("system: Input should be a string or a list of text blocks")
    _check_blocks(system, "system")
    if any(block["type"] != "text" for block in system):
        raise InvalidRequestError("system: only text blocks are allowed")


def _check_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidRequestError("tools: Input should be a list")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise InvalidRequestError(f"tools.{i}.name: Field required (a string)")
    return tools


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    if choice is None:
        return None
    if not isinstance(choice, dict) or choice.get("type") not in _TOOL_CHOICES:
        raise InvalidRequestError("tool_choice.type: Input should be auto, any, tool or none")
    if choice["type"] == "tool":
        name = choice.get("name")
        if not any(tool.get("name") == name for tool in tools):
            raise InvalidRequestError(f"tool_choice.name: no tool named {name!r} in tools")
    elif choice["type"] == "any" and not tools:
        raise InvalidRequestError("tool_choice: 'any' requires at least one tool")
    return choice


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The structured-outputs schema: ``output_config.format``, else ``output_format``."""
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise InvalidRequestError("output_config: Input should be an object")
    where, fmt = "output_config.format", (config or {}).get("format")
    if fmt is None:
        where, fmt = "output_format", body.get("output_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise InvalidRequestError(f"{where}.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise InvalidRequestError(f"{where}.schema: Field required (a JSON schema object)")
    return schema


def _check_thinking(value: Any, max_tokens: int, *, count_only: bool) -> Thinking | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in _THINKING_TYPES:
        raise InvalidRequestError(
            "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'"
        )
    display = value.get("display")
    if display is not None and display not in _THINKING_DISPLAYS:
        raise InvalidRequestError("thinking.display: Input should be 'summarized' or 'omitted'")
    if value["type"] == "disabled":
        return None
    budget = value.get("budget_tokens")
    if value["type"] == "enabled":
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise InvalidRequestError("thinking.budget_tokens: Field required (an integer)")
        if budget < MIN_THINKING_BUDGET:
            raise InvalidRequestError(
                f"thinking.budget_tokens: Input should be greater than or equal to "
                f"{MIN_THINKING_BUDGET}"
            )
        if not count_only and budget >= max_tokens:
            raise InvalidRequestError("max_tokens must be greater than thinking.budget_tokens")
    else:
        budget = None
    return Thinking(budget, omitted=display == "omitted")


def check_context_window(input_tokens: int, context_window: int) -> None:
    """A 400 like the provider's when the prompt exceeds the model's context window."""
    if input_tokens > context_window:
        raise InvalidRequestError(
            f"prompt is too long: {input_tokens} tokens > {context_window} maximum"
        )
