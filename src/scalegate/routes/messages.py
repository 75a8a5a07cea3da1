"""``POST /v1/messages`` (plain and streaming) and ``POST /v1/messages/count_tokens``.

Raw ASGI callables: the hot path builds no Request/Response objects and forwards the body
bytes it received. Every error, whatever raised it, leaves as the provider's envelope; an
unexpected exception is logged with its traceback and answered as a 500 ``api_error``
without one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable

from starlette.types import Receive, Scope, Send

from scalegate.asgi import (
    ClientGone,
    encode_headers,
    read_body,
    send_body,
    send_error,
    while_connected,
)
from scalegate.call import Answer, Call, CallContext, Operation, Reply
from scalegate.errors import ApiError, ProviderError
from scalegate.gateway import Gateway
from scalegate.pipeline import SSE_HEADERS
from scalegate.routes.common import (
    Inbound,
    RequestSink,
    call_context,
    error_of,
    observed,
    own_headers,
    require_version,
)
from scalegate.validation import check_json_depth, validate_count_tokens, validate_messages

logger = logging.getLogger(__name__)


class _Endpoint:
    route = "messages"  # the metrics' route label

    def __init__(self, gateway: Gateway, sink: RequestSink) -> None:
        self.gw = gateway
        self.sink = sink

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return observed(self.sink, self.route, scope, receive, send, self._serve)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        try:
            await self.handle(scope, receive, send, inb)
        except ProviderError as exc:
            inb.error = (exc.error_type, exc.message)
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
        if reply.status >= 400:
            inb.error = error_of(reply.body)
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
        async with self.gw.pipeline.serve(Call(ctx, req, inb.headers)) as answer:
            inb.cache, inb.cache_similarity = answer.cache, answer.similarity
            if answer.reply is not None:
                await self.reply(send, answer.reply, inb, ctx)
            else:
                await self._relay(answer, receive, send, inb, ctx)

    async def _relay(
        self, answer: Answer, receive: Receive, send: Send, inb: Inbound, ctx: CallContext
    ) -> None:
        """Forward the stream while watching for the client to leave; cancel the loser."""
        own = own_headers(inb, ctx, answer.upstream_ttfb)
        headers = [*answer.headers, *SSE_HEADERS, *own]
        if answer.upstream_ttfb is None:  # replayed from the cache
            headers.append(("request-id", inb.request_id))
        error = await while_connected(self._pump(answer, send, headers), receive)
        if error is not None:
            logger.warning(
                "stream to client ended early: %r", error, extra={"request_id": inb.request_id}
            )

    @staticmethod
    async def _pump(answer: Answer, send: Send, headers: list[tuple[str, str]]) -> None:
        assert answer.stream is not None
        raw = encode_headers(_dedupe(headers))
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        async for chunk in answer.stream:
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
    route = "count_tokens"

    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        version = require_version(inb)
        ctx = call_context(self.gw, scope, inb)
        req = validate_count_tokens(await self.read(receive, inb), version)
        check_json_depth(req.body, req.payload, self.gw.settings.server.max_json_depth)
        call = Call(ctx, req, operation=Operation.COUNT_TOKENS)
        async with self.gw.pipeline.serve(call) as answer:
            assert answer.reply is not None
            await self.reply(send, answer.reply, inb, ctx)
