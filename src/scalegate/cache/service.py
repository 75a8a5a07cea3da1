"""The gateway's caches: built from the settings, asked once per request, stored after.

:class:`CacheService` is what :class:`~scalegate.gateway.Gateway` holds as ``gw.cache``. The
Messages route calls :meth:`CacheService.lookup` before admission (a hit never touches the
key pool) and :meth:`CacheService.store` once a miss was answered completely. When caching is
off for a request, the lookup returns a shared ``bypass`` ticket after one header read and
one dict lookup: no hashing, no embedding.

Identical misses are coalesced within a process: while one request for an exact key is
being answered (the *leader*), a non-streaming request for the same key (a *follower*)
waits for that answer — up to ``cache.exact.coalesce_wait_seconds`` — instead of asking the
provider too, and is answered with it (``x-scalegate-cache: coalesced``). Streaming
requests never wait (their first token would come only after the leader's last); they may
lead. The leader's answer is shared only when it would be stored (a complete 2xx, not a
tool call); otherwise, or when the leader fails or its client leaves, followers go on as
misses of their own. Across replicas nothing is coalesced (each process leads its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from scalegate.cache.embed import embedder_from_spec
from scalegate.cache.exact import ExactCache
from scalegate.cache.keys import Namespace, exact_key, semantic_prompt
from scalegate.cache.policy import Mode, parse_mode, storable
from scalegate.cache.replay import MessageAssembler
from scalegate.cache.semantic import SemanticCache, SemanticLookup
from scalegate.cache.store import Bounds
from scalegate.clock import Clock, SystemClock
from scalegate.config import Settings
from scalegate.state.outage import Outages
from scalegate.state.stores import MemoryStores, Stores

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Ticket:
    """One request's cache decision and, on a miss, what storing its answer needs."""

    mode: Mode
    outcome: str  # hit | semantic-hit | coalesced | miss | bypass
    namespace: Namespace | None = None
    key: str | None = None
    value: bytes | None = None
    similarity: float | None = None
    semantic: SemanticLookup | None = None
    label: str = ""
    flight: tuple[tuple[str, str], asyncio.Future[bytes | None]] | None = None  # a leader's


BYPASS = Ticket("off", "bypass")


class StreamFill:
    """A missed request's stream, assembled on the side as it is relayed; stored after the
    final event when the stream ended without an error (before the response ends, so the
    client's next request can hit it)."""

    __slots__ = ("assembler", "cache", "ticket")

    def __init__(self, cache: CacheService, ticket: Ticket) -> None:
        self.cache = cache
        self.ticket = ticket
        self.assembler = MessageAssembler()

    def feed(self, chunk: bytes) -> None:
        self.assembler.feed(chunk)

    async def finish(self, complete: bool) -> None:
        message = self.assembler.message
        if complete and message is not None:
            await self.cache.store(self.ticket, orjson.dumps(message), message)


class CacheService:
    def __init__(
        self,
        settings: Settings,
        exact: ExactCache | None,
        semantic: SemanticCache | None,
    ) -> None:
        self.settings = settings
        self.exact = exact
        self.semantic = semantic
        self.default_mode: Mode = settings.cache.mode
        self._tenant_modes: dict[str | None, Mode] = {
            t.name: t.cache_mode for t in settings.tenants if t.cache_mode is not None
        }
        self.outcomes = {"hit": 0, "semantic-hit": 0, "coalesced": 0, "miss": 0, "bypass": 0}
        self._flights: dict[tuple[str, str], asyncio.Future[bytes | None]] = {}
        self._coalesce_wait = settings.cache.exact.coalesce_wait_seconds
        self.followers_waiting = 0

    @classmethod
    async def start(
        cls,
        settings: Settings,
        stores: Stores | None = None,
        *,
        clock: Clock | None = None,
        outages: Outages | None = None,
    ) -> CacheService:
        """Build the caches the settings ask for, on ``stores`` (default: memory)."""
        clock = clock or SystemClock()
        stores = stores or MemoryStores()
        conf = settings.cache
        bounds = Bounds(conf.exact.max_entries, conf.exact.max_bytes, conf.exact.ttl_seconds)
        exact = (
            ExactCache(stores.exact_store(bounds, clock), outages=outages)
            if conf.exact.enabled
            else None
        )
        semantic = None
        if conf.semantic.enabled:
            embedder = embedder_from_spec(conf.semantic.embedder)
            sem_store = await stores.semantic_store(embedder.dimensions, bounds, clock)
            semantic = SemanticCache(embedder, sem_store, threshold=conf.semantic.threshold)
        service = cls(settings, exact, semantic)
        described = "off"
        if semantic is not None:
            described = f"{semantic.embedder.name} in {semantic.backend.kind}"
            described += f", threshold {semantic.threshold}"
        logger.info(
            "cache: default mode %s; exact %s; semantic %s",
            service.default_mode,
            "off" if exact is None else ("redis" if stores.shared else "memory"),
            described,
        )
        return service

    def mode_for(self, tenant: str | None, header: str | None) -> Mode:
        mode = (
            parse_mode(header)
            if header is not None
            else self._tenant_modes.get(tenant, self.default_mode)
        )
        if mode == "semantic" and self.semantic is None:
            mode = "exact"
        if mode == "exact" and self.exact is None:
            mode = "off"
        return mode

    async def lookup(
        self,
        payload: dict[str, Any],
        headers: Mapping[str, str],
        tenant: str | None,
    ) -> Ticket:
        """The cache's answer for a validated Messages request, or a ticket to store one."""
        mode = self.mode_for(tenant, headers.get("x-scalegate-cache"))
        if mode == "off":
            self.outcomes["bypass"] += 1
            return BYPASS
        ns = Namespace.for_request(tenant, headers.get("x-scalegate-cache-namespace"))
        key = exact_key(payload, headers)
        ticket = Ticket(mode, "miss", ns, key)
        if self.exact is not None:
            value = await self.exact.get(key, ns)
            if value is not None:
                ticket.outcome, ticket.value = "hit", value
                self.outcomes["hit"] += 1
                return ticket
            if self._coalesce_wait > 0:
                value = await self._join_flight(ticket, str(ns), key, bool(payload.get("stream")))
                if value is not None:
                    ticket.outcome, ticket.value = "coalesced", value
                    self.outcomes["coalesced"] += 1
                    return ticket
        if mode == "semantic" and self.semantic is not None:
            prompt = semantic_prompt(payload, headers)
            if prompt is not None:
                found = await self.semantic.lookup(
                    prompt.text, partition=prompt.partition, namespace=ns
                )
                ticket.semantic = found
                if found.hit is not None:
                    ticket.outcome, ticket.value = "semantic-hit", found.hit.value
                    ticket.similarity = found.hit.similarity
                    self.outcomes["semantic-hit"] += 1
                    self.land(ticket, found.hit.value)  # identical followers get it too
                    return ticket
        ticket.label = _label(payload)
        self.outcomes["miss"] += 1
        return ticket

    async def _join_flight(self, ticket: Ticket, ns: str, key: str, stream: bool) -> bytes | None:
        """Wait for an identical request in flight (see the module docstring), or lead."""
        slot = (ns, key)
        flight = self._flights.get(slot)
        if flight is None:
            future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
            self._flights[slot] = future
            ticket.flight = (slot, future)
            return None
        if stream:
            return None
        self.followers_waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(flight), self._coalesce_wait)
        finally:
            self.followers_waiting -= 1
        return None

    def land(self, ticket: Ticket, shared: bytes | None = None) -> None:
        """End a leader's flight: hand ``shared`` to its followers (``None``: they ask the
        provider themselves). Idempotent; routes call it in a ``finally``."""
        if ticket.flight is None:
            return
        slot, future = ticket.flight
        ticket.flight = None
        if self._flights.get(slot) is future:
            del self._flights[slot]
        if not future.done():
            future.set_result(shared)

    def stream_fill(self, ticket: Ticket) -> StreamFill | None:
        """What a streamed answer to ``ticket`` is fed to, when it is to be stored."""
        return StreamFill(self, ticket) if ticket.outcome == "miss" else None

    async def store_answer(self, ticket: Ticket, status: int, body: bytes) -> None:
        """Store a missed request's plain answer when it is a 200 (the provider's Message)."""
        if status == 200:
            await self.store(ticket, body)

    async def store(self, ticket: Ticket, body: bytes, message: Any = None) -> None:
        """Store a complete 2xx answer to a missed request (``message``: parsed, if at hand)."""
        if ticket.outcome != "miss":
            return
        try:
            await self._store(ticket, body, message)
        except Exception:  # a cache must never fail the answer it was given to keep
            logger.exception("cache store failed; the answer was served, not stored")

    async def _store(self, ticket: Ticket, body: bytes, message: Any) -> None:
        if message is None:
            try:
                message = orjson.loads(body)
            except orjson.JSONDecodeError:
                return
        exact_ok, semantic_ok = storable(message)
        self.land(ticket, body if exact_ok else None)
        if exact_ok and self.exact is not None and ticket.key and ticket.namespace:
            await self.exact.set(ticket.key, body, ticket.namespace, label=ticket.label)
        if semantic_ok and self.semantic is not None and ticket.semantic is not None:
            await self.semantic.store(ticket.semantic, body, label=ticket.label)

    async def invalidate(self, namespace: str | None) -> dict[str, Any]:
        """Bump ``namespace`` (``tenant``, ``tenant/sub``; ``None`` or ``*``: everything)."""
        target = None if namespace in (None, "", "*") else str(Namespace.parse(namespace or ""))
        out: dict[str, Any] = {"namespace": target or "*"}
        if self.exact is not None:
            out["exact_version"] = await self.exact.invalidate(target)
        if self.semantic is not None:
            out["semantic_version"] = await self.semantic.invalidate(target)
        return out

    def stats(self) -> dict[str, Any]:
        """This process's numbers: outcomes per request, and each cache's counters."""
        return {
            "default_mode": self.default_mode,
            "requests": dict(self.outcomes),
            "coalescing": {"leaders": len(self._flights), "waiting": self.followers_waiting},
            "exact": self.exact.stats() if self.exact is not None else None,
            "semantic": self.semantic.stats() if self.semantic is not None else None,
        }

    async def snapshot(self) -> dict[str, Any]:
        """Store-wide numbers (all replicas in Redis mode) plus this process's."""
        out = self.stats()
        if self.exact is not None:
            out["exact"] = {"process": out["exact"], **(await self.exact.snapshot())}
        if self.semantic is not None:
            out["semantic"] = await self.semantic.snapshot()
        return out

    async def top(self, n: int = 10) -> dict[str, Any]:
        return {
            "exact": await self.exact.top(n) if self.exact is not None else [],
            "semantic": await self.semantic.top(n) if self.semantic is not None else [],
        }

    async def close(self) -> None:
        if self.exact is not None:
            await self.exact.close()
        if self.semantic is not None:
            await self.semantic.close()


def _label(payload: dict[str, Any]) -> str:
    """A short description for the top-entries listing: model and the last user text."""
    model = payload.get("model", "")
    text = ""
    messages = payload.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        content = messages[-1].get("content")
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            text = " ".join(
                str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b
            )
    return f"{model}: {' '.join(text.split())[:100]}"
