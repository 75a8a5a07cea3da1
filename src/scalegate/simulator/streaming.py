"""Writing an answer as the provider's event stream, with pacing, holds and mid-stream faults.

Sequence: ``message_start`` (usage with input tokens, ``output_tokens: 1``), ``ping``, then per
block ``content_block_start`` / ``content_block_delta``… / ``content_block_stop``, then
``message_delta`` (stop reason, cumulative usage) and ``message_stop``. Each event is written
(and so flushed) on its own. A hold parks the stream after its first content delta (the
answer has begun; the rest waits); time to first token is spent before the first block.

If the client goes away the handler is cancelled (or a write fails); :class:`Progress` still
says how many output tokens were sent so the caller can charge and refund exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from scalegate.clock import Clock
from scalegate.simulator.answers import Answer
from scalegate.simulator.faults import Fault
from scalegate.simulator.prompt_cache import CacheUsage
from scalegate.simulator.state import Holds
from scalegate.sse import format_event

OVERLOADED_EVENT = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
#: A mid-stream fault strikes after this many deltas (fewer if the answer is shorter).
DELTAS_BEFORE_FAULT = 2

STREAM_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


@dataclass(slots=True)
class Progress:
    """How far an answer got (output tokens sent), how it ended, and its one settlement.

    :meth:`end` runs ``settle`` exactly once. Writers call it *before* their final bytes:
    a client that sends its next request the moment it reads ``message_stop`` must find
    the unused output already refunded and this request no longer in flight.
    """

    settle: Callable[[Progress], None] | None = None
    tokens_sent: int = 0
    # "cancelled" until proven otherwise: an exception out of the writer is a lost client.
    outcome: str = "cancelled"  # "completed" | "cancelled" | "faulted"
    settled: bool = False

    def end(self, outcome: str) -> None:
        if self.settled:
            return
        self.outcome = outcome
        self.settled = True
        if self.settle is not None:
            self.settle(self)


@dataclass(frozen=True, slots=True)
class Pacing:
    """Seconds to first token and per output token (both already scaled for ``slow``)."""

    ttft: float = 0.0
    per_token: float = 0.0


@dataclass(frozen=True, slots=True)
class StreamPlan:
    message_id: str
    model: str
    usage: CacheUsage
    answer: Answer
    pacing: Pacing
    fault: Fault | None = None
    hold_id: str | None = None
    hold_timeout: float = 30.0


def usage_body(usage: CacheUsage, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": usage.uncached,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": usage.cache_creation,
        "cache_read_input_tokens": usage.cache_read,
    }


async def open_stream(request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={**headers, **STREAM_HEADERS})
    await response.prepare(request)
    return response


async def send(response: web.StreamResponse, name: str, data: Any) -> None:
    await response.write(format_event(name, data))


async def stream_overloaded_first(response: web.StreamResponse, progress: Progress) -> None:
    """A 200 whose first and only event is an ``overloaded_error``."""
    progress.end("faulted")
    await send(response, "error", OVERLOADED_EVENT)
    await response.write_eof()


async def stream_answer(
    request: web.Request,
    response: web.StreamResponse,
    plan: StreamPlan,
    clock: Clock,
    holds: Holds,
    progress: Progress,
) -> None:
    """Write the whole event sequence of ``plan`` to an opened ``response``."""
    answer = plan.answer
    message: dict[str, Any] = {
        "id": plan.message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage_body(plan.usage, 1),
    }
    await send(response, "message_start", {"type": "message_start", "message": message})
    await send(response, "ping", {"type": "ping"})
    held = plan.hold_id is None
    if plan.pacing.ttft > 0:
        await clock.sleep(plan.pacing.ttft)
    midstream = plan.fault in (Fault.OVERLOADED_MIDSTREAM, Fault.DROP_MIDSTREAM)
    fault_at = min(DELTAS_BEFORE_FAULT, len(answer.chunks) // 2) if midstream else -1
    delivered = 0
    for index, start in enumerate(answer.starts):
        await send(
            response,
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        for chunk in (c for c in answer.chunks if c.index == index):
            if delivered == fault_at:
                await _strike(request, response, plan.fault, progress)
                return
            if plan.pacing.per_token > 0:
                await clock.sleep(plan.pacing.per_token * chunk.tokens)
            if chunk.delta.get("text", True):  # a stop sequence can leave nothing to show
                body = {"type": "content_block_delta", "index": index, "delta": chunk.delta}
                await send(response, "content_block_delta", body)
            progress.tokens_sent += chunk.tokens
            delivered += 1
            if not held and plan.hold_id is not None:
                held = True
                await holds.wait(plan.hold_id, plan.hold_timeout)
        if midstream:  # an answer with no deltas still fails
            await _strike(request, response, plan.fault, progress)
            return
        await send(response, "content_block_stop", {"type": "content_block_stop", "index": index})
    if not held and plan.hold_id is not None:  # an answer without deltas: hold at its end
        await holds.wait(plan.hold_id, plan.hold_timeout)
    delta = {"stop_reason": answer.stop_reason, "stop_sequence": answer.stop_sequence}
    usage = usage_body(plan.usage, answer.output_tokens)
    progress.end("completed")
    await send(response, "message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
    await send(response, "message_stop", {"type": "message_stop"})
    await response.write_eof()


async def _strike(
    request: web.Request, response: web.StreamResponse, fault: Fault | None, progress: Progress
) -> None:
    progress.end("faulted")
    if fault is Fault.DROP_MIDSTREAM:
        # Close without the chunked terminator: the client sees a truncated body.
        if request.transport is not None:
            request.transport.close()
        return
    await send(response, "error", OVERLOADED_EVENT)
    await response.write_eof()
