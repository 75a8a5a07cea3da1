"""The values that travel along the one request path: a call in, an answer out.

Every entry point (``/v1/messages``, count_tokens, the OpenAI surfaces, jobs, batch requests,
the Python API, cache warming) builds a :class:`Call` — a validated Messages request, the
:class:`~scalegate.principal.Principal` it is for, and its :class:`CallContext` — and hands it
to :meth:`Pipeline.serve <scalegate.pipeline.Pipeline.serve>`, which yields an
:class:`Answer`: a complete reply, or a stream of the provider's SSE bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from scalegate.keys.lease import Usage
from scalegate.principal import Principal
from scalegate.priority import Priority
from scalegate.validation import MessageRequest


class Operation(Enum):
    MESSAGE = "message"  # POST /v1/messages (plain or streamed)
    COUNT_TOKENS = "count_tokens"  # POST /v1/messages/count_tokens: no quota, no cache


@dataclass(slots=True)
class CallContext:
    """One call as it moves through the pipeline: who, how urgent, and what happened."""

    request_id: str
    principal: Principal
    priority: Priority
    deadline: float  # monotonic time after which the call stops waiting (admission, backoff)
    headers: list[tuple[str, str]]  # what is forwarded upstream (credentials excluded)
    bearer: bool = True  # send the pool key as Authorization: Bearer (else x-api-key)
    query: str = ""  # the client's query string, forwarded as it came ("?beta=true")
    waited: float = 0.0
    upstream_seconds: float = 0.0
    attempts: int = 0
    key: str | None = None  # fingerprint of the key that answered
    model: str | None = None  # the model that answered (an alias resolves to one)
    retries: list[str] = field(default_factory=list)  # outcome of each failed attempt
    first_token: float | None = None  # a stream's first content delta (perf_counter)

    @property
    def tenant(self) -> str | None:
        return self.principal.name


@dataclass(slots=True)
class Call:
    """What an entry point asks of the pipeline.

    ``cache_headers`` are the request's cache directives (``x-scalegate-cache``,
    ``x-scalegate-cache-namespace``) and the headers that change an answer
    (``anthropic-version``, ``anthropic-beta``): the cache key is made from them.
    """

    ctx: CallContext
    request: MessageRequest
    cache_headers: Mapping[str, str] = field(default_factory=dict)
    operation: Operation = Operation.MESSAGE

    @property
    def principal(self) -> Principal:
        return self.ctx.principal


@dataclass(slots=True)
class Reply:
    """A complete answer for the client: the provider's status, body and passable headers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]]


@dataclass(slots=True)
class Answer:
    """What :meth:`Pipeline.serve` yields: exactly one of ``reply`` and ``stream``.

    ``stream`` yields the provider's SSE bytes as they arrive (or a cached answer replayed as
    events); ``headers`` are the provider's passable response headers for it. ``cache`` is
    the request's cache outcome (hit, semantic-hit, coalesced, miss, bypass).
    """

    cache: str = "bypass"
    similarity: float | None = None
    reply: Reply | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    upstream_ttfb: float | None = None  # a live stream's upstream time to first byte


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
