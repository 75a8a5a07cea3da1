"""Which cache a request uses (DESIGN §7) and what an answer must be to be stored.

The mode is the request's ``x-scalegate-cache`` header if present (``exact``, ``semantic`` or
``off``; anything else is a 400), else the tenant's ``cache_mode``, else ``cache.mode``
(default ``off``). ``semantic`` means exact first, then semantic. A mode the server has not
enabled degrades: ``semantic`` without ``cache.semantic.enabled`` is ``exact``; ``exact``
without ``cache.exact.enabled`` is ``off`` (and ``semantic`` then skips the exact step).

What is stored (only complete 2xx answers reach this point; a stream only once its
``message_stop`` arrived without an ``error`` event):

* exact: ``stop_reason`` ``end_turn``, ``stop_sequence`` or ``max_tokens`` (``max_tokens`` is
  part of the key, so the same request would be cut at the same place). Never ``tool_use``
  (a tool call is an action the client is about to take, answered from the live state of the
  world; replaying it from a cache is not the gateway's call), ``pause_turn`` (an unfinished
  server-tool turn) or ``refusal``.
* semantic: ``end_turn`` or ``stop_sequence`` only, with no tool-use block in the answer, for
  requests whose last turn is plain user text (:func:`scalegate.cache.keys.semantic_prompt`:
  a ``tool_result`` turn never qualifies).
"""

from __future__ import annotations

from typing import Any, Literal

from scalegate.errors import InvalidRequestError

Mode = Literal["off", "exact", "semantic"]
MODES: dict[str, Mode] = {"off": "off", "exact": "exact", "semantic": "semantic"}

EXACT_STOP_REASONS = frozenset({"end_turn", "stop_sequence", "max_tokens"})
SEMANTIC_STOP_REASONS = frozenset({"end_turn", "stop_sequence"})
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def parse_mode(header: str) -> Mode:
    mode = MODES.get(header.strip().lower())
    if mode is None:
        raise InvalidRequestError("x-scalegate-cache: must be one of exact, semantic, off")
    return mode


def storable(message: Any) -> tuple[bool, bool]:
    """Whether a Message may be stored in the (exact, semantic) cache."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return False, False
    stop = message.get("stop_reason")
    content = message.get("content")
    if not isinstance(content, list):
        return False, False
    if any(isinstance(b, dict) and b.get("type") in _TOOL_BLOCKS for b in content):
        return False, False
    return stop in EXACT_STOP_REASONS, stop in SEMANTIC_STOP_REASONS
