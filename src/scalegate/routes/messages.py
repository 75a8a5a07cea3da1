"""``POST /v1/messages`` (plain and streaming) and ``POST /v1/messages/count_tokens``.

Raw ASGI callables: the hot path builds no Request/Response objects and forwards the body
bytes it received. Every error, whatever raised it, leaves as the provider's envelope; an
unexpected exception is logged with its traceback and answered as a 500 ``api_error``
without one.
"""

from __future__ import annotations

import contextlib
import logging

import orjson
from starlette.types import Receive, Scope, Send

from scalegate.asgi import (
    ClientGone,
    encode_headers,
    read_body,
    send_body,
    send_error,
    while_connected,
)
from scalegate.cache.replay import message_events
from scalegate.cache.service import Ticket
from scalegate.errors import ApiError, ProviderError
from scalegate.gateway import Gateway
from scalegate.pipeline import CallContext, Reply
from scalegate.routes.common import Inbound, call_context, inbound, own_headers, require_version
from scalegate.streaming import MessageStream, open_stream
from scalegate.validation import (
    MessageRequest,
    check_json_depth,
    validate_count_tokens,
    validate_messages,
)

logger = logging.getLogger(__name__)

_SSE_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
]


class _Endpoint:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inb = inbound(scope)
        try:
            await self.handle(scope, receive, send, inb)
        except ProviderError as exc:
            await send_error(send, exc, inb.request_id, own_headers(inb, inb.ctx))
        except ClientGone:
            return
        except Exception:
            logger.exception("unexpected error", extra={"request_id": inb.request_id})
            error = ApiError("internal error in the gateway; the request was not completed")
            with contextlib.suppress(Exception):
                await send_error(send, error, inb.request_id, own_headers(inb, None))

    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        raise NotImplementedError

    async def read(self, receive: Receive, inb: Inbound) -> bytes:
        return await read_body(
            receive, self.gw.settings.server.max_body_bytes, inb.headers.get("content-length")
        )

    @staticmethod
    async def reply(send: Send, reply: Reply, inb: Inbound, ctx: CallContext) -> None:
        headers = reply.headers
        if not any(k == "request-id" for k, _ in headers):
            headers = [*headers, ("request-id", inb.request_id)]
        await send_body(send, reply.status, reply.body, [*headers, *own_headers(inb, ctx)])


class MessagesEndpoint(_Endpoint):
    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        version = require_version(inb)
        ctx = call_context(self.gw, scope, inb)
        req = validate_messages(await self.read(receive, inb), version)
        check_json_depth(req.body, req.payload, self.gw.settings.server.max_json_depth)
        # Before admission: a hit uses no key-pool quota (DESIGN §7).
        ticket = await self.gw.cache.lookup(req.payload, inb.headers, inb.tenant)
        try:
            await self._answer(receive, send, inb, ctx, req, ticket)
        finally:
            self.gw.cache.land(ticket)  # identical requests waiting on this one stop waiting

    async def _answer(
        self,
        receive: Receive,
        send: Send,
        inb: Inbound,
        ctx: CallContext,
        req: MessageRequest,
        ticket: Ticket,
    ) -> None:
        inb.cache = ticket.outcome
        if ticket.value is not None:
            inb.cache_similarity = ticket.similarity
            await self.gw.pipeline.count_cache_hit(ctx, req.model)
            await self._replay(send, ticket.value, req.stream, inb, ctx)
            return
        if not req.stream:
            reply = await self.gw.pipeline.create_message(ctx, req)
            await self.gw.cache.store_answer(ticket, reply.status, reply.body)
            await self.reply(send, reply, inb, ctx)
            return
        opened = await open_stream(self.gw.pipeline, ctx, req)
        if isinstance(opened, Reply):
            await self.reply(send, opened, inb, ctx)
            return
        await self._relay(opened, receive, send, inb, ctx, ticket)

    @staticmethod
    async def _replay(
        send: Send, body: bytes, stream: bool, inb: Inbound, ctx: CallContext
    ) -> None:
        """Answer from the cache: the stored Message as it was, or replayed as a stream."""
        headers = [("request-id", inb.request_id), *own_headers(inb, ctx)]
        if not stream:
            await send_body(send, 200, body, headers)
            return
        events = message_events(orjson.loads(body))
        await send_body(send, 200, events, [*_SSE_HEADERS, *headers], content_type=None)

    async def _relay(
        self,
        stream: MessageStream,
        receive: Receive,
        send: Send,
        inb: Inbound,
        ctx: CallContext,
        ticket: Ticket,
    ) -> None:
        """Forward the stream while watching for the client to leave; cancel the loser."""
        upstream_ttfb = ctx.upstream_seconds
        headers = [*stream.headers, *_SSE_HEADERS, *own_headers(inb, ctx, upstream_ttfb)]
        try:
            error = await while_connected(self._pump(stream, send, headers, ticket), receive)
        finally:
            await stream.finish()
        if error is not None:
            logger.warning(
                "stream to client ended early: %r", error, extra={"request_id": inb.request_id}
            )

    async def _pump(
        self, stream: MessageStream, send: Send, headers: list[tuple[str, str]], ticket: Ticket
    ) -> None:
        raw = encode_headers(_dedupe(headers))
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        fill = self.gw.cache.stream_fill(ticket)  # a missed request's answer, to store
        async for chunk in stream:
            if fill is not None:
                fill.feed(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if fill is not None:
            await fill.finish(stream.tracker.finished and stream.tracker.error_type is None)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _dedupe(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for name, value in reversed(headers):
        if name not in seen:
            seen.add(name)
            out.append((name, value))
    out.reverse()
    return out


class CountTokensEndpoint(_Endpoint):
    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        version = require_version(inb)
        ctx = call_context(self.gw, scope, inb)
        req = validate_count_tokens(await self.read(receive, inb), version)
        check_json_depth(req.body, req.payload, self.gw.settings.server.max_json_depth)
        await self.reply(send, await self.gw.pipeline.count_tokens(ctx, req), inb, ctx)
