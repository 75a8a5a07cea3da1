"""Server-sent events: the Anthropic stream framing (``event: name`` + ``data: json``).

The gateway never re-encodes a stream it passes through; it feeds the same bytes to
:class:`SSEParser` on the side to learn usage and to spot an ``error`` event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson


def format_event(name: str, data: Any) -> bytes:
    """One named event, framed as the provider frames it."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: bytes

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEParser:
    """Incremental parser: feed arbitrary byte chunks, get complete events back."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[SSEEvent]:
        # What is kept is set before the events are handed out: a caller that stops
        # iterating early has still consumed every complete event of this chunk.
        buffer, end, self._buffer = framed(self._buffer, chunk)
        if end >= 0:
            yield from events_in(buffer, end)

    @property
    def pending(self) -> bytes:
        """Bytes received that do not yet form a complete event."""
        return self._buffer


def framed(pending: bytes, chunk: bytes) -> tuple[bytes, int, bytes]:
    """``pending + chunk`` (CRLF read as LF), where its last complete event ends (the index
    of the blank line after it; -1 when none has) and the bytes after that, to keep."""
    buffer = pending + chunk if pending else chunk
    if b"\r" in buffer:
        buffer = buffer.replace(b"\r\n", b"\n")
    end = buffer.rfind(b"\n\n")
    return buffer, end, buffer if end < 0 else buffer[end + 2 :]


def events_in(buffer: bytes, end: int, start: int = 0) -> Iterator[SSEEvent]:
    """The events of ``buffer[start:end]``, complete events separated by blank lines (one
    pass: a chunk of many events is never re-sliced per event)."""
    while start <= end:
        stop = buffer.find(b"\n\n", start, end + 2)
        if stop < 0:
            break
        event = _parse_block(buffer[start:stop])
        start = stop + 2
        if event is not None:
            yield event


def _parse_block(block: bytes) -> SSEEvent | None:
    name: str | None = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"event":
            name = value.decode("utf-8", "replace")
        elif field == b"data":
            data.append(value)
    if name is None and not data:
        return None
    return SSEEvent(name, b"\n".join(data))
