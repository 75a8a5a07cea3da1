"""The attempt loop: a leased key, one upstream call, settlement, and another key on failure.

:class:`Attempts` is the inner part of the one request path (:mod:`scalegate.pipeline` is
the outer part: principal, cache, tenant). One attempt leases a key from the pool, calls the
provider with it, and settles the lease with what happened. A retryable failure moves to
another eligible key at once; only when none is left does the loop back off (full jitter),
and every wait — for admission or for backoff — counts against the call's deadline. At most
``retry.max_attempts`` attempts are made in all. An alias tries its models in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from multidict import CIMultiDictProxy

from scalegate.affinity import prefix_hash
from scalegate.call import CallContext, Reply, usage_from_message
from scalegate.clock import Clock
from scalegate.config import Settings
from scalegate.errors import ApiError, OverloadedError, ProviderError, RateLimitError
from scalegate.keys.lease import Lease, Outcome, Usage
from scalegate.keys.pool import KeyPool
from scalegate.keys.store import Demand
from scalegate.retry import RETRYABLE, Backoff, classify_status
from scalegate.routing import candidates
from scalegate.streaming import MessageStream, first_event
from scalegate.tokens import TokenEstimator, raw_estimate
from scalegate.upstream.client import UpstreamClient, UpstreamConnectionError
from scalegate.upstream.headers import response_headers, with_credentials
from scalegate.validation import MessageRequest

T = TypeVar("T")


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


@dataclass(slots=True)
class Created:
    """A plain call's final reply and the provider's usage document (when it succeeded)."""

    reply: Reply
    usage: dict[str, Any] | None


class Attempts:
    """Attempts of one call on the pool's keys (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        pool: KeyPool,
        upstream: UpstreamClient,
        estimator: TokenEstimator,
        clock: Clock,
        backoff: Backoff,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.upstream = upstream
        self.estimator = estimator
        self.clock = clock
        self.backoff = backoff
        self.retry_counts: dict[str, int] = {}

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

    def reply_or_raise(self, ctx: CallContext, attempt: Attempt[Reply]) -> Reply:
        if attempt.outcome is Outcome.SUCCESS or attempt.outcome is Outcome.CLIENT_ERROR:
            assert attempt.value is not None
            return attempt.value
        raise self.final_error(ctx, attempt)

    def demand_for(
        self, req: MessageRequest, prefix: str | None = None, tenant: str | None = None
    ) -> tuple[Demand, float]:
        """What to reserve: the input estimate less what the prompt cache will likely serve
        (cache reads do not count toward ITPM), and the output the model's answers use
        (``admission.output_reservation``); settlement charges the real counts."""
        raw = raw_estimate(req.payload)
        total = self.estimator.estimate(req.model, raw, tenant)
        cached = min(self.estimator.expected_cached(prefix), int(total * 0.9))
        if self.settings.admission.output_reservation == "max_tokens":
            out = req.max_tokens
        else:
            out = self.estimator.output_reservation(req.model, req.max_tokens)
        return Demand(1, max(1, total - cached), out), raw

    def learn(
        self,
        model: str,
        raw: float,
        prefix: str | None,
        usage: dict[str, Any],
        tenant: str | None = None,
    ) -> None:
        """Fold one answer's usage into the estimates (input per model and tenant, cached
        prefix, output)."""
        inp = int(usage.get("input_tokens") or 0)
        read = int(usage.get("cache_read_input_tokens") or 0)
        created = int(usage.get("cache_creation_input_tokens") or 0)
        if inp + read + created:
            self.estimator.learn(model, raw, inp + read + created, tenant)
            self.estimator.learn_cached(prefix, read, created)
        self.estimator.learn_output(model, int(usage.get("output_tokens") or 0))

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
        one: Callable[[CallContext, MessageRequest], Awaitable[T]],
    ) -> T:
        """Run ``one`` for the requested model, or along an alias's models (:mod:`routing`).

        Every model but the last is tried without waiting: saturated (429), failing (5xx,
        529) or without a key (404), the next is tried at once.
        """
        options = candidates(self.settings, req)
        deadline = ctx.deadline
        for i, option in enumerate(options):
            last = i == len(options) - 1
            if not last:
                ctx.deadline = min(deadline, self.clock.monotonic())
            try:
                result = await one(ctx, option)
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

    # -- the calls --------------------------------------------------------------------------

    def create(self, ctx: CallContext, req: MessageRequest) -> Awaitable[Created]:
        """A non-streaming ``POST /v1/messages``: the final reply, or raises."""
        return self.with_fallbacks(ctx, req, self._create_one)

    async def _create_one(self, ctx: CallContext, req: MessageRequest) -> Created:
        affinity = prefix_hash(req.model, req.body, req.payload)
        demand, raw = self.demand_for(req, affinity, ctx.tenant)

        async def call(lease: Lease) -> Attempt[Reply]:
            path = "/v1/messages" + ctx.query
            attempt = await self.send(ctx, lease, "POST", path, req.body)
            if attempt.outcome is Outcome.SUCCESS and attempt.value is not None:
                try:
                    message = orjson.loads(attempt.value.body)
                except orjson.JSONDecodeError:
                    message = None
                counted = usage_from_message(message)
                if counted is not None:
                    attempt.usage = counted[0]
                    attempt.raw_usage = message["usage"]
                    self.learn(req.model, raw, affinity, message["usage"], ctx.tenant)
            return attempt

        attempt = await self.run(ctx, req.model, demand, call, affinity)
        return Created(self.reply_or_raise(ctx, attempt), attempt.raw_usage)

    def open(self, ctx: CallContext, req: MessageRequest) -> Awaitable[MessageStream | Reply]:
        """A streaming ``POST /v1/messages``, opened: retried while nothing was forwarded.

        Returns the open stream (its first event known not to be an error), or the
        provider's ``Reply`` for a client error; raises when every attempt failed.
        """
        return self.with_fallbacks(ctx, req, self._open_one)

    async def _open_one(self, ctx: CallContext, req: MessageRequest) -> MessageStream | Reply:
        affinity = prefix_hash(req.model, req.body, req.payload)
        demand, raw = self.demand_for(req, affinity, ctx.tenant)

        def learn(usage: dict[str, Any]) -> None:
            self.learn(req.model, raw, affinity, usage, ctx.tenant)

        async def call(lease: Lease) -> Attempt[MessageStream | Reply]:
            headers = with_credentials(ctx.headers, lease.key.secret, ctx.bearer)
            started = time.perf_counter()
            try:
                path = "/v1/messages" + ctx.query
                resp = await self.upstream.open("POST", path, headers, req.body)
            except UpstreamConnectionError as exc:
                return Attempt(Outcome.CONNECTION_ERROR, timeout=exc.timeout)
            if resp.status != 200:
                try:
                    body = await self.upstream.read_body(resp)
                except UpstreamConnectionError as exc:
                    return Attempt(Outcome.CONNECTION_ERROR, timeout=exc.timeout)
                finally:
                    resp.release()
                reply = Reply(resp.status, body, response_headers(resp.headers))
                status = resp.status
                return Attempt(classify_status(status), reply, None, resp.headers, status)
            outcome, opened, status = await first_event(
                self.pool, lease, resp, learn, self.upstream.config.stream_hold_seconds
            )
            ctx.upstream_seconds += time.perf_counter() - started
            if isinstance(opened, MessageStream):
                return Attempt(outcome, opened, None, resp.headers, 200, keep_lease=True)
            return Attempt(outcome, opened, None, resp.headers, status)

        attempt = await self.run(ctx, req.model, demand, call, affinity)
        if isinstance(attempt.value, MessageStream):
            return attempt.value
        if attempt.outcome is Outcome.CLIENT_ERROR and attempt.value is not None:
            return attempt.value
        raise self.final_error(ctx, attempt)

    async def count_tokens(self, ctx: CallContext, req: MessageRequest) -> Reply:
        """``POST /v1/messages/count_tokens``: through the pool, no quota reserved."""

        async def call(lease: Lease) -> Attempt[Reply]:
            path = "/v1/messages/count_tokens" + ctx.query
            return await self.send(ctx, lease, "POST", path, req.body)

        return self.reply_or_raise(ctx, await self.run(ctx, req.model, Demand(0), call))

    async def get(self, ctx: CallContext, path_and_query: str) -> Reply:
        """A ``GET`` through the pool (``/v1/models``), no quota reserved."""

        async def call(lease: Lease) -> Attempt[Reply]:
            return await self.send(ctx, lease, "GET", path_and_query, None)

        return self.reply_or_raise(ctx, await self.run(ctx, None, Demand(0), call))
