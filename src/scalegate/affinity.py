"""Prompt-cache affinity: which prompt-cache prefix a request carries.

The provider's prompt cache belongs to an organisation, so with keys from several
organisations a prefix cached under one key is paid for again under another. A request
whose system prompt, tools or messages carry ``cache_control`` breakpoints gets a hash of
everything up to its last breakpoint (with the model); the key pool prefers the key that
last served that hash (for as long as the provider keeps it cached), never at the cost of a
quota — an exhausted preferred key is simply not chosen.
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
    """A hash of the cached prefix, or ``None`` when the request marks no breakpoint."""
    if b"cache_control" not in body:
        return None
    segments = _segments(payload)
    if payload.get("cache_control") is not None:  # automatic caching: the whole prompt
        last = len(segments) - 1
    else:
        last = max((i for i, s in enumerate(segments) if _marked(s)), default=-1)
    if last < 0:
        return None
    digest = hashlib.sha256(model.encode())
    digest.update(orjson.dumps(segments[: last + 1], option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:32]
