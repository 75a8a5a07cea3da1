"""Cheap structural checks of a Messages request before it costs quota.

The rule: a request the provider would accept is never refused for its shape. The gateway
checks only what it acts on — ``model`` (it routes and prices by it), ``max_tokens`` (it
reserves output quota from it), ``messages`` as a non-empty list of objects (it estimates
input tokens and hashes prompts from them) and ``stream`` (it picks the response path) — plus
size and depth limits (the routes). Everything else is forwarded byte for byte and left to
the provider: roles (the current API takes ``system`` messages inside ``messages``; Claude
Code sends them), content blocks of any type, tools, sampling parameters, betas, fields that do
not exist yet. The one exception is documented and certain: API version 2026-10-21 removed
``temperature``, ``top_p`` and ``top_k`` (a 400 at the provider), so they are refused here
before a key is leased; later versions are not assumed to behave the same and pass through.

Hand-written rather than a pydantic model of the whole body: validating it as a model halved
throughput in measurement. Messages name the field the way the provider does
(``messages.0: …``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from scalegate.errors import InvalidRequestError

#: API versions whose Messages API rejects sampling parameters with a 400 (docs/provider-facts.md:
#: the versions page lists the removal for 2026-10-21). Exact versions only: what a later
#: version does is not known, so it is left to the provider.
SAMPLING_REMOVED_IN = frozenset({"2026-10-21"})
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")


@dataclass(slots=True)
class MessageRequest:
    """A validated Messages request: the parsed payload and the bytes to forward."""

    payload: dict[str, Any]
    body: bytes
    model: str
    max_tokens: int
    stream: bool


def parse_json_object(body: bytes) -> dict[str, Any]:
    if not body:
        raise InvalidRequestError("request body is empty; expected a JSON object")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc.msg}") from None
    if not isinstance(payload, dict):
        raise InvalidRequestError("request body must be a JSON object")
    return payload


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Containers a translation may add around the client's own (OpenAI tool results become
# blocks inside a message): the bracket count must leave room for them.
_DEPTH_SLACK = 8


def check_json_depth(body: bytes, payload: Any, limit: int) -> None:
    """Refuse ``payload`` (parsed from ``body``, perhaps translated) if its arrays and
    objects nest more than ``limit`` deep: a 400 instead of a failure wherever the gateway
    encodes it again (orjson refuses more than 255 levels) or walks it.

    A body with few brackets cannot be deep, and that is most bodies: one C-speed pass
    decides. Only a body with more brackets than ``limit`` is walked (about the cost of
    parsing it once more); string contents count as brackets there, so JSON held in strings
    (OpenAI tool-call arguments, decoded by the translation) is covered too.
    """
    if len(body.translate(None, _NOT_BRACKETS)) + _DEPTH_SLACK <= limit:
        return
    level = [payload] if isinstance(payload, dict | list) else []
    depth = 0
    while level:  # breadth first, one level at a time: each container is visited once
        depth += 1
        if depth > limit:
            raise InvalidRequestError(
                f"request body is nested too deeply: at most {limit} levels of arrays and "
                "objects are accepted"
            )
        below: list[Any] = []
        add = below.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is dict or kind is list:
                    add(child)
        level = below


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise InvalidRequestError("messages: Field required")
    if not isinstance(messages, list):
        raise InvalidRequestError("messages: Input should be a valid list")
    if not messages:
        raise InvalidRequestError("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequestError(f"messages.{i}: Input should be a valid dictionary")


def _check_common(payload: dict[str, Any], version: str) -> str:
    model = payload.get("model")
    if model is None:
        raise InvalidRequestError("model: Field required")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model: Input should be a non-empty string")
    _check_messages(payload.get("messages"))
    if version in SAMPLING_REMOVED_IN:
        for name in SAMPLING_FIELDS:
            if name in payload:
                raise InvalidRequestError(
                    f"{name}: Extra inputs are not permitted (removed in anthropic-version "
                    f"{version})"
                )
    return model


def validate_messages(body: bytes, version: str) -> MessageRequest:
    """Parse and check a ``POST /v1/messages`` body; raises ``InvalidRequestError``."""
    payload = parse_json_object(body)
    model = _check_common(payload, version)
    max_tokens = payload.get("max_tokens")
    if max_tokens is None:
        raise InvalidRequestError("max_tokens: Field required")
    if not _is_int(max_tokens) or max_tokens < 1:
        raise InvalidRequestError("max_tokens: Input should be a positive integer")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError("stream: Input should be a valid boolean")
    return MessageRequest(payload, body, model, max_tokens, stream)


def validate_count_tokens(body: bytes, version: str) -> MessageRequest:
    """Parse and check a ``POST /v1/messages/count_tokens`` body (no ``max_tokens``)."""
    payload = parse_json_object(body)
    model = _check_common(payload, version)
    return MessageRequest(payload, body, model, 0, False)
