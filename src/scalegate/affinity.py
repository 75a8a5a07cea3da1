"""Prompt-cache affinity: which prompt-cache prefix a request carries.

The provider's prompt cache belongs to an organisation, so with keys from several
organisations a prefix cached under one key is paid for again under another. A request
whose tools, system prompt or messages carry ``cache_control`` breakpoints gets a hash of
its *stable* prefix — everything up to its first breakpoint (with the model): an agent puts
its first breakpoint after its tools and system prompt and moves the last one every turn,
so hashing up to the last breakpoint would change the hash every turn and send consecutive
turns to different keys. The key pool prefers the key that last served that hash (for as
long as the provider keeps it cached), never at the cost of a quota — an exhausted
preferred key is simply not chosen. The same hash names what the estimator expects to be
read from the prompt cache (:mod:`scalegate.tokens`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def _segments(payload: dict[str, Any]) -> list[Any]:
    """The prompt in the provider's cache order: tools, system, then message blocks."""
    out: list[Any] = []
    tools = payload.get("tools")
    if isinstance(tools, list):
        out.extend(tools)
    system = payload.get("system")
    if isinstance(system, list):
        out.extend(system)
    elif system is not None:
        out.append(system)
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, dict):
                continue
            content = message.get("content")
            role = message.get("role")
            if isinstance(content, list):
                out.extend([role, block] for block in content)
            else:
                out.append([role, content])
    return out


def _marked(segment: Any) -> bool:
    if isinstance(segment, dict):
        return "cache_control" in segment
    if isinstance(segment, list) and len(segment) == 2 and isinstance(segment[1], dict):
        return "cache_control" in segment[1]
    return False


def prefix_hash(model: str, body: bytes, payload: dict[str, Any]) -> str | None:
    """A hash of the stable cached prefix (up to the first breakpoint), or ``None`` when
    the request marks no breakpoint."""
    if b"cache_control" not in body:
        return None
    segments = _segments(payload)
    first = next((i for i, s in enumerate(segments) if _marked(s)), -1)
    if first < 0 and payload.get("cache_control") is not None:
        # Automatic caching without explicit breakpoints: tools and system are the stable
        # part; with neither, the first message.
        fixed = len(segments) - _message_segments(payload)
        first = fixed - 1 if fixed > 0 else 0
    if first < 0 or not segments:
        return None
    digest = hashlib.sha256(model.encode())
    digest.update(orjson.dumps(segments[: first + 1], option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:32]


def _message_segments(payload: dict[str, Any]) -> int:
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return 0
    count = 0
    for message in messages:
        if isinstance(message, dict):
            content = message.get("content")
            count += len(content) if isinstance(content, list) else 1
    return count
