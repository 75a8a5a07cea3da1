"""``SemanticCache``: answers shared between prompts that mean the same thing.

A lookup embeds the prompt (off the event loop), searches its partition for the closest
stored prompts, and serves the best one whose cosine similarity reaches ``threshold``
(default 0.85) *and* that the verifier (:mod:`scalegate.cache.verify`) does not veto.
Usable on its own::

    cache = SemanticCache(MiniLMEmbedder())
    found = await cache.lookup("What is the capital of France?")
    if found.hit is None:
        answer = await ask_model(...)
        await cache.store(found, answer)       # reuses the embedding computed by lookup
    else:
        answer = found.hit.value               # found.similarity says how close it was

``partition`` separates prompts whose answers must never be shared (the gateway puts the
model, system prompt, tools, earlier turns and output parameters in it); ``namespace``
scopes and invalidates like the exact cache's. Statistics count lookups, hits, misses,
near-misses (best similarity within ``near_miss_margin`` below the threshold) and hits the
guard refused, by reason. Construction starts a thread that warms the verifier's lexicon
(see ``SemanticCache.__init__``); :meth:`SemanticCache.close` joins it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Protocol

from scalegate.cache.embed.base import AsyncEmbedder, Embedder, Vector
from scalegate.cache.embed.batching import BatchingEmbedder
from scalegate.cache.exact import as_namespace
from scalegate.cache.keys import Namespace
from scalegate.cache.semantic_store import Candidate, MemorySemanticStore, SemanticStore
from scalegate.cache.store import Bounds
from scalegate.cache.verify import STRICTNESS, near_miss_reason, rule, warm
from scalegate.clock import Clock
from scalegate.errors import StateBackendError

logger = logging.getLogger(__name__)


class Guard(Protocol):
    """Why two prompts must not share an answer (``None``: they may), at a strictness."""

    def __call__(self, a: str, b: str, strictness: str = "strict") -> str | None: ...


_SPACE = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.]+$")


def embedding_text(prompt: str) -> str:
    """What is embedded: case, runs of white space and closing punctuation do not count.

    MiniLM scores "What is the capital of France?" against the same words without the "?"
    at only 0.91 — below the threshold for what is, to a reader, the same question.
    """
    return _TRAILING.sub("", _SPACE.sub(" ", prompt.strip().lower()))


@dataclass(slots=True)
class SemanticLookup:
    """What a lookup found, and what :meth:`SemanticCache.store` needs to store an answer."""

    prompt: str
    partition: str
    namespace: Namespace
    vector: Vector | None  # None: not embeddable (too long) or the embedder failed
    hit: Candidate | None = None
    best: float = 0.0  # best similarity seen, hit or not
    refused: list[tuple[float, str]] = field(default_factory=list)  # (similarity, guard reason)

    @property
    def similarity(self) -> float | None:
        return self.hit.similarity if self.hit is not None else None


class SemanticCache:
    def __init__(
        self,
        embedder: AsyncEmbedder | Embedder,
        store: SemanticStore | None = None,
        *,
        threshold: float = 0.85,
        near_miss_margin: float = 0.05,
        guard: Guard | None = near_miss_reason,
        strictness: str = "strict",
        candidates: int = 4,
        max_entries: int = 10_000,
        max_bytes: int = 256 * 1024 * 1024,
        ttl_seconds: float = 3600.0,
        clock: Clock | None = None,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        if strictness not in STRICTNESS:
            raise ValueError(f"strictness must be one of {STRICTNESS}")
        if isinstance(embedder, AsyncEmbedder):
            self.embedder: AsyncEmbedder = embedder
        else:
            self.embedder = BatchingEmbedder(embedder)
        self.backend: SemanticStore = store or MemorySemanticStore(
            embedder.dimensions, Bounds(max_entries, max_bytes, ttl_seconds), clock=clock
        )
        self.threshold = threshold
        self.near_miss_margin = near_miss_margin
        self.guard = guard
        self.strictness = strictness
        self.candidates = candidates
        self.counts: dict[str, int] = {
            "lookups": 0,
            "hits": 0,
            "misses": 0,
            "near_misses": 0,
            "guard_refusals": 0,
            "not_embeddable": 0,
            "stores": 0,
            "errors": 0,
        }
        self.refusals: dict[str, int] = {}
        # The verifier's first call loads simplemma's dictionary and WordNet's index pages
        # (~0.2 s); a thread owned by the cache does it now, so that the first lookup that
        # reaches the guard does not pay for it. Joined by close().
        self._warming: threading.Thread | None = None
        if guard is near_miss_reason:
            self._warming = threading.Thread(target=warm, name="verifier-warm-up", daemon=True)
            self._warming.start()

    async def embed(self, text: str) -> Vector | None:
        """The prompt's unit vector, or ``None`` if it would be truncated or the embedder failed."""
        text = embedding_text(text)
        if not self.embedder.fits(text):
            self.counts["not_embeddable"] += 1
            return None
        try:
            rows = await self.embedder.aembed([text])
        except StateBackendError as exc:
            self._failed("embedding", exc)
            return None
        vector: Vector = rows[0]
        return vector

    async def lookup(
        self,
        prompt: str,
        *,
        partition: str = "",
        namespace: Namespace | str | None = None,
        vector: Vector | None = None,
        threshold: float | None = None,
        strictness: str | None = None,
    ) -> SemanticLookup:
        """Search for an answer to ``prompt``; ``.hit`` is set on a semantic hit.

        ``threshold`` and ``strictness`` override the cache's for this lookup (a tenant's
        own setting, say); refusals are counted by rule, without their detail, so that the
        metrics' label values stay bounded ("unaligned", not "unaligned:<a prompt's word>").
        """
        threshold = self.threshold if threshold is None else threshold
        strictness = strictness or self.strictness
        ns = as_namespace(namespace)
        self.counts["lookups"] += 1
        if vector is None:
            vector = await self.embed(prompt)
        found = SemanticLookup(prompt, partition, ns, vector)
        if vector is None:
            self.counts["misses"] += 1
            return found
        floor = threshold - self.near_miss_margin
        try:
            candidates = await self.backend.search(ns, partition, vector, self.candidates, floor)
        except StateBackendError as exc:
            self._failed("search", exc)
            candidates = []
        for cand in candidates:
            found.best = max(found.best, cand.similarity)
            if cand.similarity < threshold:
                break
            reason = self._judge(prompt, cand.prompt, strictness)
            if reason is not None:
                found.refused.append((cand.similarity, reason))
                continue
            found.hit = cand
            break
        if found.hit is not None:
            self.counts["hits"] += 1
            try:
                await self.backend.touch(found.hit)
            except StateBackendError as exc:
                self._failed("hit bookkeeping", exc)
            return found
        self.counts["misses"] += 1
        if found.refused:
            self.counts["guard_refusals"] += 1
            for _, reason in found.refused:
                self.refusals[rule(reason)] = self.refusals.get(rule(reason), 0) + 1
        if floor <= found.best < threshold or found.refused:
            self.counts["near_misses"] += 1
        return found

    async def store(
        self, lookup: SemanticLookup, value: bytes, *, ttl: float | None = None, label: str = ""
    ) -> bool:
        """Store ``value`` as the answer to the looked-up prompt."""
        if lookup.vector is None:
            return False
        try:
            stored = await self.store_vector(lookup, value, ttl=ttl, label=label)
        except StateBackendError as exc:
            self._failed("write", exc)
            return False
        return stored

    async def store_vector(
        self, lookup: SemanticLookup, value: bytes, *, ttl: float | None, label: str
    ) -> bool:
        assert lookup.vector is not None
        stored = await self.backend.add(
            lookup.namespace,
            lookup.partition,
            lookup.prompt,
            lookup.vector,
            value,
            ttl,
            label or lookup.prompt[:120],
        )
        if stored:
            self.counts["stores"] += 1
        return stored

    async def set(
        self,
        prompt: str,
        value: bytes,
        *,
        partition: str = "",
        namespace: Namespace | str | None = None,
        ttl: float | None = None,
    ) -> bool:
        """Embed and store in one call (for warming and library use)."""
        vector = await self.embed(prompt)
        lookup = SemanticLookup(prompt, partition, as_namespace(namespace), vector)
        return await self.store(lookup, value, ttl=ttl)

    async def invalidate(self, namespace: Namespace | str | None = None) -> int:
        if namespace is None or namespace == "*":
            return await self.backend.bump("*")
        return await self.backend.bump(str(as_namespace(namespace)))

    def _judge(self, prompt: str, cached: str, strictness: str) -> str | None:
        """The guard's reason to refuse, if any. A guard that raises refuses the hit (a
        miss costs a call, a wrong answer costs trust) and is logged with the error only,
        never the prompts: reason ``"error"``."""
        if self.guard is None:
            return None
        try:
            return self.guard(prompt, cached, strictness)
        except Exception as exc:
            self.counts["errors"] += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            logger.error(  # the type and the line, not the message: it may quote a prompt
                "semantic cache verifier raised %s at %s:%s; the hit is refused",
                type(exc).__name__,
                where.filename.rpartition("/")[2],
                where.lineno,
            )
            return "error"

    def _failed(self, what: str, exc: Exception) -> None:
        self.counts["errors"] += 1
        logger.warning("semantic cache %s failed, treated as a miss: %s", what, exc)

    def stats(self) -> dict[str, Any]:
        """This process's counters (plain numbers), refusals by guard rule, the hit rate."""
        out: dict[str, Any] = dict(self.counts)
        out["hit_rate"] = (
            self.counts["hits"] / self.counts["lookups"] if self.counts["lookups"] else 0.0
        )
        out["guard_refusals_by_reason"] = dict(self.refusals)
        out["threshold"] = self.threshold
        out["embedder"] = self.embedder.name
        out["index"] = self.backend.kind
        if isinstance(self.backend, MemorySemanticStore):
            out["entries"] = len(self.backend._entries)
            out["bytes"] = self.backend.bytes
            out["evictions"] = self.backend.counts["evictions"]
        return out

    async def snapshot(self) -> dict[str, Any]:
        return {**self.stats(), "store": await self.backend.snapshot()}

    async def top(self, n: int = 10) -> list[dict[str, Any]]:
        return await self.backend.top(n)

    async def close(self) -> None:
        if self._warming is not None:
            await asyncio.to_thread(self._warming.join)
        await self.embedder.aclose()
        await self.backend.close()
