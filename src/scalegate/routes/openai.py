"""``POST /v1/chat/completions``: the OpenAI protocol, translated to Anthropic Messages and back.

A raw ASGI endpoint like ``/v1/messages`` and the same pipeline behind it: tenant auth
(``Authorization: Bearer``, which the OpenAI SDK sends), ``x-scalegate-priority`` and
``x-scalegate-deadline-ms``, the body size limit, admission, retries on other keys,
settlement, client-disconnect cancellation and the ``x-scalegate-*`` response headers. Only
the edges differ: the body is translated (:mod:`scalegate.openai`), and every error — the
gateway's own or the provider's — leaves in the OpenAI envelope with the status and headers
(``retry-after``, ``x-should-retry``) the Anthropic route would send.

Upstream, the request carries ``anthropic-version: 2023-06-01`` unless the client sends an
``anthropic-version`` header of its own (with the SDK: ``default_headers``), and the pool key
goes as ``x-api-key`` — the OpenAI SDK's ``Bearer`` says nothing about what the provider
expects. The OpenAI SDK's own ``openai-*`` and ``x-stainless-*`` headers are not forwarded;
``anthropic-beta`` and other headers are, as on ``/v1/messages``.

Caching works as on ``/v1/messages`` (``x-scalegate-cache``, tenant defaults): the lookup
and the stored entry are the *translated* Messages request and the provider's Message, so a
chat completion and a Messages call that send the provider the same request share one
entry, and a hit is translated like a fresh answer (replayed as chunks when streaming).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from starlette.types import Receive, Scope, Send

from scalegate.asgi import ClientGone, encode_headers, read_body, send_body, while_connected
from scalegate.call import Answer, Call, CallContext, Reply
from scalegate.errors import ApiError, ProviderError
from scalegate.gateway import Gateway
from scalegate.openai.errors import from_anthropic, render_openai_error
from scalegate.openai.request import DEFAULT_ANTHROPIC_VERSION, Translation, translate_request
from scalegate.openai.response import translate_message
from scalegate.openai.stream import ChunkTranslator
from scalegate.pipeline import SSE_HEADERS
from scalegate.routes.common import (
    Inbound,
    RequestSink,
    call_context,
    error_of,
    observed,
    own_headers,
)
from scalegate.sse import SSEEvent, SSEParser
from scalegate.validation import MessageRequest, check_json_depth, parse_json_object

logger = logging.getLogger(__name__)

Headers = list[tuple[str, str]]

_NOT_UPSTREAM = frozenset({"anthropic-version", "content-type"})
_NOT_UPSTREAM_PREFIXES = ("openai-", "x-stainless-")


def upstream_headers(forwarded: Headers, version: str) -> Headers:
    """The client's forwardable headers, minus the OpenAI SDK's own, plus the API version."""
    out = [
        (name, value)
        for name, value in forwarded
        if name not in _NOT_UPSTREAM and not name.startswith(_NOT_UPSTREAM_PREFIXES)
    ]
    out.append(("anthropic-version", version))
    out.append(("content-type", "application/json"))
    return out


def client_headers(upstream: Headers, inb: Inbound, *more: Headers) -> Headers:
    """The provider's passable headers, then ``more`` (later wins), with the request id also
    as ``x-request-id`` (where the OpenAI SDK reads it): the provider's when it sent one."""
    rid = next((v for k, v in upstream if k == "request-id"), inb.request_id)
    merged = dict(upstream)
    merged.pop("content-type", None)
    for headers in more:
        merged.update(headers)
    merged["request-id"] = merged["x-request-id"] = rid
    return list(merged.items())


def json_or_none(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


class FrameTranslator(Protocol):
    """Anthropic stream events in, the surface's own stream frames out."""

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


@dataclass(frozen=True, slots=True)
class Translated:
    """An OpenAI-surface request as the one path needs it, and how to render its answer."""

    payload: dict[str, Any]
    model: str
    max_tokens: int
    stream: bool
    dropped: tuple[str, ...]
    document: Callable[[dict[str, Any]], dict[str, Any]]  # a Message → the surface's answer
    frames: Callable[[], FrameTranslator]  # a fresh stream translator


class OpenAIEndpoint:
    """What the OpenAI surfaces share: auth and control headers, the body limit, OpenAI's
    error envelope for every error, the one path, and rendering (a subclass translates)."""

    route = ""  # the metrics' route label

    def __init__(self, gateway: Gateway, sink: RequestSink) -> None:
        self.gw = gateway
        self.sink = sink

    def translate(self, body: dict[str, Any], version: str) -> Translated:
        raise NotImplementedError

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return observed(self.sink, self.route, scope, receive, send, self._serve)

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
        tr = self.translate(parse_json_object(raw), version)
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
        tr: Translated,
        inb: Inbound,
        ctx: CallContext,
        extra: Headers,
    ) -> None:
        """A complete answer (or the provider's error) in the surface's shape."""
        document = json_or_none(reply.body) if reply.status < 300 else None
        if isinstance(document, dict):
            status, body = reply.status, tr.document(document)
        else:  # an error, or a 2xx that is not a Message: a bad gateway
            status = reply.status if reply.status >= 400 else 502
            body = from_anthropic(status, reply.body)
            inb.error = error_of(reply.body)
        headers = client_headers(reply.headers, inb, extra, own_headers(inb, ctx))
        await send_body(send, status, orjson.dumps(body), headers)

    @staticmethod
    async def _relay(
        answer: Answer,
        tr: Translated,
        receive: Receive,
        send: Send,
        inb: Inbound,
        ctx: CallContext,
        extra: Headers,
    ) -> None:
        """Translate the stream while watching for the client to leave; cancel the loser."""
        own = own_headers(inb, ctx, answer.upstream_ttfb)
        headers = client_headers(answer.headers, inb, SSE_HEADERS, extra, own)
        pump = _pump(answer, tr.frames(), send, headers)
        error = await while_connected(pump, receive)
        if error is not None:
            logger.warning(
                "stream to client ended early: %r", error, extra={"request_id": inb.request_id}
            )


class ChatCompletionsEndpoint(OpenAIEndpoint):
    """``POST /v1/chat/completions`` (plain and streaming)."""

    route = "chat_completions"

    def translate(self, body: dict[str, Any], version: str) -> Translated:
        tr = translate_request(body, version)
        return Translated(
            tr.payload,
            tr.model,
            tr.max_tokens,
            tr.stream,
            tuple(tr.dropped),
            lambda doc: translate_message(doc, tr.answer_tool),
            lambda: _translator(tr),
        )


def _translator(tr: Translation) -> ChunkTranslator:
    return ChunkTranslator(
        include_usage=tr.include_usage, answer_tool=tr.answer_tool, model=tr.model
    )


async def _pump(answer: Answer, translator: FrameTranslator, send: Send, headers: Headers) -> None:
    """Send the translated frames of each upstream chunk as one body part, as it arrives."""
    assert answer.stream is not None
    await send({"type": "http.response.start", "status": 200, "headers": encode_headers(headers)})
    parser = SSEParser()
    async for chunk in answer.stream:
        frames = [f for event in parser.feed(chunk) for f in translator.feed(event)]
        if frames:
            await send({"type": "http.response.body", "body": b"".join(frames), "more_body": True})
    tail = b"".join(translator.close())
    await send({"type": "http.response.body", "body": tail, "more_body": False})
