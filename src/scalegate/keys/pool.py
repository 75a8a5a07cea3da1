"""The key pool: many upstream keys behind one ``acquire`` / ``settle`` pair.

``acquire`` finds a key that serves the model, is allowed for the priority (critical keys
serve only CRITICAL and HIGH), is enabled, not cooling down after a ``retry-after`` and not
cut off by its breaker, and reserves the request's demand on every limit of that key at once.
While no key can, the request waits in priority order (:mod:`scalegate.keys.admission`) until
its deadline, then gets a 429 with an honest ``retry-after``. ``settle`` gives back what the
provider did not use, learns from its rate-limit headers, and feeds the breaker.

Usage::

    pool = KeyPool(keys_from_config(settings.keys))
    await pool.start()
    lease = await pool.acquire("claude-sonnet-4-5", Demand(1, 1200, 1024), Priority.NORMAL,
                               deadline=time.monotonic() + 5)
    ...  # call the provider with lease.key.secret
    await pool.settle(lease, Outcome.SUCCESS, Usage(1180, 230), response_headers)
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scalegate.clock import Clock, SystemClock
from scalegate.config import AdmissionConfig, BreakerConfig
from scalegate.errors import NotFoundError, OverloadedError, RateLimitError, UnadmittableError
from scalegate.keys.admission import Waiter, WaitQueue
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.breaker import BreakerState, CircuitBreaker
from scalegate.keys.headers import remaining_from_headers, retry_after_seconds
from scalegate.keys.model import KeyClass, UpstreamKey
from scalegate.keys.quota import LIMITS, Candidate, Demand, MemoryQuotaStore, QuotaStore
from scalegate.priority import Priority

logger = logging.getLogger(__name__)

# Differences between the provider's "remaining" and ours that are rounding, not drift.
_DRIFT_TOLERANCE = {"rpm": 1.0, "itpm": 1000.0, "otpm": 1000.0}

# A 429 without retry-after still cools the key down this long.
DEFAULT_COOLDOWN = 1.0


class Outcome(enum.Enum):
    """How a call on a leased key ended, as far as the key's health is concerned."""

    SUCCESS = "success"
    RATE_LIMITED = "rate_limited"  # 429 from the provider
    OVERLOADED = "overloaded"  # 529, or an overloaded_error event
    SERVER_ERROR = "server_error"  # 500, 502, 503, 504
    CONNECTION_ERROR = "connection_error"  # refused, reset, timed out
    AUTH_FAILED = "auth_failed"  # 401 / 403: the key is quarantined
    CLIENT_ERROR = "client_error"  # other 4xx: the request's fault, not the key's
    CANCELLED = "cancelled"  # the client went away


_COOLS_DOWN = {Outcome.RATE_LIMITED, Outcome.OVERLOADED, Outcome.SERVER_ERROR}
_BREAKER_FAILURES = {Outcome.OVERLOADED, Outcome.SERVER_ERROR, Outcome.CONNECTION_ERROR}


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the provider counted against the key's limits (cache reads excluded)."""

    input_tokens: int
    output_tokens: int


@dataclass(eq=False, slots=True)
class Lease:
    key: UpstreamKey
    demand: Demand
    priority: Priority
    waited: float = 0.0
    settled: bool = False
    # What the key's minute buckets held right after this reservation; compared with the
    # provider's "remaining" for the same moment to find use the gateway did not see.
    snapshot: tuple[tuple[str, float, float], ...] = ()
    observed: bool = False


@dataclass(slots=True)
class KeyEntry:
    """A key with its in-process companions: breaker, operator state and counters."""

    key: UpstreamKey
    breaker: CircuitBreaker
    disabled: str | None = None  # reason, when disabled by an operator or quarantined
    quarantined: bool = False
    in_flight: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


class KeyPool:
    """Upstream keys, their quotas, and admission in priority order."""

    def __init__(
        self,
        keys: Iterable[UpstreamKey],
        *,
        store: QuotaStore | None = None,
        clock: Clock | None = None,
        admission: AdmissionConfig | None = None,
        breaker: BreakerConfig | None = None,
        alerts: AlertTracker | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.admission = admission or AdmissionConfig()
        self.store: QuotaStore = store or MemoryQuotaStore(self.clock, self.admission.skew_seconds)
        self.breaker_config = breaker or BreakerConfig()
        self.alerts = alerts or AlertTracker()
        self._entries: dict[str, KeyEntry] = {}
        self._candidates: dict[tuple[str, bool], tuple[KeyEntry, ...]] = {}
        self._key_ids: frozenset[str] = frozenset()
        self._pending = list(keys)
        self.queue: WaitQueue[Lease] = WaitQueue(
            self.clock,
            self.admission.max_waiters,
            refuse=self._refusal,
            release=lambda lease: self.settle(lease, Outcome.CANCELLED),
            all_keys=lambda: self._key_ids,
        )
        self.admitted_total: dict[tuple[str, str], int] = {}
        self.drift_total = 0

    # -- lifecycle and key management -------------------------------------------------------

    async def start(self) -> None:
        for key in self._pending:
            await self.add_key(key)
        self._pending = []

    async def close(self) -> None:
        await self.queue.close()

    async def add_key(self, key: UpstreamKey) -> None:
        """Add a key, or replace one with the same fingerprint (its usage is kept)."""
        await self.store.register(key)
        old = self._entries.get(key.fingerprint)
        breaker = old.breaker if old else CircuitBreaker(self.breaker_config, self.clock)
        entry = KeyEntry(key, breaker)
        if old is not None:
            entry.disabled, entry.quarantined = old.disabled, old.quarantined
            entry.in_flight, entry.counts = old.in_flight, old.counts
        self._entries[key.fingerprint] = entry
        self._changed()

    async def remove_key(self, fingerprint: str) -> None:
        if self._entries.pop(fingerprint, None) is None:
            raise NotFoundError(f"no key with fingerprint {fingerprint}")
        await self.store.remove(fingerprint)
        self.alerts.forget(fingerprint)
        self._changed()

    def disable(self, fingerprint: str, reason: str = "disabled by an operator") -> None:
        self.entry(fingerprint).disabled = reason
        self._changed()

    def enable(self, fingerprint: str) -> None:
        entry = self.entry(fingerprint)
        entry.disabled, entry.quarantined = None, False
        entry.breaker.reset()
        self._changed()

    def entry(self, fingerprint: str) -> KeyEntry:
        try:
            return self._entries[fingerprint]
        except KeyError:
            raise NotFoundError(f"no key with fingerprint {fingerprint}") from None

    @property
    def entries(self) -> list[KeyEntry]:
        return list(self._entries.values())

    def _changed(self) -> None:
        self._candidates.clear()
        self._key_ids = frozenset(self._entries)
        self.queue.wake()

    def _eligible(self, model: str | None, priority: Priority) -> tuple[KeyEntry, ...]:
        slot = (model or "", priority.may_use_critical_keys)
        found = self._candidates.get(slot)
        if found is None:
            found = tuple(
                e
                for e in self._entries.values()
                if (model is None or e.key.serves(model))
                and (slot[1] or e.key.key_class is KeyClass.SHARED)
                and e.disabled is None
            )
            self._candidates[slot] = found
        return found

    # -- acquire ----------------------------------------------------------------------------

    async def acquire(
        self,
        model: str | None,
        demand: Demand,
        priority: Priority,
        deadline: float,
        exclude: frozenset[str] = frozenset(),
    ) -> Lease:
        """Reserve ``demand`` on the best key for ``model``, waiting until ``deadline``.

        ``model=None`` accepts any key (model listing). ``exclude`` names keys to avoid
        (those that just failed) unless no other key is eligible.

        Raises :class:`NotFoundError` when no key serves the model, :class:`OverloadedError`
        when every such key is disabled, :class:`UnadmittableError` when the demand exceeds
        every key's capacity, :class:`RateLimitError` (with ``retry_after``) when the
        deadline passes or the request is shed.
        """
        entries = self._eligible(model, priority)
        if not entries:
            raise self._no_key(model, priority)
        self._check_admittable(entries, demand)
        key_ids = frozenset(e.key.fingerprint for e in entries)
        if exclude and key_ids - exclude:
            key_ids -= exclude
        started = self.clock.monotonic()
        wait = 0.0
        if not self.queue.has_waiters_at_or_above(priority):
            lease, wait = await self._try(demand, priority, key_ids)
            if lease is not None:
                return lease
            if started + wait > deadline:
                self._count(priority, "rejected")
                if self._all_broken(key_ids):
                    raise OverloadedError(
                        "the provider is failing on every eligible key (circuit breakers open)",
                        retry_after=wait,
                    )
                raise self._rate_limited(wait, "every eligible key is at its limit")
        waiter = self.queue.enqueue(
            priority, deadline, key_ids, self._attempt_for(demand, priority), wait
        )
        try:
            lease = await waiter.future
        except asyncio.CancelledError:
            self.queue.discard(waiter)
            fut = waiter.future
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                await self.settle(fut.result(), Outcome.CANCELLED)
            raise
        except RateLimitError:
            self._count(priority, "shed")
            raise
        lease.waited = self.clock.monotonic() - started
        self._count(priority, "admitted_after_wait")
        return lease

    def _attempt_for(self, demand: Demand, priority: Priority):  # type: ignore[no-untyped-def]
        async def attempt(_: Waiter[Lease], allowed: frozenset[str]) -> tuple[Lease | None, float]:
            return await self._try(demand, priority, allowed, count=False)

        return attempt

    async def _try(
        self, demand: Demand, priority: Priority, key_ids: frozenset[str], count: bool = True
    ) -> tuple[Lease | None, float]:
        candidates = []
        breaker_wait = float("inf")
        for fp in key_ids:
            entry = self._entries.get(fp)
            if entry is None or entry.disabled is not None:
                continue
            blocked_for = entry.breaker.available_in()
            if blocked_for > 0:
                breaker_wait = min(breaker_wait, blocked_for)
                continue
            candidates.append(Candidate(fp, entry.key.weight))
        if not candidates:
            return None, breaker_wait
        result = await self.store.reserve(candidates, demand, self.admission.selection)
        if result.key_id is None:
            return None, min(result.wait, breaker_wait)
        entry = self._entries.get(result.key_id)
        if entry is None:  # removed while we reserved
            await self.store.adjust(result.key_id, demand)
            return None, 0.0
        entry.breaker.on_acquire()
        entry.in_flight += 1
        wall = self.clock.time()
        for limit, ratio in result.ratios:
            self.alerts.observe(result.key_id, limit, ratio, wall)
        if count:
            self._count(priority, "admitted")
        return Lease(entry.key, demand, priority, snapshot=result.snapshot), 0.0

    def _all_broken(self, key_ids: frozenset[str]) -> bool:
        return all((e := self._entries.get(fp)) is None or not e.breaker.allows() for fp in key_ids)

    def _check_admittable(self, entries: tuple[KeyEntry, ...], demand: Demand) -> None:
        worst = None
        for entry in entries:
            too_big = [
                (name, getattr(entry.key.limits, name), demand.amount(unit))
                for name, (unit, _, _) in LIMITS.items()
                if getattr(entry.key.limits, name) is not None
                and demand.amount(unit) > getattr(entry.key.limits, name)
            ]
            if not too_big:
                return
            worst = too_big[0]
        assert worst is not None
        name, limit, amount = worst
        raise UnadmittableError(
            f"this request needs {amount} against a limit of {limit} ({name}) on every key that "
            "serves its model; no key can ever admit it (lower max_tokens or shorten the prompt)"
        )

    def has_alternative(
        self, model: str | None, priority: Priority, exclude: frozenset[str]
    ) -> bool:
        """Whether a key other than ``exclude`` could serve this request (ignoring quota)."""
        return any(
            e.key.fingerprint not in exclude and e.breaker.allows()
            for e in self._eligible(model, priority)
        )

    def _no_key(self, model: str | None, priority: Priority) -> Exception:
        model = model or "*"
        serving = [e for e in self._entries.values() if e.key.serves(model)]
        if not serving:
            return NotFoundError(f"model: no configured upstream key serves {model!r}")
        if all(e.key.key_class is KeyClass.CRITICAL for e in serving):
            return RateLimitError(
                f"every key serving {model!r} is reserved for critical traffic; "
                f"{priority.label} requests cannot use them",
                retry_after=60,
                should_retry=False,
            )
        return OverloadedError(
            f"every upstream key serving {model!r} is disabled or quarantined",
            retry_after=30,
            should_retry=False,
        )

    def _rate_limited(self, wait: float, why: str) -> RateLimitError:
        return RateLimitError(
            f"{why}; retry after {wait:.1f}s", retry_after=max(wait, 0.001), should_retry=True
        )

    def _refusal(self, waiter: Waiter[Lease], reason: str) -> BaseException:
        wait = self._estimate_wait(waiter)
        why = {
            "deadline": "no upstream key had capacity before the admission deadline",
            "shed": "shed to make room for higher-priority traffic",
            "queue_full": "the admission queue is full",
            "shutdown": "the gateway is shutting down",
        }[reason]
        if reason == "shutdown":
            return OverloadedError(why, retry_after=1)
        return self._rate_limited(wait, why)

    def _estimate_wait(self, waiter: Waiter[Lease]) -> float:
        """Own wait, or the time for the keys' refill to cover everyone queued ahead."""
        ahead = self.queue.ahead_of(waiter)
        rates = {"requests": 0.0}
        for fp in waiter.key_ids:
            entry = self._entries.get(fp)
            if entry is not None and entry.key.limits.rpm:
                rates["requests"] += entry.key.limits.rpm / 60.0
        queued = sum(1 for w in ahead if w.key_ids & waiter.key_ids)
        queue_wait = queued / rates["requests"] if rates["requests"] else 0.0
        return max(waiter.last_wait, queue_wait, 0.001)

    def _count(self, priority: Priority, outcome: str) -> None:
        slot = (priority.label, outcome)
        self.admitted_total[slot] = self.admitted_total.get(slot, 0) + 1

    # -- settle -----------------------------------------------------------------------------

    async def settle(
        self,
        lease: Lease,
        outcome: Outcome,
        usage: Usage | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Account for how the call went; idempotent (a lease settles once)."""
        if lease.settled:
            return
        lease.settled = True
        fp = lease.key.fingerprint
        refund = self._refund(lease.demand, outcome, usage)
        if refund.input_tokens or refund.output_tokens:
            await self.store.adjust(fp, refund)
        if headers:
            await self.observe(lease, headers)
        if outcome in _COOLS_DOWN:
            delay = retry_after_seconds(headers or {}, self.clock.time())
            if delay is None and outcome is Outcome.RATE_LIMITED:
                delay = DEFAULT_COOLDOWN
            if delay:
                await self.store.cooldown(fp, delay)
        entry = self._entries.get(fp)
        if entry is not None:
            self._record(entry, outcome)
        self.queue.wake()

    async def observe(self, lease: Lease, headers: Mapping[str, str]) -> None:
        """Learn from the provider's ``anthropic-ratelimit-*-remaining`` headers (once a lease).

        The provider computes them right after it deducted this request, the same moment as
        ``lease.snapshot`` locally, so refunds and refills since do not distort the
        comparison. When the provider holds less than the gateway thought (another client
        uses the key, or estimates ran low), the difference is charged to the key, and the
        pool steers off it before the provider says 429. The provider floors token counts to
        the thousand; differences within that are not drift.
        """
        if lease.observed:
            return
        lease.observed = True
        remaining = remaining_from_headers(headers)
        if not remaining or not lease.snapshot:
            return
        charged = await self.store.reconcile(
            lease.key.fingerprint, lease.snapshot, remaining, _DRIFT_TOLERANCE
        )
        if charged:
            self.drift_total += 1
            logger.info(
                "key %s: the provider reports less left than expected; charged %s",
                lease.key.fingerprint,
                {k: round(v) for k, v in charged.items()},
                extra={"event": "key_drift", "key": lease.key.fingerprint},
            )

    @staticmethod
    def _refund(reserved: Demand, outcome: Outcome, usage: Usage | None) -> Demand:
        if usage is not None:
            return Demand(
                0,
                reserved.input_tokens - usage.input_tokens,
                reserved.output_tokens - usage.output_tokens,
            )
        if outcome is Outcome.CANCELLED:
            # The provider saw the prompt but stops generating when the stream is dropped.
            return Demand(0, 0, reserved.output_tokens)
        # Errors consume no tokens; the request itself stays counted (conservative).
        return Demand(0, reserved.input_tokens, reserved.output_tokens)

    def _record(self, entry: KeyEntry, outcome: Outcome) -> None:
        entry.in_flight -= 1
        entry.count(outcome.value)
        if outcome is Outcome.SUCCESS:
            entry.breaker.record(True)
        elif outcome in _BREAKER_FAILURES:
            entry.breaker.record(False)
        elif outcome is Outcome.AUTH_FAILED:
            self._quarantine(entry)
        else:
            entry.breaker.release()

    def _quarantine(self, entry: KeyEntry) -> None:
        if entry.quarantined:
            return
        entry.quarantined = True
        entry.disabled = "quarantined: the provider rejected the key (401/403)"
        logger.error(
            "key %s quarantined: the provider rejected it; re-enable it once fixed",
            entry.key.fingerprint,
            extra={"event": "key_quarantined", "key": entry.key.fingerprint},
        )
        self._changed()

    # -- state for health, admin and metrics ------------------------------------------------

    async def status(self) -> list[dict[str, object]]:
        """Every key's state, by fingerprint only (secrets never leave the pool)."""
        out: list[dict[str, object]] = []
        for entry in self._entries.values():
            usage = await self.store.usage(entry.key.fingerprint)
            state = entry.breaker.state
            out.append(
                {
                    "key": entry.key.fingerprint,
                    "name": entry.key.name,
                    "class": entry.key.key_class.value,
                    "models": list(entry.key.models),
                    "weight": entry.key.weight,
                    "status": self._status_word(entry, state),
                    "disabled_reason": entry.disabled,
                    "breaker": state.name.lower(),
                    "cooldown_seconds": round(
                        await self.store.cooldown_left(entry.key.fingerprint), 3
                    ),
                    "in_flight": entry.in_flight,
                    "limits": {
                        name: {
                            "limit": u.capacity,
                            "used": round(u.used, 2),
                            "ratio": round(u.ratio, 4),
                            "alert": self.alerts.level(entry.key.fingerprint, name),
                        }
                        for name, u in usage.items()
                    },
                    "outcomes": dict(entry.counts),
                }
            )
        return out

    @staticmethod
    def _status_word(entry: KeyEntry, state: BreakerState) -> str:
        if entry.quarantined:
            return "quarantined"
        if entry.disabled is not None:
            return "disabled"
        if state is not BreakerState.CLOSED:
            return "breaker_" + state.name.lower()
        return "ok"

    def usable_count(self) -> int:
        return sum(
            1
            for e in self._entries.values()
            if e.disabled is None and e.breaker.state is not BreakerState.OPEN
        )
