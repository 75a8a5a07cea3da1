"""The request pipeline (DESIGN §2): admission, the upstream call, retries, settlement.

Routes and job workers are thin shells around :class:`Pipeline`. One attempt leases a key from
the pool, calls the provider with it, and settles the lease with what happened. A retryable
failure moves to another eligible key at once; only when none is left does the pipeline back
off (full jitter), and every wait — for admission or for backoff — counts against the
request's deadline. At most ``retry.max_attempts`` attempts are made in all.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from multidict import CIMultiDictProxy

from scalegate.affinity import prefix_hash
from scalegate.cache.service import BYPASS, CacheService
from scalegate.clock import Clock, SystemClock
from scalegate.config import Settings, TenantConfig
from scalegate.errors import (
    ApiError,
    InvalidRequestError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    error_from_reply,
)
from scalegate.keys.lease import Lease, Outcome, Usage
from scalegate.keys.pool import KeyPool
from scalegate.keys.store import Demand
from scalegate.pricing import PriceTable
from scalegate.priority import Priority
from scalegate.retry import RETRYABLE, Backoff, classify_status
from scalegate.routing import candidates, check_allowed
from scalegate.tenants.limits import TenantLimiter, TenantTicket
from scalegate.tokens import TokenEstimator, raw_estimate
from scalegate.upstream.client import UpstreamClient, UpstreamConnectionError
from scalegate.upstream.headers import response_headers, with_credentials
from scalegate.validation import MessageRequest, validate_messages

logger = logging.getLogger(__name__)

T = TypeVar("T")

MODELS_TTL = 600.0


@dataclass(slots=True)
class CallContext:
    """One client request as it moves through the pipeline."""

    request_id: str
    priority: Priority
    deadline: float  # monotonic time after which the request stops waiting (admission, backoff)
    headers: list[tuple[str, str]]  # what is forwarded upstream (credentials excluded)
    bearer: bool = True  # send the pool key as Authorization: Bearer (else x-api-key)
    tenant: str | None = None
    tenant_config: TenantConfig | None = None
    waited: float = 0.0
    upstream_seconds: float = 0.0
    attempts: int = 0
    key: str | None = None  # fingerprint of the key that answered
    model: str | None = None  # the model that answered (an alias resolves to one)
    retries: list[str] = field(default_factory=list)  # outcome of each failed attempt
    first_token: float | None = None  # a stream's first content delta (perf_counter)


@dataclass(slots=True)
class Reply:
    """A complete answer for the client: the provider's status, body and passable headers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]]


@dataclass(slots=True)
class Attempt(Generic[T]):
    outcome: Outcome
    value: T | None = None
    usage: Usage | None = None
    headers: CIMultiDictProxy[str] | None = None
    status: int = 0
    timeout: bool = False
    keep_lease: bool = False  # a stream owns its lease until it ends
    raw_usage: dict[str, Any] | None = None  # the provider's usage document, on success


def usage_from_message(message: Any) -> tuple[Usage, int] | None:
    """Usage counted against limits (input + cache creation, output) and the prompt total."""
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    inp = int(usage.get("input_tokens") or 0)
    created = int(usage.get("cache_creation_input_tokens") or 0)
    read = int(usage.get("cache_read_input_tokens") or 0)
    out = int(usage.get("output_tokens") or 0)
    return Usage(inp + created, out), inp + created + read


class Pipeline:
    """Everything between a validated request and the provider's answer."""

    def __init__(
        self,
        settings: Settings,
        pool: KeyPool,
        upstream: UpstreamClient,
        *,
        estimator: TokenEstimator | None = None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        limiter: TenantLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.prices = PriceTable(settings.prices)
        self.pool = pool
        self.upstream = upstream
        self.estimator = estimator or TokenEstimator()
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff(settings.retry)
        self._models: dict[str, tuple[float, Reply]] = {}
        self.retry_counts: dict[str, int] = {}
        # Told every answer's model and usage document (metrics: tokens and cost).
        self.on_usage: Callable[[str, dict[str, Any], CallContext], None] | None = None
        self.cache: CacheService | None = None  # the Gateway's caches, for message()

    # -- the attempt loop -------------------------------------------------------------------

    async def run(
        self,
        ctx: CallContext,
        model: str | None,
        demand: Demand,
        call: Callable[[Lease], Awaitable[Attempt[T]]],
        affinity: str | None = None,
    ) -> Attempt[T]:
        """Attempt ``call`` on leased keys until it succeeds, fails for good, or runs out.

        Returns the last attempt (successful or not); raises the pool's ``ProviderError``
        when no key could be had within the deadline.
        """
        exclude: frozenset[str] = frozenset()
        backoffs = 0
        max_attempts = self.settings.retry.max_attempts
        while True:
            lease = await self.pool.acquire(
                model, demand, ctx.priority, ctx.deadline, exclude, affinity
            )
            ctx.waited += lease.waited
            ctx.attempts += 1
            ctx.key = lease.key.fingerprint
            try:
                attempt = await call(lease)
            except BaseException:
                await asyncio.shield(self.pool.settle(lease, Outcome.CANCELLED))
                raise
            if not attempt.keep_lease:
                await self.pool.settle(lease, attempt.outcome, attempt.usage, attempt.headers)
            if attempt.outcome is Outcome.SUCCESS or attempt.outcome not in RETRYABLE:
                return attempt
            self.retry_counts[attempt.outcome.value] = (
                self.retry_counts.get(attempt.outcome.value, 0) + 1
            )
            ctx.retries.append(attempt.outcome.value)
            if ctx.attempts >= max_attempts:
                return attempt
            exclude |= {lease.key.fingerprint}
            if not self.pool.has_alternative(model, ctx.priority, exclude):
                backoffs += 1
                delay = self.backoff.delay(backoffs)
                if self.clock.monotonic() + delay > ctx.deadline:
                    return attempt
                await self.clock.sleep(delay)
                ctx.waited += delay
                exclude = frozenset()

    def final_error(self, ctx: CallContext, attempt: Attempt[Any]) -> ProviderError:
        """The client-facing error for an attempt that failed for good."""
        tried = f"after {ctx.attempts} attempt{'s' if ctx.attempts != 1 else ''}"
        outcome = attempt.outcome
        if outcome is Outcome.RATE_LIMITED:
            return RateLimitError(
                f"every upstream key answered 429 {tried}", retry_after=1.0, should_retry=True
            )
        if outcome is Outcome.OVERLOADED:
            return OverloadedError(f"the provider is overloaded ({tried})", retry_after=1.0)
        if outcome is Outcome.CONNECTION_ERROR:
            status = 504 if attempt.timeout else 502
            return ProviderError(f"the provider could not be reached {tried}", status=status)
        if outcome is Outcome.AUTH_FAILED:
            return OverloadedError(
                f"every upstream key tried was rejected by the provider {tried}",
                retry_after=30,
                should_retry=False,
            )
        status = attempt.status if attempt.status >= 500 else 500
        cls = ApiError if status == 500 else ProviderError
        return cls(f"the provider answered {attempt.status} {tried}", status=status)

    def _reply_or_raise(self, ctx: CallContext, attempt: Attempt[Reply]) -> Reply:
        if attempt.outcome is Outcome.SUCCESS or attempt.outcome is Outcome.CLIENT_ERROR:
            assert attempt.value is not None
            return attempt.value
        raise self.final_error(ctx, attempt)

    # -- library entry point ----------------------------------------------------------------

    async def message(
        self,
        payload: dict[str, Any],
        *,
        priority: Priority = Priority.NORMAL,
        wait_seconds: float | None = None,
        anthropic_version: str = "2023-06-01",
        headers: dict[str, str] | None = None,
        cache: str | None = None,
    ) -> dict[str, Any]:
        """Send one non-streaming Messages request through the pool; return the Message.

        The Gateway's caches apply as to ``POST /v1/messages`` (the same entries):
        ``cache`` (``exact``, ``semantic`` or ``off``) overrides the configured mode for
        this call, as the ``x-scalegate-cache`` header does over HTTP.

        For Python apps that embed the gateway in-process. ``wait_seconds`` bounds the
        wait for a key (default: the priority's ``admission.max_wait_seconds``). Raises
        :class:`~scalegate.errors.ProviderError` when the request cannot be served: the
        gateway's own (e.g. ``RateLimitError`` with ``retry_after``) or the provider's answer
        as the subclass of its status (``NotFoundError`` for a 404, ``OverloadedError`` for a
        529 after the retries, …) with the provider's message.
        """
        body = orjson.dumps(payload)
        req = validate_messages(body, anthropic_version)
        if req.stream:
            raise InvalidRequestError("stream: use the HTTP endpoint for streaming")
        wait = self.settings.admission.wait_for(priority) if wait_seconds is None else wait_seconds
        forwarded = [("anthropic-version", anthropic_version), ("content-type", "application/json")]
        forwarded += list((headers or {}).items())
        ctx = CallContext(
            "req_" + secrets.token_hex(12), priority, self.clock.monotonic() + wait, forwarded
        )
        looked = {"anthropic-version": anthropic_version, **(headers or {})}
        if cache is not None:
            looked["x-scalegate-cache"] = cache
        caches, ticket = self.cache, BYPASS
        try:
            if caches is not None:
                ticket = await caches.lookup(req.payload, looked, None)
                if ticket.value is not None:
                    hit: dict[str, Any] = orjson.loads(ticket.value)
                    return hit
            reply = await self.create_message(ctx, req)
            if caches is not None:
                await caches.store_answer(ticket, reply.status, reply.body)
        finally:
            if caches is not None:
                caches.land(ticket)
        if reply.status >= 400:  # the provider's own error, after any retries
            raise error_from_reply(reply.status, reply.body, dict(reply.headers))
        result: dict[str, Any] = orjson.loads(reply.body)
        return result

    # -- calls ------------------------------------------------------------------------------

    def demand_for(self, req: MessageRequest) -> tuple[Demand, float]:
        raw = raw_estimate(req.payload)
        return Demand(1, self.estimator.estimate(req.model, raw), req.max_tokens), raw

    async def send(
        self, ctx: CallContext, lease: Lease, method: str, path: str, body: bytes | None
    ) -> Attempt[Reply]:
        """One plain request/response call upstream with the leased key."""
        headers = with_credentials(ctx.headers, lease.key.secret, ctx.bearer)
        try:
            resp = await self.upstream.send(method, path, headers, body)
        except UpstreamConnectionError as exc:
            return Attempt(Outcome.CONNECTION_ERROR, timeout=exc.timeout)
        ctx.upstream_seconds += resp.seconds
        reply = Reply(resp.status, resp.body, response_headers(resp.headers))
        return Attempt(classify_status(resp.status), reply, None, resp.headers, resp.status)

    async def with_fallbacks(
        self,
        ctx: CallContext,
        req: MessageRequest,
        one: Callable[[MessageRequest], Awaitable[T]],
    ) -> T:
        """Run ``one`` for the requested model, or along an alias's models (:mod:`routing`).

        Every model but the last is tried without waiting: saturated (429), failing (5xx,
        529) or without a key (404), the next is tried at once.
        """
        check_allowed(ctx.tenant_config, req.model)
        options = candidates(self.settings, req)
        deadline = ctx.deadline
        for i, option in enumerate(options):
            last = i == len(options) - 1
            if not last:
                ctx.deadline = min(deadline, self.clock.monotonic())
            try:
                result = await one(option)
            except ProviderError as exc:
                if last or not (exc.status in (404, 429) or exc.status >= 500):
                    raise
                ctx.retries.append(f"fallback:{option.model}")
                continue
            finally:
                ctx.deadline = deadline
            ctx.model = option.model
            return result
        raise AssertionError("unreachable: the last option returns or raises")

    async def create_message(self, ctx: CallContext, req: MessageRequest) -> Reply:
        """A non-streaming ``POST /v1/messages`` (an alias tries its models in order)."""
        return await self.with_fallbacks(ctx, req, lambda r: self._create_one(ctx, r))

    async def _create_one(self, ctx: CallContext, req: MessageRequest) -> Reply:
        demand, raw = self.demand_for(req)

        async def call(lease: Lease) -> Attempt[Reply]:
            attempt = await self.send(ctx, lease, "POST", "/v1/messages", req.body)
            if attempt.outcome is Outcome.SUCCESS and attempt.value is not None:
                try:
                    message = orjson.loads(attempt.value.body)
                except orjson.JSONDecodeError:
                    message = None
                counted = usage_from_message(message)
                if counted is not None:
                    attempt.usage = counted[0]
                    attempt.raw_usage = message["usage"]
                    self.estimator.learn(req.model, raw, counted[1])
            return attempt

        affinity = prefix_hash(req.model, req.body, req.payload)
        ticket = await self.tenant_admit(ctx, demand)
        try:
            attempt = await self.run(ctx, req.model, demand, call, affinity)
        except BaseException:
            await asyncio.shield(self.tenant_settle(ticket, req.model, None))
            raise
        if self.on_usage is not None and attempt.raw_usage:
            self.on_usage(req.model, attempt.raw_usage, ctx)
        await self.tenant_settle(ticket, req.model, attempt.raw_usage)
        return self._reply_or_raise(ctx, attempt)

    async def count_cache_hit(self, ctx: CallContext, model: str) -> None:
        """A cache hit counts toward the tenant's request limits but costs no tokens."""
        counted = await self.tenant_admit(ctx, Demand(1, 0, 0))
        await self.tenant_settle(counted, model, None)

    async def tenant_admit(self, ctx: CallContext, demand: Demand) -> TenantTicket | None:
        """Apply the tenant's limits and budget (429 / 402), before any key is asked."""
        if ctx.tenant_config is None or self.limiter is None:
            return None
        return await self.limiter.admit(
            ctx.tenant_config, demand.input_tokens + demand.output_tokens
        )

    async def tenant_settle(
        self, ticket: TenantTicket | None, model: str, usage: dict[str, Any] | None
    ) -> None:
        """Count what the answer really used (nothing when it failed) and what it cost."""
        if ticket is None:
            return
        usage = usage or {}
        tokens = sum(
            int(usage.get(k) or 0)
            for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens")
        )
        assert self.limiter is not None
        await self.limiter.settle(ticket, tokens, self.prices.cost_usd(model, usage))

    async def count_tokens(self, ctx: CallContext, req: MessageRequest) -> Reply:
        """``POST /v1/messages/count_tokens``: through the pool, no quota reserved."""

        async def call(lease: Lease) -> Attempt[Reply]:
            return await self.send(ctx, lease, "POST", "/v1/messages/count_tokens", req.body)

        return self._reply_or_raise(ctx, await self.run(ctx, req.model, Demand(0), call))

    async def models(self, ctx: CallContext, path_and_query: str) -> Reply:
        """``GET /v1/models[...]``: answered from a 10-minute cache when possible."""
        now = self.clock.monotonic()
        cached = self._models.get(path_and_query)
        if cached is not None and cached[0] > now:
            return cached[1]

        async def call(lease: Lease) -> Attempt[Reply]:
            return await self.send(ctx, lease, "GET", path_and_query, None)

        reply = self._reply_or_raise(ctx, await self.run(ctx, None, Demand(0), call))
        if reply.status == 200:
            if len(self._models) > 256:
                self._models.clear()
            self._models[path_and_query] = (now + MODELS_TTL, reply)
        return reply
