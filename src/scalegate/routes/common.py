"""What every provider-protocol route does first: read the control headers, start the clock."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import orjson
from starlette.types import Message, Receive, Scope, Send

from scalegate.asgi import header_map, new_request_id
from scalegate.call import CallContext
from scalegate.errors import InvalidRequestError, OverloadedError
from scalegate.gateway import Gateway
from scalegate.priority import Priority
from scalegate.tenants import effective_priority
from scalegate.upstream.headers import forward_headers


@dataclass(slots=True)
class Inbound:
    """A request's identity and control headers, parsed once."""

    request_id: str
    headers: dict[str, str]
    started: float  # perf_counter at arrival
    priority: Priority = Priority.NORMAL
    version: str | None = None
    bearer: bool = True
    client_key: str | None = None
    tenant: str | None = None
    ctx: CallContext | None = None  # once the request is admitted to the pipeline
    cache: str = "bypass"  # x-scalegate-cache: hit | semantic-hit | coalesced | miss | bypass
    cache_similarity: float | None = None  # on a semantic hit
    error: tuple[str, str] | None = None  # (type, message) of an error answer, for the log


def inbound(scope: Scope) -> Inbound:
    """Parse what every route needs; never raises (errors need the request id first)."""
    headers = header_map(scope)
    client_key = headers.get("x-api-key")
    bearer = client_key is None
    if bearer:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            client_key = auth[7:].strip()
    inb = Inbound(
        new_request_id(),
        headers,
        time.perf_counter(),
        version=headers.get("anthropic-version"),
        bearer=bearer,
        client_key=client_key,
    )
    return inb


def call_context(gw: Gateway, scope: Scope, inb: Inbound) -> CallContext:
    """Priority and deadline from ``x-scalegate-*`` headers (400 when malformed)."""
    if gw.draining:
        raise OverloadedError("the gateway is shutting down", retry_after=1)
    principal = gw.tenants.principal(inb.client_key)
    tenant = principal.tenant
    inb.tenant = principal.name
    asked = None
    raw_priority = inb.headers.get("x-scalegate-priority")
    if raw_priority is not None:
        try:
            asked = Priority.parse(raw_priority)
        except ValueError as exc:
            raise InvalidRequestError(f"x-scalegate-priority: {exc}") from None
    inb.priority = effective_priority(tenant, asked)
    wait = gw.settings.admission.wait_for(inb.priority)
    raw_deadline = inb.headers.get("x-scalegate-deadline-ms")
    if raw_deadline is not None:
        try:
            wait = int(raw_deadline) / 1000.0
        except ValueError:
            raise InvalidRequestError(
                "x-scalegate-deadline-ms: must be a whole number of milliseconds"
            ) from None
        if wait < 0:
            raise InvalidRequestError("x-scalegate-deadline-ms: must not be negative")
    query = scope.get("query_string", b"").decode("latin-1")
    inb.ctx = CallContext(
        inb.request_id,
        principal,
        inb.priority,
        gw.clock.monotonic() + wait,
        forward_headers(scope["headers"]),
        inb.bearer,
        query=f"?{query}" if query else "",
    )
    return inb.ctx


def require_version(inb: Inbound) -> str:
    if not inb.version:
        raise InvalidRequestError("anthropic-version: header is required")
    return inb.version


def own_headers(
    inb: Inbound, ctx: CallContext | None, upstream_seconds: float | None = None
) -> list[tuple[str, str]]:
    """The ``x-scalegate-*`` response headers (DESIGN §12)."""
    elapsed = time.perf_counter() - inb.started
    out = [
        ("x-scalegate-request-id", inb.request_id),
        ("x-scalegate-priority", inb.priority.label),
        ("x-scalegate-cache", inb.cache),
    ]
    if inb.cache_similarity is not None:
        out.append(("x-scalegate-cache-similarity", f"{inb.cache_similarity:.4f}"))
    if ctx is not None:
        upstream = ctx.upstream_seconds if upstream_seconds is None else upstream_seconds
        overhead = max(0.0, elapsed - upstream - ctx.waited)
        out.append(("x-scalegate-overhead-ms", f"{overhead * 1000:.3f}"))
        out.append(("x-scalegate-attempts", str(ctx.attempts)))
        if ctx.waited:
            out.append(("x-scalegate-queue-ms", f"{ctx.waited * 1000:.1f}"))
        if ctx.key:
            out.append(("x-scalegate-key", ctx.key))
        if ctx.model:
            out.append(("x-scalegate-model", ctx.model))
    else:
        out.append(("x-scalegate-overhead-ms", f"{elapsed * 1000:.3f}"))
    return out


def error_of(body: bytes) -> tuple[str, str] | None:
    """``(type, message)`` of an error document (Anthropic's or OpenAI's), for the log."""
    try:
        doc = orjson.loads(body)
        error = doc["error"]
        return str(error.get("type") or error.get("code")), str(error.get("message", ""))[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


class RequestSink(Protocol):
    """What is told about every finished request (metrics and the access log:
    :class:`scalegate.observe.recorder.Recorder`), passed to each route at construction."""

    def request(
        self,
        route: str,
        status: int,
        started: float,
        responded: float,
        inb: Inbound | None,
        scope: Scope | None = None,
    ) -> None: ...


class SeenSend:
    """``send`` that notes the status and when the response started (a plain callable
    returning ``send``'s awaitable: no extra frame per message on the hot path)."""

    __slots__ = ("at", "send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.at = 0.0

    def __call__(self, message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.at = time.perf_counter()
        return self.send(message)


async def observed(
    sink: RequestSink,
    route: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    run: Callable[[Scope, Receive, Send, Inbound], Awaitable[None]],
) -> None:
    """Run one request's handling (``run``) and tell ``sink`` how it went, once."""
    inb = inbound(scope)
    seen = SeenSend(send)
    try:
        await run(scope, receive, seen, inb)
    except BaseException:
        if not seen.status:
            seen.status = 500
        raise
    finally:
        sink.request(route, seen.status, inb.started, seen.at, inb, scope)
