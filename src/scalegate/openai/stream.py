"""Anthropic stream events → OpenAI ``chat.completion.chunk`` frames, one event at a time.

:class:`ChunkTranslator` holds only the little state the translation needs (ids, the block →
tool-call index map, usage); nothing is buffered, so each frame leaves as soon as the event
that caused it arrived. The frames, in order:

* ``message_start`` → the first chunk, ``delta: {"role": "assistant", "content": ""}``;
* ``text_delta`` → ``delta.content``;
* a ``tool_use`` block start → ``delta.tool_calls[0]`` with its ``index`` (counting tool
  calls from 0), ``id``, ``type`` and ``function.name`` (``arguments: ""``); each
  ``input_json_delta`` → ``function.arguments`` fragments for that ``index``;
* the json_schema answer tool's ``input_json_delta`` → ``delta.content`` (the JSON answer);
* ``message_delta`` → a chunk with an empty delta and the ``finish_reason``;
* ``message_stop`` → with ``include_usage`` one chunk with ``"choices": []`` and ``usage``
  (every earlier chunk then carries ``"usage": null``, as OpenAI's do), then ``data: [DONE]``.

An ``error`` event becomes ``data: {"error": {…}}`` (the OpenAI SDK raises ``APIError`` on
it) and the stream ends *without* ``[DONE]``; so does a stream that ends before
``message_stop`` (:meth:`ChunkTranslator.close`). Thinking and other block types are skipped.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from scalegate.openai.errors import error_document, from_stream_error
from scalegate.openai.response import completion_id, finish_reason, openai_usage
from scalegate.sse import SSEEvent

DONE = b"data: [DONE]\n\n"
_TEXT, _TOOL, _ANSWER = "text", "tool", "answer"


def frame(document: dict[str, Any]) -> bytes:
    """One data-only SSE frame."""
    return b"data: " + orjson.dumps(document) + b"\n\n"


class ChunkTranslator:
    """Feed it the provider's events in order; send what it returns."""

    def __init__(
        self, *, include_usage: bool = False, answer_tool: str | None = None, model: str = ""
    ) -> None:
        self.include_usage = include_usage
        self.answer_tool = answer_tool
        self.id = completion_id(None)
        self.model = model
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, tuple[str, int]] = {}  # block index → (kind, tool-call index)
        self.tool_calls = 0
        self.finished = False  # message_stop seen: [DONE] sent
        self.failed = False  # an error frame was sent

    @property
    def ended(self) -> bool:
        return self.finished or self.failed

    def feed(self, event: SSEEvent) -> list[bytes]:
        """The frames for one provider event (often none)."""
        if self.ended or event.event in (None, "ping"):
            return []
        if event.event == "error":
            self.failed = True
            return [frame(from_stream_error(event.data))]
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(data, dict):
            return []
        handler = _HANDLERS.get(event.event)
        return handler(self, data) if handler is not None else []

    def close(self) -> list[bytes]:
        """Frames owed when the upstream ends: an error frame unless the answer was complete."""
        if self.ended:
            return []
        self.failed = True
        message = "the upstream stream ended before the answer was complete"
        return [frame(error_document(502, message, code="upstream_incomplete"))]

    # -- per event ------------------------------------------------------------------------

    def _chunk(self, delta: dict[str, Any], reason: str | None = None) -> bytes:
        document: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
        }
        if self.include_usage:
            document["usage"] = None
        return frame(document)

    def _start(self, data: dict[str, Any]) -> list[bytes]:
        message = data.get("message")
        if isinstance(message, dict):
            self.id = completion_id(message.get("id"))
            self.model = str(message.get("model") or self.model)
            if isinstance(message.get("usage"), dict):
                self.usage.update(message["usage"])
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, data: dict[str, Any]) -> list[bytes]:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return []
        kind = block.get("type")
        if kind == "text":
            self.blocks[index] = (_TEXT, 0)
            text = block.get("text")
            return [self._chunk({"content": text})] if isinstance(text, str) and text else []
        if kind != "tool_use":
            return []
        if self.answer_tool is not None and block.get("name") == self.answer_tool:
            self.blocks[index] = (_ANSWER, 0)
            return []
        call = self.tool_calls
        self.tool_calls += 1
        self.blocks[index] = (_TOOL, call)
        function = {"name": block.get("name"), "arguments": ""}
        entry = {"index": call, "id": block.get("id"), "type": "function", "function": function}
        return [self._chunk({"tool_calls": [entry]})]

    def _block_delta(self, data: dict[str, Any]) -> list[bytes]:
        index = data.get("index")
        delta = data.get("delta")
        known = self.blocks.get(index) if isinstance(index, int) else None
        if known is None or not isinstance(delta, dict):
            return []
        kind, call = known
        if kind == _TEXT:
            text = delta.get("text")
            return [self._chunk({"content": text})] if isinstance(text, str) and text else []
        partial = delta.get("partial_json")
        if not isinstance(partial, str) or not partial:
            return []
        if kind == _ANSWER:
            return [self._chunk({"content": partial})]
        entry = {"index": call, "function": {"arguments": partial}}
        return [self._chunk({"tool_calls": [entry]})]

    def _message_delta(self, data: dict[str, Any]) -> list[bytes]:
        if isinstance(data.get("usage"), dict):
            self.usage.update({k: v for k, v in data["usage"].items() if v is not None})
        delta = data.get("delta")
        stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        return [self._chunk({}, finish_reason(stop_reason, self.tool_calls > 0))]

    def _stop(self, data: dict[str, Any]) -> list[bytes]:
        self.finished = True
        frames: list[bytes] = []
        if self.include_usage:
            usage_chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": None,
                "choices": [],
                "usage": openai_usage(self.usage),
            }
            frames.append(frame(usage_chunk))
        frames.append(DONE)
        return frames


_HANDLERS = {
    "message_start": ChunkTranslator._start,
    "content_block_start": ChunkTranslator._block_start,
    "content_block_delta": ChunkTranslator._block_delta,
    "message_delta": ChunkTranslator._message_delta,
    "message_stop": ChunkTranslator._stop,
}
