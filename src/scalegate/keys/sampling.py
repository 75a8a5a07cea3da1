"""Which keys one admission attempt looks at: a few of the eligible ones, not all of them.

Why (issue 16): examining every eligible key on every request made admission cost grow
with the pool — 21 ms per request with 1,000 keys in memory, 61 ms in Redis, where the
reserve script read four Redis keys per candidate. An attempt now offers the key store a
*sample*: :data:`FIRST` (two) keys drawn at random in proportion to their weight, plus the
key that last served the request's prompt-cache prefix. The store picks the less utilised
of them that can take the request — the "power of two choices": over 200 keys the busiest
key stays within 10 % of the average (a random choice: +65 %, simulated), and a heavy key,
drawn more often and scored by utilisation / weight, carries its weight's share. Two candidates, not
eight as before, and the memory store checks the limits of only the one its estimate of
utilisation prefers (the other when that one cannot admit), so a request costs about the
same with 2 keys as with 1,000 (`benchmarks/curve_keys.py`). ``round_robin`` offers the next
keys in turn instead, and the store takes the first that can admit.

The sample is an optimisation, never a reason to wait: when none of it can admit, the pool
draws :data:`SAMPLE` (eight) other keys, then sixteen, and when those cannot admit either it
falls back to the whole set (a full pass), which admits on any key with room and otherwise
yields the honest shortest wait. A pool with room costs O(:data:`FIRST`); one where a
fraction f of the keys is full needs the full pass for about f ** 26 of its requests
(f = 0.8: 0.3 %); a saturated pool, where requests queue, still costs a full pass per
attempt. A pool no larger than a draw is offered whole.

An :class:`Eligible` is built once per (model, priority class) and kept until the pool's
keys change, with what sampling needs precomputed (cumulative weights, index, the token
ceilings of ``KeyPool._bounded``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import replace

from scalegate.keys.lease import KeyEntry
from scalegate.keys.store import Demand, Strategy

FIRST = 2  # keys drawn first: the power of two choices
SAMPLE = 8  # keys drawn when neither of those can admit (then twice as many, then all)
_DRAWS = 4  # draws per sampled key at most (keys drawn twice, or not allowed, are redrawn)


def _every(fp: str) -> bool:
    del fp
    return True


class Eligible:
    """The keys one (model, priority class) may use, and how to sample them."""

    __slots__ = (
        "_in_ceiling",
        "_out_ceiling",
        "ceilings",
        "cum_weights",
        "cursor",
        "entries",
        "fingerprints",
        "ids",
        "index",
        "uniform",
    )

    def __init__(self, entries: tuple[KeyEntry, ...]) -> None:
        self.entries = entries
        self.fingerprints = tuple(e.key.fingerprint for e in entries)
        self.ids = frozenset(e.key.fingerprint for e in entries)
        self.index = {e.key.fingerprint: i for i, e in enumerate(entries)}
        weights = [e.key.weight for e in entries]
        self.uniform = len(set(weights)) <= 1
        self.cum_weights = list(itertools.accumulate(weights))
        self.cursor = 0  # round_robin: where the next turn starts
        self.ceilings: dict[str, int] = {}
        for unit, name in (("input_tokens", "itpm"), ("output_tokens", "otpm")):
            caps = [getattr(e.key.limits, name) for e in entries]
            if caps and all(c is not None for c in caps):
                self.ceilings[unit] = max(int(c) for c in caps)
        inf = float("inf")
        self._in_ceiling = self.ceilings.get("input_tokens", inf)
        self._out_ceiling = self.ceilings.get("output_tokens", inf)

    def _roomy(self, demand: Demand) -> bool:
        """Whether ``demand`` is within every ceiling already (the common case, cheaply)."""
        return demand.input_tokens <= self._in_ceiling and demand.output_tokens <= self._out_ceiling

    def __len__(self) -> int:
        return len(self.entries)

    def bounded(self, demand: Demand) -> Demand:
        """The demand, each token amount at most the largest per-minute capacity among the
        keys: an estimate (or a ``max_tokens`` far above what answers use) is never a
        reason to refuse a request for good. Settlement charges the real usage."""
        if self._roomy(demand):
            return demand
        for unit, ceiling in self.ceilings.items():
            if demand.amount(unit) > ceiling:
                demand = replace(demand, **{unit: ceiling})
        return demand

    def sample(
        self,
        rng: random.Random,
        size: int,
        strategy: Strategy,
        usable: Callable[[str], bool] | None,
    ) -> list[str] | None:
        """Up to ``size`` distinct fingerprints that pass ``usable`` (``None``: every key
        does); ``None`` when the set is small enough to offer whole. May return fewer (even
        none) when few keys pass: the caller's full pass covers that."""
        fps = self.fingerprints
        n = len(fps)
        if n <= size:
            return None
        if usable is None:
            usable = _every
        if strategy == "round_robin":
            return self._in_turn(size, usable)
        if size == 2 and self.uniform:  # the common draw, written out: two distinct keys
            i = int(rng.random() * n)
            j = int(rng.random() * (n - 1))
            a, b = fps[i], fps[j + (j >= i)]
            if usable is _every or (usable(a) and usable(b)):
                return [a, b]
        entries = self.entries
        picked: dict[str, None] = {}
        budget = _DRAWS * size
        while len(picked) < size and budget > 0:
            want = min(size - len(picked), budget)
            budget -= want
            if self.uniform:
                drawn = [entries[int(rng.random() * n)] for _ in range(want)]
            else:
                drawn = rng.choices(entries, cum_weights=self.cum_weights, k=want)
            for e in drawn:
                fp = e.key.fingerprint
                if fp not in picked and usable(fp):
                    picked[fp] = None
        return list(picked)

    def _in_turn(self, size: int, usable: Callable[[str], bool]) -> list[str]:
        n = len(self.entries)
        out: list[str] = []
        for step in range(min(n, _DRAWS * size)):
            fp = self.entries[(self.cursor + step) % n].key.fingerprint
            if usable(fp):
                out.append(fp)
                if len(out) == size:
                    break
        return out

    def served(self, fp: str) -> None:
        """``fp`` took a request: round_robin's next turn starts after it."""
        i = self.index.get(fp)
        if i is not None:
            self.cursor = (i + 1) % len(self.entries)
