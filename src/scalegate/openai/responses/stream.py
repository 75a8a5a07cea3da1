"""Anthropic stream events → Responses API stream events, one event at a time.

:class:`ResponsesStreamTranslator` is fed the provider's events (parsed with
:class:`~scalegate.sse.SSEParser`) and returns ``event: <type>\\ndata: <json>\\n\\n`` frames,
each with the next ``sequence_number`` (from 0), in the order OpenAI sends them:

* ``message_start`` → ``response.created`` and ``response.in_progress`` (status
  ``in_progress``, no output, no usage);
* a text block → ``response.output_item.added`` (a ``message`` item, no content yet),
  ``response.content_part.added`` (an empty ``output_text``), then one
  ``response.output_text.delta`` per ``text_delta``;
* a ``tool_use`` block → ``response.output_item.added`` (a ``function_call`` item with
  ``arguments: ""``), then ``response.function_call_arguments.delta`` per
  ``input_json_delta``;
* the ``text.format`` answer tool streams as a text block: its JSON is the ``output_text``;
* when a block is finished: ``response.output_text.done``, ``response.content_part.done``
  and ``response.output_item.done`` — or ``response.function_call_arguments.done`` and
  ``response.output_item.done``. These wait for the *next* block or the ``message_delta``,
  because only then is it known whether the item was cut off (``status: incomplete``);
* ``message_stop`` → ``response.completed`` with the whole response and usage, or
  ``response.incomplete`` when the stop reason says so (:data:`.response.INCOMPLETE`).
  The final response is the one :func:`.response.translate_message_to_response` builds.

An upstream ``error`` event becomes an ``error`` event (``code`` is the provider's error
type) followed by ``response.failed`` (``response.error.code`` is ``rate_limit_exceeded`` or
``server_error``, the only two of OpenAI's codes that fit); so does a stream that ends before
``message_stop`` (:meth:`ResponsesStreamTranslator.close`). If that happens before
``message_start``, ``response.created`` is sent first, because the SDK's stream helper
rejects a stream that does not begin with it. Thinking and other block types are skipped.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from scalegate.openai.errors import from_stream_error
from scalegate.openai.responses.request import ResponsesTranslation
from scalegate.openai.responses.response import (
    call_item,
    incomplete_reason,
    message_item,
    message_item_id,
    response_document,
    response_id,
    responses_usage,
    text_part,
)
from scalegate.sse import SSEEvent, format_event

_TEXT, _CALL = "text", "call"


@dataclass(slots=True)
class _Open:
    """An output item being streamed: which block feeds it and what it has said so far."""

    kind: str  # _TEXT (text or the answer tool) or _CALL
    output_index: int
    item: dict[str, Any]
    answer: bool = False  # the text.format answer tool: "{}" if it streamed nothing
    parts: list[str] = field(default_factory=list)


class ResponsesStreamTranslator:
    """Feed it the provider's events in order; send what it returns, then :meth:`close`."""

    def __init__(self, tr: ResponsesTranslation) -> None:
        self.tr = tr
        self.id = "resp_" + secrets.token_hex(12)  # until message_start names the message
        self.model = tr.model
        self.created_at = int(time.time())
        self.sequence = 0
        self.usage: dict[str, Any] = {}
        self.stop_reason: Any = None
        self.output: list[dict[str, Any]] = []  # items, in output order
        self.blocks: dict[int, _Open] = {}  # provider block index → its open item
        self.held: _Open | None = None  # a finished block whose done events wait
        self.started = False  # response.created sent
        self.finished = False  # response.completed / response.incomplete sent
        self.failed = False  # response.failed sent

    @property
    def ended(self) -> bool:
        return self.finished or self.failed

    def feed(self, event: SSEEvent) -> list[bytes]:
        """The frames for one provider event (often none)."""
        if self.ended or event.event in (None, "ping"):
            return []
        if event.event == "error":
            return self._fail(from_stream_error(event.data)["error"])
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(data, dict):
            return []
        handler = _HANDLERS.get(event.event)
        return handler(self, data) if handler is not None else []

    def close(self) -> list[bytes]:
        """Frames owed when the upstream ends: a failure unless the response was complete."""
        if self.ended:
            return []
        message = "the upstream stream ended before the answer was complete"
        return self._fail(
            {"message": message, "type": "server_error", "code": "upstream_incomplete"}
        )

    # -- frames ---------------------------------------------------------------------------

    def _frame(self, kind: str, **fields: Any) -> bytes:
        document = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return format_event(kind, document)

    def _response(self, status: str, **more: Any) -> dict[str, Any]:
        return response_document(
            self.tr,
            self.id,
            created_at=self.created_at,
            model=self.model,
            status=status,
            output=[dict(item) for item in self.output],
            usage=more.pop("usage", None),
            **more,
        )

    def _begin(self) -> list[bytes]:
        self.started = True
        response = self._response("in_progress")
        return [
            self._frame("response.created", response=response),
            self._frame("response.in_progress", response=response),
        ]

    def _fail(self, error: dict[str, Any]) -> list[bytes]:
        frames = [] if self.started else self._begin()
        frames.extend(self._finish_all("incomplete"))
        self.failed = True
        message = str(error.get("message") or "upstream error")
        code = error.get("code")
        frames.append(self._frame("error", code=code, message=message, param=None))
        overall = "rate_limit_exceeded" if code == "rate_limit_error" else "server_error"
        response = self._response(
            "failed",
            usage=responses_usage(self.usage),
            error={"code": overall, "message": message},
        )
        frames.append(self._frame("response.failed", response=response))
        return frames

    # -- per event ------------------------------------------------------------------------

    def _start(self, data: dict[str, Any]) -> list[bytes]:
        message = data.get("message")
        if isinstance(message, dict):
            self.id = response_id(message.get("id"))
            self.model = str(message.get("model") or self.model)
            if isinstance(message.get("usage"), dict):
                self.usage.update(message["usage"])
        return [] if self.started else self._begin()

    def _block_start(self, data: dict[str, Any]) -> list[bytes]:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return []
        kind = block.get("type")
        answer = kind == "tool_use" and block.get("name") == self.tr.answer_tool
        if kind != "text" and kind != "tool_use":
            return []
        frames = self._flush("completed")
        output_index = len(self.output)
        if kind == "text" or answer:
            item = message_item(message_item_id(self.id, output_index), None, "in_progress")
            opened = _Open(_TEXT, output_index, item, answer)
        else:
            item = call_item(block.get("id"), block.get("name"), "", "in_progress")
            opened = _Open(_CALL, output_index, item)
        self.blocks[index] = opened
        self.output.append(item)
        frames.append(
            self._frame("response.output_item.added", output_index=output_index, item=dict(item))
        )
        if opened.kind == _TEXT:
            frames.append(
                self._frame(
                    "response.content_part.added", **self._where(opened), part=text_part("")
                )
            )
            text = block.get("text")
            if kind == "text" and isinstance(text, str) and text:
                frames.extend(self._delta(opened, text))
        return frames

    def _where(self, opened: _Open) -> dict[str, Any]:
        where = {"item_id": opened.item["id"], "output_index": opened.output_index}
        if opened.kind == _TEXT:
            where["content_index"] = 0
        return where

    def _delta(self, opened: _Open, text: str) -> list[bytes]:
        opened.parts.append(text)
        where = self._where(opened)
        if opened.kind == _TEXT:
            return [self._frame("response.output_text.delta", **where, delta=text, logprobs=[])]
        return [self._frame("response.function_call_arguments.delta", **where, delta=text)]

    def _block_delta(self, data: dict[str, Any]) -> list[bytes]:
        index = data.get("index")
        delta = data.get("delta")
        opened = self.blocks.get(index) if isinstance(index, int) else None
        if opened is None or not isinstance(delta, dict):
            return []
        key = "text" if delta.get("type") == "text_delta" else "partial_json"
        text = delta.get(key)
        return self._delta(opened, text) if isinstance(text, str) and text else []

    def _block_stop(self, data: dict[str, Any]) -> list[bytes]:
        index = data.get("index")
        opened = self.blocks.pop(index, None) if isinstance(index, int) else None
        if opened is None:
            return []
        frames = self._flush("completed")
        self.held = opened
        return frames

    def _finish_all(self, status: str) -> list[bytes]:
        """Done events for the held block and any still open (a stream cut short)."""
        frames = self._flush(status)
        for index in sorted(self.blocks):
            self.held = self.blocks.pop(index)
            frames.extend(self._flush("incomplete"))
        return frames

    def _flush(self, status: str) -> list[bytes]:
        """The done events of the held block, its item now ``status``."""
        opened, self.held = self.held, None
        if opened is None:
            return []
        text = "".join(opened.parts)
        where = self._where(opened)
        if opened.kind == _TEXT:
            if not text and opened.answer:
                text = "{}"
            done = message_item(opened.item["id"], text, status)
            frames = [
                self._frame("response.output_text.done", **where, text=text, logprobs=[]),
                self._frame("response.content_part.done", **where, part=text_part(text)),
            ]
        else:
            done = call_item(opened.item["call_id"], opened.item["name"], text or "{}", status)
            frames = [
                self._frame(
                    "response.function_call_arguments.done", **where, arguments=done["arguments"]
                )
            ]
        self.output[opened.output_index] = done
        frames.append(
            self._frame("response.output_item.done", output_index=opened.output_index, item=done)
        )
        return frames

    def _message_delta(self, data: dict[str, Any]) -> list[bytes]:
        if isinstance(data.get("usage"), dict):
            self.usage.update({k: v for k, v in data["usage"].items() if v is not None})
        delta = data.get("delta")
        if isinstance(delta, dict) and delta.get("stop_reason") is not None:
            self.stop_reason = delta["stop_reason"]
        incomplete = incomplete_reason(self.stop_reason)
        return self._flush("completed" if incomplete is None else "incomplete")

    def _stop(self, data: dict[str, Any]) -> list[bytes]:
        incomplete = incomplete_reason(self.stop_reason)
        frames = [] if self.started else self._begin()
        frames.extend(self._finish_all("completed" if incomplete is None else "incomplete"))
        self.finished = True
        status = "completed" if incomplete is None else "incomplete"
        response = self._response(status, usage=responses_usage(self.usage), incomplete=incomplete)
        frames.append(self._frame(f"response.{status}", response=response))
        return frames


_HANDLERS = {
    "message_start": ResponsesStreamTranslator._start,
    "content_block_start": ResponsesStreamTranslator._block_start,
    "content_block_delta": ResponsesStreamTranslator._block_delta,
    "content_block_stop": ResponsesStreamTranslator._block_stop,
    "message_delta": ResponsesStreamTranslator._message_delta,
    "message_stop": ResponsesStreamTranslator._stop,
}
