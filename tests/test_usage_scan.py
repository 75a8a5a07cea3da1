"""The relay's side channel: what a streamed answer is charged must not depend on how the
provider's bytes were cut into reads, nor on whether the tracker parsed every event
(``UsageTracker.see``) or only scanned the chunks (``UsageTracker.scan``, the relay's path).
And the SSE parser hands out the same events however its input is chunked."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from scalegate.sse import SSEEvent, SSEParser, format_event
from scalegate.streaming import UsageTracker
from scalegate.tokens import CHARS_PER_TOKEN

# Text a model may well write: the event names the scan looks for, JSON-significant
# characters, newlines (escaped in the data line), non-ASCII.
PIECES = ["a", " ", "é", "\n", '"', "\\", "error", "message_", "content_block_delta\n", "→"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, int]:
    """A provider stream (``message_start`` … ``message_stop``, or cut, or an ``error``
    event) and how many text deltas it holds."""
    usage = {"input_tokens": draw(st.integers(1, 10**6)), "output_tokens": 1}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "usage": usage}
    parts = [
        format_event("message_start", {"type": "message_start", "message": message}),
        format_event("ping", {"type": "ping"}),
        format_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
    ]
    texts = draw(st.lists(TEXT, max_size=12))
    for text in texts:
        delta = {"type": "text_delta", "text": text}
        parts.append(
            format_event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
        )
    ending = draw(st.sampled_from(["complete", "cut", "error", "no_stop"]))
    if ending in ("complete", "no_stop"):
        parts.append(format_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        done = {"output_tokens": draw(st.integers(0, 10**5))}
        parts.append(
            format_event(
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": done},
            )
        )
    if ending == "complete":
        parts.append(format_event("message_stop", {"type": "message_stop"}))
    if ending == "error":
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        parts.append(format_event("error", error))
    raw = b"".join(parts)
    if draw(st.booleans()):
        raw = raw.replace(b"\n", b"\r\n")
    return raw, len(texts)


def cut(raw: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(raw), *(p % (len(raw) + 1) for p in points)})
    return [raw[a:b] for a, b in pairwise(edges)]


def by_event(raw: bytes) -> UsageTracker:
    tracker = UsageTracker()
    for event in SSEParser().feed(raw):
        tracker.see(event)
    return tracker


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(0, 10**5), max_size=30))
def test_scanning_chunks_learns_what_parsing_every_event_learns(
    stream: tuple[bytes, int], points: list[int]
) -> None:
    raw, deltas = stream
    expected = by_event(raw)
    scanned = UsageTracker()
    for chunk in cut(raw, points):
        scanned.scan(chunk)
    assert scanned.input_tokens == expected.input_tokens
    assert scanned.output_tokens == expected.output_tokens
    assert scanned.finished == expected.finished
    assert scanned.error_type == expected.error_type
    assert scanned.raw == expected.raw
    assert (scanned.first_token is None) == (deltas == 0)
    if expected.output_tokens is not None:
        assert scanned.usage() == expected.usage()


@settings(max_examples=200, deadline=None)
@given(streams(), st.lists(st.integers(0, 10**5), max_size=30))
def test_a_cut_stream_is_charged_no_less_than_its_text(
    stream: tuple[bytes, int], points: list[int]
) -> None:
    """Before ``message_delta`` the output is estimated from the bytes seen: never below
    the text the client received (the provider charges at least that)."""
    raw, _ = stream
    head = raw.split(b"event: message_delta")[0].split(b"event: error")[0]
    scanned = UsageTracker()
    for chunk in cut(head, points):
        scanned.scan(chunk)
    assert scanned.output_tokens is None
    text_chars = sum(
        len(event.json()["delta"]["text"].encode())
        for event in SSEParser().feed(head)
        if event.event == "content_block_delta"
    )
    assert scanned.usage().output_tokens >= math.ceil(text_chars / CHARS_PER_TOKEN) - 1


def reference_events(raw: bytes) -> list[SSEEvent]:
    """The SSE framing read the plain way: one whole buffer, split at blank lines."""
    out = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n")[:-1]:
        name, data = None, []
        for line in block.split(b"\n"):
            if not line or line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if field == b"event":
                name = value.decode()
            elif field == b"data":
                data.append(value)
        if name is not None or data:
            out.append(SSEEvent(name, b"\n".join(data)))
    return out


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(0, 10**5), max_size=30), st.booleans())
def test_the_parser_yields_the_same_events_however_the_bytes_are_cut(
    stream: tuple[bytes, int], points: list[int], comments: bool
) -> None:
    raw, _ = stream
    if comments:  # keep-alive comments and extra blank lines between events
        raw = raw.replace(b"\n\nevent: ping", b"\n\n: keep-alive\n\n\n\nevent: ping")
    parser = SSEParser()
    got = [event for chunk in cut(raw, points) for event in parser.feed(chunk)]
    assert got == reference_events(raw)
    assert parser.pending == b""
