"""The semantic cache's storage protocol, and the in-process implementation.

An entry is (namespace, partition, prompt text, unit vector, value, expiry). A search looks
only inside one partition of one namespace *at its current version* — invalidation bumps the
version, and the old partitions are unreachable at once (and dropped, in memory). Both
implementations bound the entry count with an LRU across all partitions and expire entries
by TTL; the memory one also bounds bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from scalegate.cache.embed.base import Vector
from scalegate.cache.keys import Namespace
from scalegate.cache.store import ENTRY_OVERHEAD, Bounds
from scalegate.cache.vectors import ANN_THRESHOLD, PartitionIndex, build_ann
from scalegate.clock import Clock, SystemClock

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Candidate:
    """A stored prompt close to the query: its similarity, text and value."""

    id: str
    similarity: float
    prompt: str
    value: bytes
    label: str = ""


@runtime_checkable
class SemanticStore(Protocol):
    bounds: Bounds
    kind: str

    async def search(
        self, ns: Namespace, partition: str, vector: Vector, k: int, floor: float
    ) -> list[Candidate]:
        """Up to ``k`` live entries with similarity ≥ ``floor``, best first."""
        ...

    async def add(
        self,
        ns: Namespace,
        partition: str,
        prompt: str,
        vector: Vector,
        value: bytes,
        ttl: float | None = None,
        label: str = "",
    ) -> bool: ...

    async def touch(self, candidate: Candidate) -> None:
        """Record a hit (LRU position, hit count)."""
        ...

    async def bump(self, scope: str) -> int: ...

    async def snapshot(self) -> dict[str, Any]: ...

    async def top(self, n: int) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Entry:
    part: tuple[str, tuple[int, int, int], str]
    prompt: str
    value: bytes
    expires: float
    size: int
    label: str
    hits: int = 0


@dataclass(slots=True)
class _Part:
    index: PartitionIndex
    ids: set[int] = field(default_factory=set)


class MemorySemanticStore:
    kind = "memory"

    def __init__(
        self,
        dimensions: int,
        bounds: Bounds | None = None,
        *,
        clock: Clock | None = None,
        ann_threshold: int = ANN_THRESHOLD,
    ) -> None:
        self.dimensions = dimensions
        self.bounds = bounds or Bounds()
        self.clock = clock or SystemClock()
        self.ann_threshold = ann_threshold
        self._parts: dict[tuple[str, tuple[int, int, int], str], _Part] = {}
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._versions: dict[str, int] = {}
        self._ids = itertools.count(1)
        self.bytes = 0
        self.counts = {"evictions": 0, "expired": 0, "invalidated": 0}
        self._builds: set[asyncio.Task[None]] = set()  # ANN indexes built in threads

    def _current(self, ns: Namespace) -> tuple[int, int, int]:
        epoch, tenant, sub = ns.scopes
        get = self._versions.get
        return (get(epoch, 0), get(tenant, 0), get(sub, 0) if sub else 0)

    def _remove(self, item: int, reason: str | None) -> None:
        entry = self._entries.pop(item)
        self.bytes -= entry.size
        part = self._parts.get(entry.part)
        if part is not None:
            part.index.remove(item)
            part.ids.discard(item)
            if not part.ids:
                del self._parts[entry.part]
        if reason:
            self.counts[reason] += 1

    async def search(
        self, ns: Namespace, partition: str, vector: Vector, k: int, floor: float
    ) -> list[Candidate]:
        part = self._parts.get((str(ns), self._current(ns), partition))
        if part is None:
            return []
        now = self.clock.time()
        out = []
        for item, score in part.index.search(vector, k):
            if score < floor:
                break
            entry = self._entries.get(item)
            if entry is None:
                continue
            if entry.expires <= now:
                self._remove(item, "expired")
                continue
            out.append(Candidate(str(item), score, entry.prompt, entry.value, entry.label))
        return out

    async def add(
        self,
        ns: Namespace,
        partition: str,
        prompt: str,
        vector: Vector,
        value: bytes,
        ttl: float | None = None,
        label: str = "",
    ) -> bool:
        size = len(value) + len(prompt.encode()) + 4 * self.dimensions + ENTRY_OVERHEAD
        if size > self.bounds.max_bytes:
            return False
        key = (str(ns), self._current(ns), partition)
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = _Part(PartitionIndex(self.dimensions, self.ann_threshold))
        item = next(self._ids)
        expires = self.clock.time() + (self.bounds.ttl_seconds if ttl is None else ttl)
        self._entries[item] = _Entry(key, prompt, value, expires, size, label[:120])
        part.index.add(item, vector)
        part.ids.add(item)
        if part.index.wants_ann:
            # begin_ann marks the build as started at once: one build per partition.
            task = asyncio.ensure_future(self._build_ann(part.index, part.index.begin_ann()))
            self._builds.add(task)
            task.add_done_callback(self._builds.discard)
        self.bytes += size
        now = self.clock.time()
        while len(self._entries) > self.bounds.max_entries or self.bytes > self.bounds.max_bytes:
            oldest = next(iter(self._entries))
            if oldest == item:
                break
            expired = self._entries[oldest].expires <= now
            self._remove(oldest, "expired" if expired else "evictions")
        return True

    async def _build_ann(self, index: PartitionIndex, items: list[tuple[int, Vector]]) -> None:
        try:
            ann = await asyncio.to_thread(build_ann, index.dimensions, items)
        except asyncio.CancelledError:
            index.abandon_ann()
            raise
        except Exception:
            index.abandon_ann()
            logger.exception("building the ANN index failed; the partition stays exact")
            return
        index.install_ann(ann)

    async def wait_for_builds(self) -> None:
        """Until every ANN index being built is installed (tests and benchmarks)."""
        while self._builds:
            await asyncio.gather(*self._builds, return_exceptions=True)

    async def touch(self, candidate: Candidate) -> None:
        item = int(candidate.id)
        entry = self._entries.get(item)
        if entry is not None:
            entry.hits += 1
            self._entries.move_to_end(item)

    async def bump(self, scope: str) -> int:
        self._versions[scope] = self._versions.get(scope, 0) + 1
        for key in list(self._parts):
            ns = Namespace.parse(key[0])
            if key[1] != self._current(ns):
                for item in list(self._parts[key].ids):
                    self._remove(item, "invalidated")
        return self._versions[scope]

    async def snapshot(self) -> dict[str, Any]:
        return {
            "entries": len(self._entries),
            "bytes": self.bytes,
            "partitions": len(self._parts),
            "ann_partitions": sum(1 for p in self._parts.values() if p.index.kind != "numpy"),
            **self.counts,
        }

    async def top(self, n: int) -> list[dict[str, Any]]:
        best = sorted(self._entries.items(), key=lambda kv: kv[1].hits, reverse=True)[:n]
        return [
            {
                "namespace": e.part[0],
                "key": str(item),
                "hits": e.hits,
                "bytes": e.size,
                "label": e.label or e.prompt[:120],
            }
            for item, e in best
        ]

    async def close(self) -> None:
        for task in list(self._builds):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
