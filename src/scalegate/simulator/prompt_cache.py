"""The simulated prompt cache: which prompt prefixes each key has written, and until when.

Like the provider's, an entry lives five minutes from its last write or read. Entries are
per key (the provider scopes them to an organisation; a simulated key stands for one).
"""

from __future__ import annotations

from dataclasses import dataclass

from scalegate.simulator.tokens import Prefix

CACHE_TTL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class CacheUsage:
    """How a request's input splits between cache reads, cache writes and the rest."""

    total: int
    cache_read: int
    cache_creation: int

    @property
    def uncached(self) -> int:
        """``usage.input_tokens``: what follows the last breakpoint."""
        return self.total - self.cache_read - self.cache_creation

    @property
    def charged(self) -> int:
        """What counts toward ITPM: uncached input plus cache writes (reads are free)."""
        return self.total - self.cache_read


class PromptCache:
    """Per-key prefix store, expiring by the injected clock's monotonic time."""

    def __init__(self) -> None:
        self._expiry: dict[tuple[str, str], float] = {}

    def usage(self, key: str, total: int, prefixes: list[Prefix], now: float) -> CacheUsage:
        """Split ``total`` input tokens given the breakpoint ``prefixes`` (shortest first).

        The longest prefix already cached is read; everything from there to the last
        breakpoint is written. Looking does not store: call :meth:`store` once admitted.
        """
        if not prefixes:
            return CacheUsage(total, 0, 0)
        read = 0
        for prefix in reversed(prefixes):
            expiry = self._expiry.get((key, prefix.digest))
            if expiry is not None and expiry > now:
                read = prefix.tokens
                break
        return CacheUsage(total, read, prefixes[-1].tokens - read)

    def store(self, key: str, prefixes: list[Prefix], now: float) -> None:
        """Write (or refresh) every breakpoint prefix of an admitted request."""
        if len(self._expiry) > 50_000:
            self._expiry = {k: v for k, v in self._expiry.items() if v > now}
        for prefix in prefixes:
            self._expiry[(key, prefix.digest)] = now + CACHE_TTL_SECONDS

    def clear(self) -> None:
        self._expiry.clear()
