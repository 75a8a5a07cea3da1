"""``POST /v1/responses``: the OpenAI Responses API, translated, through the one path.

The same edges as ``/v1/chat/completions`` (:mod:`scalegate.routes.openai`): tenant auth,
``x-scalegate-*`` control headers, the body limit, the OpenAI error envelope for every
error; the body is translated by :mod:`scalegate.openai.responses` and served by
:meth:`Pipeline.serve <scalegate.pipeline.Pipeline.serve>` like any other call — caches,
tenant rules, admission, retries and settlement included. Streams are translated event by
event into the Responses event sequence as they arrive.
"""

from __future__ import annotations

import contextlib
import logging

import orjson
from starlette.types import Receive, Scope, Send

from scalegate.asgi import ClientGone, encode_headers, read_body, send_body, while_connected
from scalegate.call import Answer, Call, CallContext, Reply
from scalegate.errors import ApiError, ProviderError
from scalegate.gateway import Gateway
from scalegate.openai.errors import from_anthropic, render_openai_error
from scalegate.openai.request import DEFAULT_ANTHROPIC_VERSION
from scalegate.openai.responses import (
    ResponsesStreamTranslator,
    ResponsesTranslation,
    translate_message_to_response,
    translate_responses_request,
)
from scalegate.pipeline import SSE_HEADERS
from scalegate.routes.common import (
    Inbound,
    RequestSink,
    call_context,
    error_of,
    observed,
    own_headers,
)
from scalegate.routes.openai import Headers, client_headers, json_or_none, upstream_headers
from scalegate.sse import SSEParser
from scalegate.validation import MessageRequest, check_json_depth, parse_json_object

logger = logging.getLogger(__name__)


class ResponsesEndpoint:
    """``POST /v1/responses`` (plain and streaming)."""

    def __init__(self, gateway: Gateway, sink: RequestSink) -> None:
        self.gw = gateway
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await observed(
            self.sink, "responses", scope, send, lambda inb, s: self._serve(scope, receive, s, inb)
        )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        try:
            await self.handle(scope, receive, send, inb)
        except ProviderError as exc:
            await self._error(send, exc, inb)
        except ClientGone:
            return
        except Exception:
            logger.exception("unexpected error", extra={"request_id": inb.request_id})
            error = ApiError("internal error in the gateway; the request was not completed")
            with contextlib.suppress(Exception):
                await self._error(send, error, inb)

    async def _error(self, send: Send, error: ProviderError, inb: Inbound) -> None:
        inb.error = (error.error_type, error.message)
        status, body, headers = render_openai_error(error, inb.request_id)
        await send_body(send, status, body, [*headers.items(), *own_headers(inb, inb.ctx)])

    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        ctx = call_context(self.gw, scope, inb)
        version = inb.version or DEFAULT_ANTHROPIC_VERSION
        raw = await read_body(
            receive, self.gw.settings.server.max_body_bytes, inb.headers.get("content-length")
        )
        tr = translate_responses_request(parse_json_object(raw), version)
        check_json_depth(raw, tr.payload, self.gw.settings.server.max_json_depth)
        ctx.headers = upstream_headers(ctx.headers, version)
        ctx.bearer = False
        ctx.query = ""  # the client's query string is for the OpenAI surface, not upstream
        req = MessageRequest(
            tr.payload, orjson.dumps(tr.payload), tr.model, tr.max_tokens, tr.stream
        )
        extra = [("x-scalegate-dropped-params", ",".join(tr.dropped))] if tr.dropped else []
        async with self.gw.pipeline.serve(Call(ctx, req, inb.headers)) as answer:
            inb.cache, inb.cache_similarity = answer.cache, answer.similarity
            if answer.reply is not None:
                await self._reply(send, answer.reply, tr, inb, ctx, extra)
            else:
                await self._relay(answer, tr, receive, send, inb, ctx, extra)

    @staticmethod
    async def _reply(
        send: Send,
        reply: Reply,
        tr: ResponsesTranslation,
        inb: Inbound,
        ctx: CallContext,
        extra: Headers,
    ) -> None:
        document = json_or_none(reply.body) if reply.status < 300 else None
        if isinstance(document, dict):
            status, body = reply.status, translate_message_to_response(document, tr)
        else:  # an error, or a 2xx that is not a Message: a bad gateway
            status = reply.status if reply.status >= 400 else 502
            body = from_anthropic(status, reply.body)
            inb.error = error_of(reply.body)
        headers = client_headers(reply.headers, inb, extra, own_headers(inb, ctx))
        await send_body(send, status, orjson.dumps(body), headers)

    @staticmethod
    async def _relay(
        answer: Answer,
        tr: ResponsesTranslation,
        receive: Receive,
        send: Send,
        inb: Inbound,
        ctx: CallContext,
        extra: Headers,
    ) -> None:
        own = own_headers(inb, ctx, answer.upstream_ttfb)
        headers = client_headers(answer.headers, inb, SSE_HEADERS, extra, own)

        async def pump() -> None:
            assert answer.stream is not None
            raw = encode_headers(headers)
            await send({"type": "http.response.start", "status": 200, "headers": raw})
            parser, translator = SSEParser(), ResponsesStreamTranslator(tr)
            async for chunk in answer.stream:
                frames = [f for event in parser.feed(chunk) for f in translator.feed(event)]
                if frames:
                    part = b"".join(frames)
                    await send({"type": "http.response.body", "body": part, "more_body": True})
            tail = b"".join(translator.close())
            await send({"type": "http.response.body", "body": tail, "more_body": False})

        error = await while_connected(pump(), receive)
        if error is not None:
            logger.warning(
                "stream to client ended early: %r", error, extra={"request_id": inb.request_id}
            )
