"""Streaming ``POST /v1/messages``: passed through event by event, settled when it ends.

The gateway holds back only the *first* event of a stream. If it is an ``error`` (the
provider answered 200 and then said it is overloaded), nothing has reached the client yet, so
the attempt counts as failed and the pipeline retries on another key. Otherwise the first
event and every later chunk are forwarded the moment they arrive, as the provider framed them
(never re-encoded). On the side, the same bytes feed an SSE parser that learns the usage
(``message_start``, ``message_delta``) so the lease can be settled — also when the client
disconnects mid-stream, in which case the upstream connection is closed at once and the
output tokens seen so far are what is charged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from scalegate.affinity import prefix_hash
from scalegate.errors import ERROR_TYPES
from scalegate.keys.lease import Lease, Outcome, Usage
from scalegate.keys.pool import KeyPool
from scalegate.pipeline import Attempt, CallContext, Pipeline, Reply, usage_from_message
from scalegate.retry import classify_status, classify_stream_error
from scalegate.sse import SSEEvent, SSEParser
from scalegate.tokens import CHARS_PER_TOKEN
from scalegate.upstream.client import UpstreamConnectionError
from scalegate.upstream.headers import response_headers, with_credentials
from scalegate.validation import MessageRequest

logger = logging.getLogger(__name__)

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
                self.raw = dict(message["usage"])  # type: ignore[index]
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
        parser: SSEParser,
        tracker: UsageTracker,
    ) -> None:
        self.pool = pool
        self.lease = lease
        self.resp = resp
        self.head = head
        self.parser = parser
        self.tracker = tracker
        self.headers = response_headers(resp.headers)
        self._outcome = Outcome.CANCELLED
        # Called once with the provider's usage document when the stream ends (tenants).
        self.after: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            yield self.head
            async for chunk in self.resp.content.iter_any():
                for event in self.parser.feed(chunk):
                    self.tracker.see(event)
                yield chunk
            if self.tracker.error_type is not None:
                self._outcome = classify_stream_error(self.tracker.error_type)
            elif self.tracker.finished:
                self._outcome = Outcome.SUCCESS
            else:
                self._outcome = Outcome.CONNECTION_ERROR
        except (aiohttp.ClientError, TimeoutError):
            self._outcome = Outcome.CONNECTION_ERROR
            logger.warning("upstream stream broke off", extra={"key": self.lease.key.fingerprint})
        finally:
            await asyncio.shield(self.finish())

    async def finish(self) -> None:
        """Close the upstream response and settle the lease (idempotent)."""
        self.resp.close()
        await self.pool.settle(self.lease, self._outcome, self.tracker.usage(), self.resp.headers)
        after, self.after = self.after, None
        if after is not None:
            await after(self.tracker.raw)


async def open_stream(
    pipeline: Pipeline, ctx: CallContext, req: MessageRequest
) -> MessageStream | Reply:
    """Lease a key and open the stream, retrying while nothing was forwarded.

    Returns the open stream, or the provider's ``Reply`` for a client error; raises a
    ``ProviderError`` when every attempt failed. An alias tries its models in order.
    """
    return await pipeline.with_fallbacks(ctx, req, lambda r: _open_one(pipeline, ctx, r))


async def _open_one(
    pipeline: Pipeline, ctx: CallContext, req: MessageRequest
) -> MessageStream | Reply:
    demand, raw = pipeline.demand_for(req)

    async def call(lease: Lease) -> Attempt[MessageStream | Reply]:
        headers = with_credentials(ctx.headers, lease.key.secret, ctx.bearer)
        started = time.perf_counter()
        try:
            resp = await pipeline.upstream.open("POST", "/v1/messages", headers, req.body)
        except UpstreamConnectionError as exc:
            return Attempt(Outcome.CONNECTION_ERROR, timeout=exc.timeout)
        if resp.status != 200:
            try:
                body = await pipeline.upstream.read_body(resp)
            except UpstreamConnectionError as exc:
                return Attempt(Outcome.CONNECTION_ERROR, timeout=exc.timeout)
            finally:
                resp.release()
            reply = Reply(resp.status, body, response_headers(resp.headers))
            return Attempt(classify_status(resp.status), reply, None, resp.headers, resp.status)
        attempt = await _first_event(pipeline, lease, resp)
        ctx.upstream_seconds += time.perf_counter() - started
        if isinstance(attempt.value, MessageStream):
            tracker = attempt.value.tracker
            if tracker.total:
                pipeline.estimator.learn(req.model, raw, tracker.total)
        return attempt

    affinity = prefix_hash(req.model, req.body, req.payload)
    ticket = await pipeline.tenant_admit(ctx, demand)
    try:
        attempt = await pipeline.run(ctx, req.model, demand, call, affinity)
    except BaseException:
        await asyncio.shield(pipeline.tenant_settle(ticket, req.model, None))
        raise
    if isinstance(attempt.value, MessageStream):
        stream = attempt.value

        async def after(usage: dict[str, Any]) -> None:
            ctx.first_token = stream.tracker.first_token
            if pipeline.on_usage is not None and usage:
                pipeline.on_usage(req.model, usage, ctx)
            await pipeline.tenant_settle(ticket, req.model, usage)

        stream.after = after
        return stream
    await pipeline.tenant_settle(ticket, req.model, None)
    if attempt.outcome is Outcome.CLIENT_ERROR:
        assert attempt.value is not None
        return attempt.value
    raise pipeline.final_error(ctx, attempt)


async def _first_event(
    pipeline: Pipeline, lease: Lease, resp: aiohttp.ClientResponse
) -> Attempt[MessageStream | Reply]:
    parser = SSEParser()
    tracker = UsageTracker()
    head = b""
    try:
        while True:
            chunk = await resp.content.readany()
            if not chunk:
                resp.close()
                return Attempt(Outcome.CONNECTION_ERROR, headers=resp.headers)
            head += chunk
            events = list(parser.feed(chunk))
            if events:
                break
    except (aiohttp.ClientError, TimeoutError) as exc:
        resp.close()
        return Attempt(Outcome.CONNECTION_ERROR, timeout=isinstance(exc, TimeoutError))
    except BaseException:
        resp.close()
        raise
    for event in events:
        tracker.see(event)
    if events[0].event == "error":
        resp.close()
        error_type = tracker.error_type or "api_error"
        outcome = classify_stream_error(error_type)
        # Nothing was sent yet: the error can still be a proper HTTP status.
        status = STATUS_OF_TYPE.get(error_type, 500)
        body = events[0].data
        reply = Reply(status, body, [("content-type", "application/json")])
        return Attempt(outcome, reply, None, resp.headers, status)
    stream = MessageStream(pipeline.pool, lease, resp, head, parser, tracker)
    return Attempt(Outcome.SUCCESS, stream, None, resp.headers, 200, keep_lease=True)
