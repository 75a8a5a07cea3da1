"""A Message and its stream, both ways: assemble a streamed answer, replay a stored one.

The cache stores one form, the final Message JSON the provider would have answered to a
plain request. :class:`MessageAssembler` rebuilds it from a stream's events as they pass
through (text, thinking, signature, tool input and citation deltas), and
:func:`message_events` turns a stored Message back into the event sequence the provider sends
(``message_start`` with ``output_tokens: 1``, ``ping``, per block ``content_block_start`` /
one ``content_block_delta`` / ``content_block_stop``, ``message_delta`` with the stop reason
and usage, ``message_stop``), which the official SDKs accumulate to the same Message.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from scalegate.sse import SSEEvent, SSEParser, format_event


class MessageAssembler:
    """Feed it a stream's raw bytes; :attr:`message` is the Message once ``message_stop`` came."""

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._message: dict[str, Any] | None = None
        self._partial: dict[int, str] = {}
        self.finished = False
        self.failed = False

    def feed(self, chunk: bytes) -> None:
        if self.failed:
            return
        for event in self._parser.feed(chunk):
            try:
                self._see(event)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                self.failed = True  # an event we do not understand: do not store this one
                return

    @property
    def message(self) -> dict[str, Any] | None:
        return self._message if self.finished and not self.failed else None

    def _see(self, event: SSEEvent) -> None:
        name = event.event
        if name in (None, "ping"):
            return
        if name == "error":
            self.failed = True
            return
        data = orjson.loads(event.data)
        if name == "message_start":
            self._message = dict(data["message"])
            self._message["content"] = list(self._message.get("content") or [])
            return
        if self._message is None:
            raise ValueError("event before message_start")
        if name == "content_block_start":
            self._block_start(int(data["index"]), data["content_block"])
        elif name == "content_block_delta":
            self._delta(int(data["index"]), data["delta"])
        elif name == "content_block_stop":
            index = int(data["index"])
            if index in self._partial:
                raw = self._partial.pop(index)
                self._message["content"][index]["input"] = orjson.loads(raw) if raw else {}
        elif name == "message_delta":
            self._message.update(data.get("delta") or {})
            usage = dict(self._message.get("usage") or {})
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            self._message["usage"] = usage
        elif name == "message_stop":
            self.finished = True

    def _block_start(self, index: int, block: dict[str, Any]) -> None:
        assert self._message is not None
        content = self._message["content"]
        while len(content) <= index:
            content.append({})
        content[index] = dict(block)
        if content[index].get("type") in ("tool_use", "server_tool_use", "mcp_tool_use"):
            self._partial[index] = ""

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        assert self._message is not None
        block = self._message["content"][index]
        kind = delta["type"]
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._partial[index] = self._partial.get(index, "") + delta["partial_json"]
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = block.get("signature", "") + delta["signature"]
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])
        else:
            raise ValueError(f"unknown delta {kind}")


_DELTA_FIELDS = {"text": "text_delta", "thinking": "thinking_delta"}


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    kind = block.get("type")
    start = copy.deepcopy(block)
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start["text"] = ""
        citations = start.pop("citations", None)
        if citations:
            start["citations"] = []
            deltas += [{"type": "citations_delta", "citation": c} for c in citations]
        deltas.insert(0, {"type": "text_delta", "text": block.get("text", "")})
    elif kind == "thinking":
        start["thinking"] = ""
        start["signature"] = ""
        deltas.append({"type": "thinking_delta", "thinking": block.get("thinking", "")})
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        start["input"] = {}
        raw = orjson.dumps(block.get("input", {})).decode()
        deltas.append({"type": "input_json_delta", "partial_json": raw})
    out = [
        format_event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    out += [
        format_event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
        )
        for d in deltas
    ]
    out.append(format_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


def message_events(message: dict[str, Any]) -> bytes:
    """The SSE byte stream that accumulates to ``message``."""
    usage = dict(message.get("usage") or {})
    head = {k: v for k, v in message.items() if k not in ("content", "usage")}
    head.update({"content": [], "stop_reason": None, "stop_sequence": None})
    head["usage"] = {**usage, "output_tokens": min(1, int(usage.get("output_tokens") or 0))}
    parts = [
        format_event("message_start", {"type": "message_start", "message": head}),
        format_event("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message.get("content") or []):
        parts += _block_events(index, block)
    delta: dict[str, Any] = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
    }
    parts.append(
        format_event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
    )
    parts.append(format_event("message_stop", {"type": "message_stop"}))
    return b"".join(parts)
