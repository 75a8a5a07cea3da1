"""The one request path (DESIGN §2): every entry point calls :meth:`Pipeline.serve`.

``/v1/messages`` (plain and streamed), ``/v1/messages/count_tokens``, the OpenAI surfaces,
job workers, Message Batch requests, :meth:`Pipeline.message` (the Python API) and cache
warming all build a :class:`~scalegate.call.Call` and enter the same path::

    serve(call)
     1. principal   a Principal is required; with tenants configured, it must name one
     2. policy      the tenant's model allowlist (403) — before the cache, so nothing
                    forbidden is ever served from it
     3. cache slot  lookup; on a hit the answer is ready (a stream is replayed as events);
                    the slot is released when the ``async with`` ends, whatever happened
     4. capacity    the gateway's own: upstream connections, open streams (529 when full,
                    LOW shed first: scalegate.capacity)
        tenant      limits and budget (429 / 402), reserved on the estimate
     5. attempts    key admission, the upstream call, retries, fallbacks (scalegate.attempts)
     6. answer      yielded: a complete reply, or the provider's stream passed through
     7. settle      on exit: the stream's lease, the tenant's real usage and cost, the
                    usage sink (metrics), the cache filled with a complete 2xx answer

Routes only parse and render, translation layers only translate. Every store failure on
the way goes through one outage policy (:mod:`scalegate.state.outage`): never a 500, and an
answer the provider produced is delivered even when its settlement cannot be written.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping
from typing import Any, Protocol

import orjson

from scalegate.attempts import Attempts
from scalegate.cache.replay import message_events
from scalegate.cache.service import CacheService, StreamFill, Ticket
from scalegate.call import Answer, Call, CallContext, Operation, Reply
from scalegate.capacity import GatewayCapacity
from scalegate.clock import Clock
from scalegate.errors import AuthenticationError, InvalidRequestError, error_from_reply
from scalegate.pricing import PriceTable
from scalegate.principal import Principal
from scalegate.priority import Priority
from scalegate.routing import check_allowed
from scalegate.state.outage import Outages
from scalegate.streaming import MessageStream
from scalegate.tenants import TenantDirectory, effective_priority
from scalegate.tenants.limits import TenantLimiter, TenantTicket
from scalegate.validation import MessageRequest, validate_messages

logger = logging.getLogger(__name__)

MODELS_TTL = 600.0
SSE_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
]

__all__ = ["Answer", "Call", "CallContext", "Pipeline", "PipelineSink", "Reply"]


class PipelineSink(Protocol):
    """What the pipeline tells observability (passed in at construction)."""

    def usage(self, model: str, usage: Mapping[str, Any], ctx: CallContext | None) -> None:
        """Tokens of one answer; cost follows from them."""

    def stream_cut(self, ctx: CallContext) -> None:
        """The provider's stream broke off after content reached the client."""


class Pipeline:
    """The one request path; see the module docstring."""

    def __init__(
        self,
        attempts: Attempts,
        tenants: TenantDirectory,
        *,
        clock: Clock,
        prices: PriceTable,
        outages: Outages,
        limiter: TenantLimiter | None = None,
        cache: CacheService | None = None,
        sink: PipelineSink | None = None,
        default_wait: Mapping[Priority, float] | None = None,
        capacity: GatewayCapacity | None = None,
    ) -> None:
        self.capacity = capacity or GatewayCapacity(20_000, 10_000)
        self.attempts = attempts
        self.tenants = tenants
        self.clock = clock
        self.prices = prices
        self.outages = outages
        self.limiter = limiter if tenants.tenants else None
        self.cache = cache
        self.sink = sink
        self._default_wait = dict(default_wait or {})
        self._models: dict[str, tuple[float, Reply]] = {}

    @property
    def retry_counts(self) -> dict[str, int]:
        return self.attempts.retry_counts

    # -- the one entry ----------------------------------------------------------------------

    def serve(self, call: Call) -> Serving:
        """Serve ``call``: ``async with pipeline.serve(call) as answer: …`` (module docs).

        Raises a ``ProviderError`` for what the gateway refuses (auth, policy, limits, no
        key in time); a provider's own client error is an ``Answer.reply`` with its status.
        Leaving the block — normally, by an exception, or by cancellation — ends the stream,
        settles everything and releases the cache slot.
        """
        return Serving(self, call)

    def _check_principal(self, principal: Principal) -> None:
        if not isinstance(principal, Principal):  # a type, not a convention
            raise TypeError(f"a call needs a Principal, not {type(principal).__name__}")
        if principal.is_open and not self.tenants.open:
            raise AuthenticationError("tenants are configured: this call names none")

    def _relay(self, stream: MessageStream, ticket: Ticket) -> AsyncGenerator[bytes, None]:
        """The provider's bytes as they arrive; a missed answer is assembled on the side
        and stored after its final event (before the response ends). Nothing to store: the
        stream itself, without a generator around it (every chunk passes through here)."""
        fill = self.cache.stream_fill(ticket) if self.cache is not None else None
        if fill is None:
            return stream.__aiter__()
        return _filling(stream, fill)

    async def _stream_done(
        self, stream: MessageStream, ctx: CallContext, usage: dict[str, Any]
    ) -> None:
        await stream.finish()
        ctx.first_token = stream.tracker.first_token
        usage.update(stream.tracker.raw)
        if stream.cut and self.sink is not None:
            self.sink.stream_cut(ctx)

    @staticmethod
    def _from_cache(ticket: Ticket, stream: bool) -> Answer:
        assert ticket.value is not None
        if not stream:
            return Answer(ticket.outcome, ticket.similarity, reply=Reply(200, ticket.value, []))
        events = message_events(orjson.loads(ticket.value))
        return Answer(ticket.outcome, ticket.similarity, stream=_once(events))

    # -- tenants ----------------------------------------------------------------------------

    async def _count_hit(self, ctx: CallContext, model: str) -> None:
        """A cache hit counts toward the tenant's request limits but costs no tokens."""
        held = await self._tenant_admit(ctx, None)
        await self._settle(ctx, model, held, {})

    async def _tenant_admit(
        self, ctx: CallContext, req: MessageRequest | None
    ) -> TenantTicket | None:
        """The tenant's limits and budget (429 / 402), before any key is asked: one request
        and the request's estimated tokens (none for a cache hit, ``req`` None)."""
        tenant, limiter = ctx.principal.tenant, self.limiter
        if tenant is None or limiter is None:
            return None
        tokens = 0
        if req is not None:
            demand, _ = self.attempts.demand_for(req, tenant=ctx.tenant)
            tokens = demand.input_tokens + demand.output_tokens
        return await self.outages.guard(
            "tenants", lambda: limiter.admit(tenant, tokens), fallback=lambda: None
        )

    async def _settle(
        self, ctx: CallContext, model: str, held: TenantTicket | None, usage: dict[str, Any]
    ) -> None:
        """Count what the answer really used and cost. Never raises: the answer exists."""
        answered = ctx.model or model
        if usage and self.sink is not None:
            self.sink.usage(answered, usage, ctx)
        if held is None or self.limiter is None:
            return
        limiter = self.limiter
        tokens = sum(
            int(usage.get(k) or 0)
            for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens")
        )
        cost = self.prices.cost_usd(answered, usage)
        try:
            await self.outages.guard(
                "tenants", lambda: limiter.settle(held, tokens, cost), fallback=lambda: None
            )
        except Exception:  # fail_closed refuses new calls; this one is answered already
            logger.warning(
                "tenant settlement not recorded (%s, %d tokens, $%.6f)", ctx.tenant, tokens,
                cost, extra={"request_id": ctx.request_id, "event": "settle_lost"},
            )  # fmt: skip

    # -- other entry points, all through serve() --------------------------------------------

    def new_context(
        self,
        principal: Principal,
        priority: Priority,
        wait_seconds: float,
        headers: list[tuple[str, str]],
        *,
        bearer: bool = True,
    ) -> CallContext:
        """A context for a call that did not come over HTTP (jobs, warming, the library)."""
        return CallContext(
            "req_" + secrets.token_hex(12),
            principal,
            priority,
            self.clock.monotonic() + wait_seconds,
            headers,
            bearer,
        )

    async def message(
        self,
        payload: dict[str, Any],
        *,
        priority: Priority = Priority.NORMAL,
        wait_seconds: float | None = None,
        anthropic_version: str = "2023-06-01",
        headers: dict[str, str] | None = None,
        cache: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Send one non-streaming Messages request through the pool; return the Message.

        For Python apps that embed the gateway in-process. ``tenant`` names whose call this
        is (required once tenants are configured: their rules apply as over HTTP). The
        caches apply as to ``POST /v1/messages``: ``cache`` (``exact``, ``semantic`` or
        ``off``) overrides the configured mode, as the ``x-scalegate-cache`` header does.
        ``wait_seconds`` bounds the wait for a key (default: the priority's
        ``admission.max_wait_seconds``). Raises :class:`~scalegate.errors.ProviderError`
        when the request cannot be served: the gateway's own (e.g. ``RateLimitError`` with
        ``retry_after``) or the provider's answer as the subclass of its status.
        """
        req = validate_messages(orjson.dumps(payload), anthropic_version)
        if req.stream:
            raise InvalidRequestError("stream: use the HTTP endpoint for streaming")
        wait = self._default_wait.get(priority, 5.0) if wait_seconds is None else wait_seconds
        forwarded = [("anthropic-version", anthropic_version), ("content-type", "application/json")]
        forwarded += list((headers or {}).items())
        principal = self.tenants.named(tenant)
        looked = {"anthropic-version": anthropic_version, **(headers or {})}
        if cache is not None:
            looked["x-scalegate-cache"] = cache
        ctx = self.new_context(principal, priority, wait, forwarded)
        async with self.serve(Call(ctx, req, looked)) as answer:
            assert answer.reply is not None
            reply = answer.reply
        if reply.status >= 400:  # the provider's own error, after any retries
            raise error_from_reply(reply.status, reply.body, dict(reply.headers))
        result: dict[str, Any] = orjson.loads(reply.body)
        return result

    async def models(self, ctx: CallContext, path_and_query: str) -> Reply:
        """``GET /v1/models[...]``: answered from a 10-minute cache when possible."""
        self._check_principal(ctx.principal)
        now = self.clock.monotonic()
        cached = self._models.get(path_and_query)
        if cached is not None and cached[0] > now:
            return cached[1]
        reply = await self.attempts.get(ctx, path_and_query)
        if reply.status == 200:
            if len(self._models) > 256:
                self._models.clear()
            self._models[path_and_query] = (now + MODELS_TTL, reply)
        return reply


_NO_CACHE = Ticket("off", "bypass")


class Serving:
    """One call on its way through :meth:`Pipeline.serve`: entering runs steps 1–6 and
    returns the :class:`Answer`; leaving undoes what was taken, last first — the relay,
    the stream's lease, the settlement, the gateway's capacity, the cache slot — whatever
    ended the block (a hand-written exit stack: this is the hot path)."""

    __slots__ = ("_call", "_capacity", "_live", "_opened", "_p", "_settle", "_ticket", "_usage")

    def __init__(self, pipeline: Pipeline, call: Call) -> None:
        self._p = pipeline
        self._call = call
        self._ticket: Ticket | None = None  # the cache slot to land
        self._capacity = False  # the gateway's capacity was taken
        self._settle: tuple[TenantTicket | None] | None = None  # settle on exit (the held)
        self._usage: dict[str, Any] = {}
        self._opened: MessageStream | None = None
        self._live: AsyncGenerator[bytes, None] | None = None

    async def __aenter__(self) -> Answer:
        try:
            p, call = self._p, self._call
            ctx, req = call.ctx, call.request
            p._check_principal(ctx.principal)
            check_allowed(ctx.principal.tenant, req.model)
            ctx.priority = effective_priority(ctx.principal.tenant, ctx.priority)
            if call.operation is Operation.COUNT_TOKENS:
                return Answer(reply=await p.attempts.count_tokens(ctx, req))
            caches = p.cache
            ticket = _NO_CACHE
            if caches is not None:
                # The slot is released on exit, whatever ends the call, so identical requests
                # waiting on this one never wait for a failure.
                ticket = await caches.lookup(req.payload, call.cache_headers, ctx.principal.name)
                self._ticket = ticket
            if ticket.value is not None:
                await p._count_hit(ctx, req.model)
                return p._from_cache(ticket, req.stream)
            # The gateway's own capacity (connections, open streams): a 529 at once when full.
            p.capacity.take(ctx.priority, req.stream)
            self._capacity = True
            held = await p._tenant_admit(ctx, req)
            self._settle = (held,)
            if not req.stream:
                created = await p.attempts.create(ctx, req)
                self._usage.update(created.usage or {})
                if caches is not None and created.reply.status == 200:
                    await caches.store(ticket, created.reply.body)
                return Answer(ticket.outcome, reply=created.reply)
            opened = await p.attempts.open(ctx, req)
            if isinstance(opened, Reply):
                return Answer(ticket.outcome, reply=opened)
            self._opened = opened
            upstream_ttfb = ctx.upstream_seconds
            self._live = live = p._relay(opened, ticket)
            return Answer(ticket.outcome, stream=live, headers=opened.headers,
                          upstream_ttfb=upstream_ttfb)  # fmt: skip
        except BaseException:
            await self._exit()
            raise

    def __aexit__(self, *_: object) -> Awaitable[None]:
        return self._exit()

    async def _exit(self) -> None:
        p, ctx = self._p, self._call.ctx
        try:
            if self._opened is not None:
                await self._end_stream()
        finally:
            try:
                if self._settle is not None:
                    (held,), self._settle = self._settle, None
                    await p._settle(ctx, self._call.request.model, held, self._usage)
            finally:
                try:
                    if self._capacity:
                        self._capacity = False
                        p.capacity.give_back(self._call.request.stream)
                finally:
                    if self._ticket is not None and p.cache is not None:
                        ticket, self._ticket = self._ticket, None
                        p.cache.land(ticket)

    async def _end_stream(self) -> None:
        """The relay (when left mid-way), then the stream's lease and usage."""
        opened, self._opened = self._opened, None
        assert opened is not None
        try:
            if self._live is not None:
                live, self._live = self._live, None
                await live.aclose()
        finally:
            await self._p._stream_done(opened, self._call.ctx, self._usage)


async def _filling(stream: MessageStream, fill: StreamFill) -> AsyncGenerator[bytes, None]:
    async for chunk in stream:
        fill.feed(chunk)
        yield chunk
    await fill.finish(stream.tracker.finished and stream.tracker.error_type is None)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
