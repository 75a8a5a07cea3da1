"""The key store in process memory (embedded mode): exact for one process, nothing shared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter

from scalegate.clock import Clock, SystemClock
from scalegate.config import BreakerConfig
from scalegate.keys.breaker import BreakerState, CircuitBreaker
from scalegate.keys.buckets import SlidingWindow, TokenBucket
from scalegate.keys.model import UpstreamKey
from scalegate.keys.store import (
    AFFINITY_SECONDS,
    DRIFT_TOLERANCE,
    LIMITS,
    QUARANTINE_REASON,
    WINDOW_SLOTS,
    Candidate,
    Demand,
    KeyStatus,
    LimitUsage,
    ReserveResult,
    Settlement,
    SettleResult,
    Strategy,
)

Limit = TokenBucket | SlidingWindow
_UNITS = ("requests", "input_tokens", "output_tokens")  # a Demand's amounts, in this order


class _KeyState:
    __slots__ = (
        "breaker",
        "checked",
        "cooldown_until",
        "decay",
        "disabled",
        "empty",
        "key",
        "limits",
        "quarantined",
        "reported",
        "skew",
        "taken",
        "util",
        "util_at",
    )

    def __init__(
        self, key: UpstreamKey, now: float, skew: float, breaker: CircuitBreaker, empty: bool
    ) -> None:
        self.empty = empty
        self.limits: dict[str, tuple[str, Limit]] = {}
        self.cooldown_until = 0.0
        self.skew = skew
        self.taken: dict[str, float] = {}  # all ever reserved or charged, per minute bucket
        self.breaker = breaker
        self.disabled: str | None = None
        self.quarantined = False
        self.reported: dict[str, float] = {}  # the provider's limits, learned from headers
        # The use of the tightest limit after the last reservation, when, and how fast it
        # falls (a minute bucket empties of use in its period; a window is taken not to):
        # what orders a sample before any limit is checked (see ``_by_estimate``).
        self.util, self.util_at, self.decay = 0.0, now, 0.0
        self.configure(key, now)

    def configure(self, key: UpstreamKey, now: float) -> None:
        self.key = key
        fresh: dict[str, tuple[str, Limit]] = {}
        for name, (unit, kind, window) in LIMITS.items():
            limit = getattr(key.limits, name)
            if limit is None:
                continue
            if name in self.reported:  # learned: min(configured, reported)
                limit = min(limit, self.reported[name])
            old = self.limits.get(name)
            if old is not None and old[1].capacity == float(limit):
                fresh[name] = old
                continue
            lim: Limit
            if kind == "bucket":
                lim = TokenBucket(limit, now, window, self.skew, self.empty)
                if old is not None:  # keep what is used when a limit changes
                    lim.level = lim.capacity - old[1].used(now)
            else:
                lim = SlidingWindow(limit, window, slots=WINDOW_SLOTS[name])
                if old is not None:
                    lim.take(old[1].used(now), now)
            fresh[name] = (unit, lim)
        self.limits = fresh
        # What ``check`` walks for every candidate, flattened once per configuration: each
        # limit with where its unit sits in ``_amounts(demand)``.
        self.checked = tuple((name, _UNITS.index(unit), lim) for name, (unit, lim) in fresh.items())

    def learn(self, reported: Mapping[str, float], now: float) -> None:
        """The provider's reported limits: each minute bucket's capacity becomes
        min(configured, reported), keeping what is used."""
        if reported == self.reported:  # as last time (the common case): nothing changes
            return
        for name, value in reported.items():
            entry = self.limits.get(name)
            configured = getattr(self.key.limits, name, None)
            if entry is None or configured is None or not isinstance(entry[1], TokenBucket):
                continue
            self.reported[name] = value
            effective = min(float(configured), value)
            if entry[1].capacity != effective:
                # A shrink counts as taken (a growth as given back), so drift
                # reconciliation against a snapshot from before it stays right.
                self.taken[name] = self.taken.get(name, 0.0) + entry[1].capacity - effective
                entry[1].resize(effective, now)

    def check(self, amounts: tuple[int, int, int], now: float) -> tuple[float, str | None, float]:
        """Seconds until ``demand`` fits (and the limit, or ``cooldown``, that holds it back)
        and the use of the tightest limit after taking it (0 = idle, 1 = full) — one pass,
        each limit brought up to date once."""
        worst, which = self.cooldown_until - now, "cooldown"
        if worst < 0.0:
            worst = 0.0
        util = 0.0
        for name, unit, lim in self.checked:
            amount = amounts[unit]
            w, used = lim.probe(amount, now)
            if w > worst:
                worst, which = w, name
            after = (used + amount) / lim.capacity
            if after > util:
                util = after
        return worst, (which if worst > 0 else None), util


class MemoryKeyStore:
    """Key state in process memory; see :class:`scalegate.keys.store.KeyStore`."""

    def __init__(
        self,
        clock: Clock | None = None,
        skew: float = 0.0,
        breaker: BreakerConfig | None = None,
        *,
        start_empty: bool = False,
        origin: str = "primary",
    ) -> None:
        """``skew``: seconds of refill held back from admissions (see ``TokenBucket``).

        ``start_empty``: new minute buckets start with nothing to give and fill at their
        rate — for a fallback that takes over from shared state it cannot see.
        """
        self._clock = clock or SystemClock()
        self._empty = start_empty
        self.origin = origin
        self._skew = skew
        self._breaker = breaker or BreakerConfig()
        self._keys: dict[str, _KeyState] = {}
        self._affinity: dict[str, tuple[str, float]] = {}
        self._turn = 0

    async def register(self, key: UpstreamKey) -> None:
        now = self._clock.monotonic()
        state = self._keys.get(key.fingerprint)
        if state is None:
            breaker = CircuitBreaker(self._breaker, self._clock)
            self._keys[key.fingerprint] = _KeyState(key, now, self._skew, breaker, self._empty)
        else:
            state.configure(key, now)

    async def remove(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def _preferred(self, affinity: str | None, now: float) -> str | None:
        if affinity is None:
            return None
        found = self._affinity.get(affinity)
        if found is None or found[1] < now:
            return None
        return found[0]

    async def reserve(
        self,
        candidates: Sequence[Candidate],
        demand: Demand,
        strategy: Strategy,
        rank: int,
        affinity: str | None = None,
        *,
        complete: bool = True,
    ) -> ReserveResult:
        del rank  # one process: the local wait queue already orders by priority
        now = self._clock.monotonic()
        n = len(candidates)
        if n == 0:
            return ReserveResult(None, float("inf"), "disabled")
        preferred = self._preferred(affinity, now)
        turn = 0  # a sample comes in the order to take it (the pool keeps the turn)
        if complete:
            self._turn = turn = (self._turn + 1) % n
        elif preferred is not None and all(c.key_id != preferred for c in candidates):
            return ReserveResult(None, 0.0, "affinity", preferred=preferred)
        if not complete and strategy != "round_robin" and n > 1:
            candidates = self._by_estimate(candidates, preferred, now)
            turn = 0
            strategy = "round_robin"  # in that order, the first that can admit
        found = self._choose(candidates, turn, demand, strategy, preferred, now)
        if isinstance(found, ReserveResult):
            return found
        best_id, best = found
        best.breaker.on_acquire()
        ratios, snapshot = [], []
        util, decay = 0.0, 0.0
        for name, (unit, lim) in best.limits.items():
            amount = demand.amount(unit)
            lim.take(amount, now)
            used = lim.used(now)
            ratio = used / lim.capacity
            ratios.append((name, ratio))
            if isinstance(lim, TokenBucket):
                if ratio >= util:
                    util, decay = ratio, 1.0 / lim.period
                taken = best.taken[name] = best.taken.get(name, 0.0) + amount
                snapshot.append((name, lim.capacity - used, taken))
            elif ratio >= util:  # a window: its use is taken not to fall
                util, decay = ratio, 0.0
        best.util, best.util_at, best.decay = util, now, decay
        return ReserveResult(
            best_id, ratios=tuple(ratios), snapshot=tuple(snapshot), origin=self.origin
        )

    def _by_estimate(
        self, candidates: Sequence[Candidate], preferred: str | None, now: float
    ) -> Sequence[Candidate]:
        """A sample in the order to try it: the preferred key, then the least utilised
        relative to weight by estimate — each key's use after its last reservation, less
        the refill since. The power of two choices then checks the limits of one key, not
        every key drawn: the first that can admit is taken, and a key whose estimate was
        low but is held back (a cooldown, a window, an open breaker) only costs the check
        of the next. Exact for a minute bucket, except that a refund at settlement is not
        counted (alike for every key); a window's use is taken not to fall at all."""
        keys = self._keys
        if len(candidates) == 2 and preferred is None:  # the common draw, written out
            a, b = candidates
            sa, sb = keys.get(a.key_id), keys.get(b.key_id)
            if sa is None or sb is None:
                return candidates
            ea = sa.util - (now - sa.util_at) * sa.decay
            eb = sb.util - (now - sb.util_at) * sb.decay
            # Below zero is idle (clamped, so weights do not turn an idle key's order).
            ea = ea / a.weight if ea > 0.0 else 0.0
            eb = eb / b.weight if eb > 0.0 else 0.0
            return candidates if ea <= eb else (b, a)
        scored = []
        for cand in candidates:
            state = keys.get(cand.key_id)
            if state is None:
                est = 0.0
            else:
                est = state.util - (now - state.util_at) * state.decay
                if est < 0.0:
                    est = 0.0
            first = 0 if cand.key_id == preferred else 1
            scored.append((first, est / cand.weight, cand))
        scored.sort(key=itemgetter(0, 1))  # the candidates themselves do not compare
        return [c for _, _, c in scored]

    def _choose(
        self,
        candidates: Sequence[Candidate],
        turn: int,
        demand: Demand,
        strategy: Strategy,
        preferred: str | None,
        now: float,
    ) -> tuple[str, _KeyState] | ReserveResult:
        """The key to reserve on, or the refusal (the shortest wait, and why)."""
        n = len(candidates)
        best: tuple[str, _KeyState] | None = None
        best_score = float("-inf")
        min_wait, reason = float("inf"), "disabled"
        amounts = (demand.requests, demand.input_tokens, demand.output_tokens)  # see _UNITS
        for i in range(n):
            cand = candidates[(turn + i) % n]
            state = self._keys.get(cand.key_id)
            if state is None or state.disabled is not None:
                continue
            breaker = state.breaker  # closed (the common case) needs no call
            blocked = 0.0 if breaker.closed else breaker.available_in()
            if blocked > 0:
                wait, why, util = blocked, "breaker", 1.0
            else:
                wait, limit, util = state.check(amounts, now)
                why = limit or "cooldown"
            if wait > 0:
                if wait < min_wait:
                    min_wait, reason = wait, why
                continue
            if cand.key_id == preferred or strategy == "round_robin":
                return cand.key_id, state
            # Relative to weight: with weights 3:1 the first key carries three times the share.
            score = -util / cand.weight
            if score > best_score:
                best, best_score = (cand.key_id, state), score
        return best if best is not None else ReserveResult(None, min_wait, reason)

    async def settle(self, key_id: str, settlement: Settlement) -> SettleResult:
        state = self._keys.get(key_id)
        if state is None:
            return SettleResult()
        now = self._clock.monotonic()
        if settlement.reported:
            state.learn(settlement.reported, now)
        refund = settlement.refund
        for unit, lim in state.limits.values():
            amount = refund.amount(unit)
            if amount:
                lim.give(amount, now)
        drift = self._reconcile(state, settlement, now)
        if settlement.cooldown > 0:
            state.cooldown_until = max(state.cooldown_until, now + settlement.cooldown)
        quarantined = opened = False
        was_open = state.breaker.state is BreakerState.OPEN
        if settlement.health == "success":
            state.breaker.record(True)
            if settlement.affinity is not None:
                self._remember(settlement.affinity, key_id, now)
        elif settlement.health == "failure":
            state.breaker.record(False)
            opened = not was_open and state.breaker.state is BreakerState.OPEN
        elif settlement.health == "auth":
            quarantined = not state.quarantined
            state.quarantined = True
            state.disabled = QUARANTINE_REASON
            state.breaker.release()
        else:
            state.breaker.release()
        return SettleResult(drift, quarantined, opened)

    @staticmethod
    def _reconcile(state: _KeyState, settlement: Settlement, now: float) -> dict[str, float]:
        """Charge use the provider saw and we did not (see ``KeyPool`` for the reasoning)."""
        charged: dict[str, float] = {}
        theirs: Mapping[str, float] = settlement.observed or {}
        for name, ours, taken_then in settlement.snapshot:
            reported = theirs.get(name)
            entry = state.limits.get(name)
            if reported is None or entry is None:
                continue
            since = state.taken.get(name, 0.0) - taken_then
            drift = ours - reported - since
            if drift > DRIFT_TOLERANCE.get(name, 0.0):
                entry[1].take(drift, now)
                # A charge counts as taken: a lease snapshotted earlier, settling next with
                # the provider's report of the same use, must not charge it again.
                state.taken[name] = state.taken.get(name, 0.0) + drift
                charged[name] = drift
        return charged

    def _remember(self, affinity: str, key_id: str, now: float) -> None:
        if len(self._affinity) > 100_000:  # bound memory: drop what has expired
            self._affinity = {k: v for k, v in self._affinity.items() if v[1] > now}
        self._affinity[affinity] = (key_id, now + AFFINITY_SECONDS)

    async def set_disabled(self, key_id: str, reason: str | None) -> None:
        state = self._keys.get(key_id)
        if state is None:
            return
        state.disabled = reason
        if reason is None:
            state.quarantined = False
            state.breaker.reset()

    async def status(self, key_id: str) -> KeyStatus | None:
        state = self._keys.get(key_id)
        if state is None:
            return None
        now = self._clock.monotonic()
        limits = {
            name: LimitUsage(lim.used(now), lim.capacity, lim.full_in(now))
            for name, (_, lim) in state.limits.items()
        }
        return KeyStatus(
            limits,
            max(0.0, state.cooldown_until - now),
            state.breaker.state.name.lower(),
            state.disabled,
            state.quarantined,
        )

    async def set_waiting(self, key_ids: Sequence[str], rank: int, waiting: bool) -> None:
        del key_ids, rank, waiting  # one process: nobody else to tell

    async def close(self) -> None:
        return None
