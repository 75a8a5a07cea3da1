"""The upstream side of a streamed ``POST /v1/messages``: relayed as it arrives, settled at
its end (the pipeline's streaming mode; :mod:`scalegate.attempts` opens it).

The gateway holds back only the opening of a stream, until its first content event (for at
most ``upstream.stream_hold_seconds``). If the provider says ``error`` before content (it
answered 200 and then said it is overloaded), or the connection breaks, nothing has reached
the client yet, so the attempt counts as failed and the pipeline retries on another key.
Otherwise the held events and every later chunk are forwarded the moment they arrive, as the
provider framed them (never re-encoded). On the side, the same bytes are scanned to learn the usage
(``message_start``, ``message_delta``: only such events are parsed, text deltas are counted)
so the lease can be settled — also when the client disconnects mid-stream, in which case the
upstream connection is closed at once and the output tokens seen so far are what is charged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import aiohttp
import orjson

from scalegate.call import Reply, usage_from_message
from scalegate.errors import ERROR_TYPES
from scalegate.keys.lease import Lease, Outcome, Usage
from scalegate.keys.pool import KeyPool
from scalegate.retry import classify_stream_error
from scalegate.sse import SSEEvent, SSEParser, events_in, framed
from scalegate.tokens import CHARS_PER_TOKEN
from scalegate.upstream.headers import response_headers

logger = logging.getLogger(__name__)

# What a client receives when the provider's stream breaks off mid-way (issue: never a
# silent truncation); the provider's own error event shape.
CUT_EVENT = (
    b"event: error\ndata: "
    + orjson.dumps(
        {"type": "error", "error": {"type": "api_error", "message": "upstream connection lost"}}
    )
    + b"\n\n"
)

# error.type → HTTP status (the first status listed for each type).
STATUS_OF_TYPE = {t: status for status, t in sorted(ERROR_TYPES.items(), reverse=True)}


class UsageTracker:
    """Follows a stream's events to know what the provider will count for it."""

    __slots__ = (
        "error_type",
        "finished",
        "first_token",
        "input_tokens",
        "output_tokens",
        "partial_chars",
        "pending",
        "raw",
        "total",
    )

    def __init__(self) -> None:
        self.input_tokens = 0
        self.total = 0
        self.output_tokens: int | None = None
        self.partial_chars = 0
        self.finished = False
        self.error_type: str | None = None
        self.raw: dict[str, Any] = {}  # the provider's usage document, as far as it got
        self.first_token: float | None = None  # perf_counter of the first content delta
        self.pending = b""  # the start of an event whose end has not arrived

    def scan(self, chunk: bytes) -> None:
        """Learn from relayed bytes without parsing every event: text deltas — nearly all of
        a stream — are counted in C; only a run of events that may hold one the tracker
        acts on (``message_*``, ``error``) is parsed. Same outcome as :meth:`see` per event
        (the partial output estimate is per run, not per event)."""
        buffer, end, self.pending = framed(self.pending, chunk)
        if end < 0:
            return
        # An event line ends at its name; in a data line the name is followed by a quote.
        deltas = buffer.count(b"content_block_delta\n", 0, end + 2)
        if deltas:
            if self.first_token is None:
                self.first_token = time.perf_counter()
            if self.output_tokens is None:
                self.partial_chars += max(0, end + 2 - deltas * _DELTA_FRAMING)
        found = [at for at in (buffer.find(b"message_", 0, end), buffer.find(b"error", 0, end))]
        first = min((at for at in found if at >= 0), default=-1)
        if first >= 0:  # parsed from the start of the event that holds it
            start = buffer.rfind(b"\n\n", 0, first)
            for event in events_in(buffer, end, 0 if start < 0 else start + 2):
                if event.event != "content_block_delta":
                    self.see(event)

    def see(self, event: SSEEvent) -> None:
        name = event.event
        if name == "content_block_delta":
            if self.first_token is None:
                self.first_token = time.perf_counter()
            if self.output_tokens is None:
                self.partial_chars += max(0, len(event.data) - 80)
            return
        if name == "message_start":
            data = _json(event)
            message = data.get("message") if data else None
            counted = usage_from_message(message)
            if counted is not None:
                self.raw = dict(message["usage"])  # type: ignore[index]  # usage_from_message checked it is a dict
                self.input_tokens, self.total = counted[0].input_tokens, counted[1]
                self.output_tokens = None
        elif name == "message_delta":
            data = _json(event)
            usage = data.get("usage") if data else None
            if isinstance(usage, dict) and usage.get("output_tokens") is not None:
                self.output_tokens = int(usage["output_tokens"])
                self.raw.update(usage)
        elif name == "message_stop":
            self.finished = True
        elif name == "error":
            data = _json(event)
            error = data.get("error") if data else None
            self.error_type = str(error.get("type")) if isinstance(error, dict) else "api_error"

    def usage(self) -> Usage:
        out = self.output_tokens
        if out is None:
            out = math.ceil(self.partial_chars / CHARS_PER_TOKEN)
        return Usage(self.input_tokens, out)


# A text delta's bytes that are not text: its event line, its JSON envelope (the 80 that
# :meth:`UsageTracker.see` subtracts from the data) and the blank line.
_DELTA_FRAMING = len(b"event: content_block_delta\ndata: \n\n") + 80


def _json(event: SSEEvent) -> dict[str, Any] | None:
    try:
        data = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


class MessageStream:
    """An open upstream stream whose first event is known not to be an error.

    Iterate it to get the bytes to forward; the lease is settled when iteration ends,
    fails, or is abandoned (``aclose``), exactly once.
    """

    def __init__(
        self,
        pool: KeyPool,
        lease: Lease,
        resp: aiohttp.ClientResponse,
        head: bytes,
        tracker: UsageTracker,
        learn: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.learn = learn  # told the complete usage of a finished stream (estimates)
        self.pool = pool
        self.lease = lease
        self.resp = resp
        self.head = head
        self.tracker = tracker
        self.headers = response_headers(resp.headers)
        self._outcome = Outcome.CANCELLED
        self._settled = False
        self.cut = False  # the provider's stream broke off after content was forwarded

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        """The bytes to forward. A stream the provider cuts before its ``message_stop``
        ends with an SSE ``error`` event (``api_error``, "upstream connection lost"), so
        SDKs raise instead of returning a silently truncated message."""
        try:
            if self.head:  # empty when the hold ran out before the provider said anything
                yield self.head
            try:
                scan, read = self.tracker.scan, self.resp.content.readany
                # readany() itself, not iter_any(): one coroutine frame less per chunk.
                while chunk := await read():
                    scan(chunk)
                    yield chunk
            except (aiohttp.ClientError, TimeoutError):
                pass  # judged below, as a stream that ended without its final event
            if self.tracker.error_type is not None:
                self._outcome = classify_stream_error(self.tracker.error_type)
            elif self.tracker.finished:
                self._outcome = Outcome.SUCCESS
            else:
                self._outcome = Outcome.CONNECTION_ERROR
                self.cut = True
                logger.warning(
                    "upstream stream broke off after content was forwarded",
                    extra={"key": self.lease.key.fingerprint, "event": "stream_cut"},
                )
                yield CUT_EVENT
        finally:
            await asyncio.shield(self.finish())

    async def finish(self) -> None:
        """Close the upstream response and settle the lease (idempotent)."""
        self.resp.close()
        if self._settled:
            return
        self._settled = True
        if self._outcome is Outcome.SUCCESS and self.learn is not None:
            self.learn(self.tracker.raw)
        await self.pool.settle(self.lease, self._outcome, self.tracker.usage(), self.resp.headers)


# Events after which the answer has begun: until one of them, nothing the client receives
# would be lost by retrying the call elsewhere (message_start, content_block_start and ping
# carry no content).
_CONTENT = frozenset({"content_block_delta", "message_delta", "message_stop", "error"})


async def first_event(
    pool: KeyPool,
    lease: Lease,
    resp: aiohttp.ClientResponse,
    learn: Callable[[dict[str, Any]], None] | None = None,
    hold_seconds: float = math.inf,
) -> tuple[Outcome, MessageStream | Reply | None, int]:
    """Read an opened 200 stream up to its first content event, holding back what precedes
    it (``message_start``, ``content_block_start``, ``ping``: a few hundred bytes) for at
    most ``hold_seconds``; past that (a long time to first token) the stream is relayed as it
    is, so that no client or load balancer in front sees a silent connection for long — a
    failure after that is a cut stream, no longer retried.

    Returns ``(SUCCESS, stream, 200)`` once content began or the hold ran out; an ``error``
    event before any content becomes a proper HTTP error ``Reply`` with the outcome it means
    (so the attempt loop retries an ``overloaded_error``); a connection that ends or breaks
    before content is ``(CONNECTION_ERROR, None, 0)``, retried on another key like a dropped
    plain call.
    """
    parser = SSEParser()
    tracker = UsageTracker()
    head = b""
    first_error = None
    hold = asyncio.timeout(hold_seconds if hold_seconds < math.inf else None)
    try:
        async with hold:
            while True:
                chunk = await resp.content.readany()
                if not chunk:
                    resp.close()
                    return Outcome.CONNECTION_ERROR, None, 0
                head += chunk
                began = False
                for event in parser.feed(chunk):
                    tracker.see(event)
                    if event.event == "error" and first_error is None and not began:
                        first_error = event
                    if event.event in _CONTENT:
                        began = True
                if began:
                    break
    except (aiohttp.ClientError, TimeoutError):
        if not hold.expired():
            resp.close()
            return Outcome.CONNECTION_ERROR, None, 0
        # The hold ran out: relay what came so far, and the rest as it comes.
    except BaseException:
        resp.close()
        raise
    if first_error is not None:
        resp.close()
        error_type = tracker.error_type or "api_error"
        # Nothing was sent yet: the error can still be a proper HTTP status.
        status = STATUS_OF_TYPE.get(error_type, 500)
        reply = Reply(status, first_error.data, [("content-type", "application/json")])
        return classify_stream_error(error_type), reply, status
    tracker.pending = parser.pending
    stream = MessageStream(pool, lease, resp, head, tracker, learn)
    return Outcome.SUCCESS, stream, 200
