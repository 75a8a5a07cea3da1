"""``POST /v1/messages``: auth, validation, faults, rate limits, then the answer.

Order of checks (each answered as the provider would): 401 auth → 400 ``anthropic-version``
→ 400 body → 400/404 fields → injected early fault (no quota used) → 429 quota → answer.
Every arrival is recorded once in the stats' events; once the key and model are known, every
response (429s included, which add ``retry-after``) carries the ``anthropic-ratelimit-*``
headers of the key's buckets for the model's rate-limit class. Output unused by the end of the
response (``max_tokens`` − tokens sent) is refunded to OTPM, whether the client stayed or not.
An answer settles (refund, output counted, no longer in flight) just *before* its last bytes
are written, so a client that fires its next request on ``message_stop`` never races the
refund.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from scalegate.errors import (
    ApiError,
    InvalidRequestError,
    OverloadedError,
    ProviderError,
    RateLimitError,
)
from scalegate.simulator.answers import Answer, plan_answer
from scalegate.simulator.buckets import OUTPUT, KeyLimiter, Need
from scalegate.simulator.faults import EARLY, Fault, forced_fault
from scalegate.simulator.prompt_cache import CacheUsage
from scalegate.simulator.responses import (
    api_key,
    error_response,
    json_response,
    new_id,
    read_body,
)
from scalegate.simulator.state import SIMULATOR_KEY, Simulator
from scalegate.simulator.streaming import (
    Pacing,
    Progress,
    StreamPlan,
    open_stream,
    stream_answer,
    stream_overloaded_first,
    usage_body,
)
from scalegate.simulator.tokens import cache_prefixes, count_input_tokens, prompt_segments
from scalegate.simulator.validation import (
    MessagesRequest,
    check_context_window,
    check_version,
    parse_json_object,
    validate_messages,
)

logger = logging.getLogger(__name__)

# A slow stream over an instant base latency would not be slow: assume these as the base.
SLOW_BASE_TTFT_SECONDS = 0.01
SLOW_BASE_SECONDS_PER_TOKEN = 0.01


@dataclass(slots=True)
class Call:
    """One /v1/messages request as it moves through the checks."""

    sim: Simulator
    request: web.Request
    request_id: str
    arrival: float
    key: str | None
    limiter: KeyLimiter | None = None
    finished: bool = False

    def finish(self) -> None:
        """No longer in flight (once); answers call it before their last bytes go out."""
        if not self.finished:
            self.finished = True
            self.sim.stats.finished(self.key)

    def headers(self) -> dict[str, str]:
        headers = {"request-id": self.request_id}
        if self.limiter is not None:
            headers.update(self.sim.ratelimit_headers(self.limiter))
        return headers

    def record(self, status: int, kind: str, retry_after: int | None = None) -> None:
        tag = self.request.headers.get("x-sim-tag")
        self.sim.stats.outcome(self.key, self.arrival, status, kind, retry_after, tag)


async def post_messages(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    call = Call(sim, request, new_id("req"), sim.clock.monotonic(), api_key(request))
    sim.stats.arrived(call.key)
    try:
        return await _handle(call)
    finally:
        call.finish()


async def _handle(call: Call) -> web.StreamResponse:
    sim, request = call.sim, call.request
    try:
        key = sim.authenticate(call.key)
        version = check_version(request.headers.get("anthropic-version"))
        body = parse_json_object(await read_body(request))
        parsed = validate_messages(body, version, sim.catalog)
        call.limiter = sim.limiter(key, parsed.model)
        rolled = sim.faults.roll(sim.config.faults.for_key(call.key), stream=parsed.stream)
        fault = forced_fault(request.headers.get("x-sim-fault"), stream=parsed.stream) or rolled
        pacing = _pacing(call, fault)
        total = count_input_tokens(body)
        check_context_window(total, sim.catalog.context_window(parsed.model))
    except ProviderError as exc:
        call.record(exc.status, "auth" if exc.status == 401 else "invalid")
        return error_response(exc, call.request_id, call.headers())
    assert call.key is not None
    assert call.limiter is not None
    if fault is not None:
        logger.debug("injecting fault %s into request %s", fault.value, call.request_id)
    if fault in EARLY:
        return await _early_fault(call, fault)
    prefixes = cache_prefixes(parsed.model, prompt_segments(body))
    now = sim.clock.monotonic()
    usage = sim.cache.usage(call.key, total, prefixes, now)
    # Cache reads are free for ITPM on current models; writes and uncached input count.
    charged = usage.total if sim.catalog.cache_reads_count(parsed.model) else usage.charged
    need = Need(input_tokens=charged, output_tokens=_output_estimate(call, parsed.max_tokens))
    denial = call.limiter.check(need, now)
    if denial is not None:
        sim.stats.quota_denied(call.key)
        call.record(429, "quota", denial.retry_after)
        error = RateLimitError(denial.message, should_retry=denial.possible)
        headers = {**call.headers(), "retry-after": str(denial.retry_after)}
        return error_response(error, call.request_id, headers)
    call.limiter.take(need, now)
    sim.cache.store(call.key, prefixes, now)
    sim.stats.accepted(call.key, charged, usage.cache_creation, usage.cache_read)
    if fault is not None:
        sim.stats.injected(call.key, fault.value)
    call.record(200, fault.kind if fault is not None else "ok")
    return await _answer(call, parsed, usage, pacing, fault)


def _output_estimate(call: Call, max_tokens: int) -> int:
    """What is charged up front against OTPM (``SimulatorConfig.output_estimate``)."""
    assert call.limiter is not None
    bucket = call.limiter.buckets.get(OUTPUT)
    if bucket is None or call.sim.config.output_estimate == "max_tokens":
        return max_tokens
    return min(max_tokens, bucket.limit)


def _pacing(call: Call, fault: Fault | None) -> Pacing:
    latency = call.sim.config.latency
    ttft = latency.ttft_ms / 1000
    override = call.request.headers.get("x-sim-latency-ms")
    if override is not None:
        try:
            ttft = float(override) / 1000
        except ValueError:
            ttft = -1.0
        if not ttft >= 0:  # also catches nan
            raise InvalidRequestError("x-sim-latency-ms: must be a non-negative number")
    per_token = 1 / latency.tokens_per_second if latency.tokens_per_second > 0 else 0.0
    if fault is Fault.SLOW:
        factor = call.sim.config.faults.slow_stream_factor
        ttft = (ttft or SLOW_BASE_TTFT_SECONDS) * factor
        per_token = (per_token or SLOW_BASE_SECONDS_PER_TOKEN) * factor
    return Pacing(ttft, per_token)


async def _early_fault(call: Call, fault: Fault) -> web.StreamResponse:
    """A fault decided before the rate limiter: no quota is taken."""
    assert call.key is not None
    call.sim.stats.injected(call.key, fault.value)
    if fault is Fault.DROP:
        call.record(0, fault.kind)
        call.finish()
        if call.request.transport is not None:
            call.request.transport.close()
        return web.Response()  # never written: the connection is already closed
    if fault is Fault.OVERLOADED_FIRST:
        call.record(200, fault.kind)
        response = await open_stream(call.request, call.headers())
        with contextlib.suppress(ConnectionResetError):  # the client may already be gone
            await stream_overloaded_first(response, Progress(lambda _: call.finish()))
        return response
    error: ProviderError
    headers = call.headers()
    retry_after: int | None = None
    if fault is Fault.ERROR_429:
        retry_after = call.sim.config.faults.injected_retry_after_seconds
        error = RateLimitError("Number of requests has exceeded your rate limit.")
        headers.update({"retry-after": str(retry_after), "x-should-retry": "true"})
    elif fault is Fault.ERROR_529:
        error = OverloadedError("Overloaded")
    else:
        error = ApiError("Internal server error")
    call.record(error.status, fault.kind, retry_after)
    return error_response(error, call.request_id, headers)


async def _answer(
    call: Call, parsed: MessagesRequest, usage: CacheUsage, pacing: Pacing, fault: Fault | None
) -> web.StreamResponse:
    """Produce the answer and settle: count output sent, refund the rest of ``max_tokens``."""
    sim, key, limiter = call.sim, call.key, call.limiter
    assert key is not None
    assert limiter is not None
    answer = plan_answer(parsed)

    def settle(progress: Progress) -> None:
        sim.stats.output(key, progress.tokens_sent)
        limiter.refund_output(parsed.max_tokens - progress.tokens_sent, sim.clock.monotonic())
        if parsed.stream and progress.outcome != "faulted":
            sim.stats.stream_ended(key, completed=progress.outcome == "completed")
        call.finish()

    progress = Progress(settle)
    headers = call.headers()  # after the deduction: "remaining" includes this request
    try:
        if parsed.stream:
            plan = StreamPlan(
                message_id=new_id("msg"),
                model=parsed.model,
                usage=usage,
                answer=answer,
                pacing=pacing,
                fault=fault,
                hold_id=call.request.headers.get("x-sim-hold"),
                hold_timeout=sim.config.max_hold_seconds,
            )
            return await _stream(call, plan, progress, headers)
        return await _respond(call, parsed, usage, pacing, answer, progress, headers)
    finally:
        progress.end(progress.outcome)  # a no-op unless the client left before the end


async def _stream(
    call: Call, plan: StreamPlan, progress: Progress, headers: dict[str, str]
) -> web.StreamResponse:
    response = await open_stream(call.request, headers)
    # A failed write means the client left; Progress says how far it got.
    with contextlib.suppress(ConnectionResetError):
        await stream_answer(call.request, response, plan, call.sim.clock, call.sim.holds, progress)
    return response


async def _respond(
    call: Call,
    parsed: MessagesRequest,
    usage: CacheUsage,
    pacing: Pacing,
    answer: Answer,
    progress: Progress,
    headers: dict[str, str],
) -> web.StreamResponse:
    """The non-streaming answer, after any hold and the simulated generation time."""
    hold_id = call.request.headers.get("x-sim-hold")
    if hold_id:
        await call.sim.holds.wait(hold_id, call.sim.config.max_hold_seconds)
    delay = pacing.ttft + pacing.per_token * answer.output_tokens
    if delay > 0:
        await call.sim.clock.sleep(delay)
    message: dict[str, Any] = {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": parsed.model,
        "content": answer.blocks,
        "stop_reason": answer.stop_reason,
        "stop_sequence": answer.stop_sequence,
        "usage": usage_body(usage, answer.output_tokens),
    }
    progress.tokens_sent = answer.output_tokens
    progress.end("completed")
    return json_response(message, headers=headers)
