"""The simulator's own token rule, and the prompt prefixes that prompt caching hashes.

The rule (deliberately simple, and independent of the gateway's estimator)::

    input_tokens = ceil(text_bytes / 4) + 1000 × media_blocks + 3 × messages + 5

``text_bytes`` is the UTF-8 length of all text in the request, in the provider's prompt
order — tools, then system, then messages:

* each tool definition: its compact JSON (``cache_control`` left out);
* ``system``: the string, or the ``text`` of each block;
* message content: the string, or per block — ``text``: its text; ``tool_use``: the JSON of
  its ``input`` plus its ``name``; ``tool_result``: its content (string, or text blocks, with
  image/document blocks inside counted as media); ``thinking``: its thinking text;
  ``image``/``document``: no bytes but one media block (a flat 1000 tokens); any other block
  type: its compact JSON.

Output tokens are counted by :mod:`scalegate.simulator.answers`: one word, one token.

Prompt caching: a ``cache_control`` on a tool, a system block or a message block (or on the
request itself, which marks the last block) is a breakpoint. The prefix through a breakpoint
counts by the same rule restricted to the prefix — its bytes, its media, every message up to
and including the one the breakpoint is in, and the fixed 5 — so it never exceeds the total.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

MEDIA_TOKENS = 1000
PER_MESSAGE_TOKENS = 3
PER_REQUEST_TOKENS = 5
MEDIA_TYPES = frozenset({"image", "document"})


@dataclass(frozen=True, slots=True)
class Segment:
    """One countable piece of the prompt, in prompt order."""

    nbytes: int
    media: int
    message: int | None  # index of the message it belongs to; None for tools and system
    breakpoint: bool
    fingerprint: bytes  # what identifies it for the prompt cache


@dataclass(frozen=True, slots=True)
class Prefix:
    """A cacheable prompt prefix: its hash (per model) and its token count."""

    digest: str
    tokens: int


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _without_cache_control(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


def _block_size(block: dict[str, Any]) -> tuple[int, int]:
    """UTF-8 bytes and media count of one content block."""
    kind = block.get("type")
    if kind == "text":
        return len(str(block.get("text", "")).encode()), 0
    if kind in MEDIA_TYPES:
        return 0, 1
    if kind == "tool_use":
        return len(_dumps(block.get("input", {}))) + len(str(block.get("name", "")).encode()), 0
    if kind == "tool_result":
        return _content_size(block.get("content", ""))
    if kind == "thinking":
        return len(str(block.get("thinking", "")).encode()), 0
    return len(_dumps(_without_cache_control(block))), 0


def _content_size(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return len(content.encode()), 0
    nbytes = media = 0
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                b, m = _block_size(block)
                nbytes += b
                media += m
    return nbytes, media


def _has_breakpoint(block: Any) -> bool:
    return isinstance(block, dict) and block.get("cache_control") is not None


def _segments(body: dict[str, Any]) -> Iterator[Segment]:
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            clean = _dumps(_without_cache_control(tool))
            yield Segment(len(clean), 0, None, _has_breakpoint(tool), b"tool" + clean)
    system = body.get("system")
    if isinstance(system, str):
        if system:
            yield Segment(len(system.encode()), 0, None, False, b"system" + system.encode())
    elif isinstance(system, list):
        for block in system:
            if isinstance(block, dict):
                nbytes, media = _block_size(block)
                fp = b"system" + _dumps(_without_cache_control(block))
                yield Segment(nbytes, media, None, _has_breakpoint(block), fp)
    for index, message in enumerate(body.get("messages") or ()):
        role = str(message.get("role", "")).encode()
        content = message.get("content")
        head = b"message:%d:%s:" % (index, role)
        if isinstance(content, str):
            yield Segment(len(content.encode()), 0, index, False, head + content.encode())
            continue
        for block in content or ():
            if isinstance(block, dict):
                nbytes, media = _block_size(block)
                fp = head + _dumps(_without_cache_control(block))
                yield Segment(nbytes, media, index, _has_breakpoint(block), fp)


def prompt_segments(body: dict[str, Any]) -> list[Segment]:
    """The prompt of a (validated) request body as segments in prompt order.

    A top-level ``cache_control`` turns the last segment into a breakpoint, as the
    provider's automatic caching marks the last cacheable block.
    """
    segments = list(_segments(body))
    if body.get("cache_control") is not None and segments:
        last = segments[-1]
        segments[-1] = Segment(last.nbytes, last.media, last.message, True, last.fingerprint)
    return segments


def _rule(nbytes: int, media: int, messages: int) -> int:
    return (
        math.ceil(nbytes / 4)
        + MEDIA_TOKENS * media
        + PER_MESSAGE_TOKENS * messages
        + (PER_REQUEST_TOKENS)
    )


def count_input_tokens(body: dict[str, Any]) -> int:
    """Input tokens of a (validated) request body by the simulator's rule."""
    segments = prompt_segments(body)
    return _rule(
        sum(s.nbytes for s in segments),
        sum(s.media for s in segments),
        len(body.get("messages") or ()),
    )


def cache_prefixes(model: str, segments: list[Segment]) -> list[Prefix]:
    """One :class:`Prefix` per breakpoint, shortest first; empty when nothing is marked."""
    prefixes: list[Prefix] = []
    hasher = hashlib.blake2b(model.encode(), digest_size=16)
    nbytes = media = messages = 0
    for segment in segments:
        hasher.update(len(segment.fingerprint).to_bytes(8, "big") + segment.fingerprint)
        nbytes += segment.nbytes
        media += segment.media
        if segment.message is not None:
            messages = segment.message + 1
        if segment.breakpoint:
            prefixes.append(Prefix(hasher.copy().hexdigest(), _rule(nbytes, media, messages)))
    return prefixes
