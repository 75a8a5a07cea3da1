"""``POST /v1/messages`` (plain and streaming) and ``POST /v1/messages/count_tokens``.

Raw ASGI callables: the hot path builds no Request/Response objects and forwards the body
bytes it received. Every error, whatever raised it, leaves as the provider's envelope; an
unexpected exception is logged with its traceback and answered as a 500 ``api_error``
without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import Receive, Scope, Send

from scalegate.asgi import ClientGone, drain, encode_headers, read_body, send_body, send_error
from scalegate.errors import ApiError, ProviderError
from scalegate.gateway import Gateway
from scalegate.pipeline import CallContext, Reply
from scalegate.routes.common import Inbound, call_context, inbound, own_headers, require_version
from scalegate.streaming import MessageStream, open_stream
from scalegate.validation import validate_count_tokens, validate_messages

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
        if not req.stream:
            await self.reply(send, await self.gw.pipeline.create_message(ctx, req), inb, ctx)
            return
        opened = await open_stream(self.gw.pipeline, ctx, req)
        if isinstance(opened, Reply):
            await self.reply(send, opened, inb, ctx)
            return
        await self._relay(opened, receive, send, inb, ctx)

    async def _relay(
        self, stream: MessageStream, receive: Receive, send: Send, inb: Inbound, ctx: CallContext
    ) -> None:
        """Forward the stream while watching for the client to leave; cancel the loser."""
        upstream_ttfb = ctx.upstream_seconds
        headers = [*stream.headers, *_SSE_HEADERS, *own_headers(inb, ctx, upstream_ttfb)]
        pump = asyncio.ensure_future(self._pump(stream, send, headers))
        watch = asyncio.ensure_future(drain(receive))
        try:
            await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            for task in (pump, watch):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await stream.finish()
        if pump.done() and not pump.cancelled() and pump.exception() is not None:
            logger.warning(
                "stream to client ended early: %r",
                pump.exception(),
                extra={"request_id": inb.request_id},
            )

    @staticmethod
    async def _pump(stream: MessageStream, send: Send, headers: list[tuple[str, str]]) -> None:
        raw = encode_headers(_dedupe(headers))
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
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
        await self.reply(send, await self.gw.pipeline.count_tokens(ctx, req), inb, ctx)
