"""The key pool: many upstream keys behind one ``acquire`` / ``settle`` pair.

``acquire`` asks the key store to pick a key that serves the model, is allowed for the
priority (critical keys serve only CRITICAL and HIGH) and can take the request's whole demand
on every limit, and to reserve it there — one atomic step (:mod:`scalegate.keys.store`). In a
pool of more than 16 eligible keys it offers a sample of them first (8 drawn by weight, plus
the key that last served the prompt-cache prefix) and all of them only when none of the
sample can admit, so admission costs the same with 20 keys or 1,000
(:mod:`scalegate.keys.sampling`).
While no key can, the request waits in priority order (:mod:`scalegate.keys.admission`) until
its deadline, then gets an honest error with a ``retry-after``: 429 when quota is what is
missing, 529 when no key is usable (ejected, disabled, quarantined) or the gateway's own
queue is full. ``settle`` gives back what the provider did not use, charges what the
provider saw and the gateway did not, cools the key down after a ``retry-after``, reports
the outcome to the outlier detection (:mod:`scalegate.keys.outliers`, which ejects a key
that fails while its peers succeed) and quarantines the key after a 401/403.

Priority across replicas (shared mode): each replica orders its own waiters strictly by
priority, then arrival. To order them across replicas, a replica that has requests of
priority *p* waiting for a key raises a flag ``<replica>:<p>`` on that key in Redis (and
lowers it when none are left); the reserve script skips a key for any request of a lower
priority while a live replica (heartbeat younger than 10 s) flags it, so a refill goes to the
CRITICAL request waiting on replica A rather than to the LOW one that asked on replica B. A
request that only finds flagged keys polls again 50 ms later. Equal priorities are not
ordered across replicas (each replica's FIFO holds locally), and a replica that dies takes
its flags with it when its heartbeat expires.

Usage::

    pool = KeyPool(keys_from_config(settings.keys))
    await pool.start()
    lease = await pool.acquire("claude-sonnet-4-6", Demand(1, 1200, 1024), Priority.NORMAL,
                               deadline=time.monotonic() + 5)
    ...  # call the provider with lease.key.secret
    await pool.settle(lease, Outcome.SUCCESS, Usage(1180, 230), response_headers)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from scalegate.clock import Clock, SystemClock
from scalegate.config import AdmissionConfig, BreakerConfig
from scalegate.errors import (
    NotFoundError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    StateBackendError,
)
from scalegate.keys.admission import Waiter, WaitQueue
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.headers import (
    LIMIT_HEADERS,
    limits_from_headers,
    remaining_from_headers,
    retry_after_seconds,
)
from scalegate.keys.lease import COOLS_DOWN, HEALTH, KeyEntry, Lease, Outcome, Usage
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import KeyClass, UpstreamKey
from scalegate.keys.outliers import KeyHealth, OutlierDetector, Verdict
from scalegate.keys.sampling import FIRST, SAMPLE, Eligible
from scalegate.keys.store import (
    AFFINITY_SECONDS,
    Candidate,
    Demand,
    KeyStatus,
    KeyStore,
    ReserveResult,
    Settlement,
)
from scalegate.priority import Priority

logger = logging.getLogger(__name__)

# A 429 without retry-after still cools the key down this long.
DEFAULT_COOLDOWN = 1.0

# Why no key could be had, when the answer is 529 (no key usable) rather than 429 (quota).
UNUSABLE = frozenset({"ejected", "breaker", "disabled"})


class KeyPool:
    """Upstream keys, their quotas, and admission in priority order."""

    def __init__(
        self,
        keys: Iterable[UpstreamKey],
        *,
        store: KeyStore | None = None,
        clock: Clock | None = None,
        admission: AdmissionConfig | None = None,
        breaker: BreakerConfig | None = None,
        alerts: AlertTracker | None = None,
        on_wait: Callable[[Priority, float, bool], None] | None = None,
        outliers: OutlierDetector | None = None,
        rng: random.Random | None = None,
        sample: int = SAMPLE,
    ) -> None:
        """``breaker`` configures the outlier detection (and, for old files, the stores'
        breaker, which the pool no longer feeds failures); ``outliers`` replaces it.
        ``sample``: keys offered per attempt in a large pool, drawn with ``rng`` (seeded in
        tests) — see :mod:`scalegate.keys.sampling`."""
        self.clock = clock or SystemClock()
        self.admission = admission or AdmissionConfig()
        self.store: KeyStore = store or MemoryKeyStore(
            self.clock, self.admission.skew_seconds, breaker
        )
        self.alerts = alerts or AlertTracker()
        self.outliers = outliers or OutlierDetector(breaker or BreakerConfig(), self.clock)
        self._entries: dict[str, KeyEntry] = {}
        self._candidates: dict[tuple[str, bool], Eligible] = {}
        self._rng = rng or random.Random()  # noqa: S311 - spreads load, not cryptography
        self._sample = sample
        # Prompt-cache prefix → (key that last served it, until when): the key the store
        # prefers is put in the sample. Hints from other replicas come back as "affinity".
        self._hints: dict[str, tuple[str, float]] = {}
        self._key_ids: frozenset[str] = frozenset()
        self._pending = list(keys)
        self._waiting: dict[tuple[str, int], int] = {}
        self.queue: WaitQueue[Lease] = WaitQueue(
            self.clock,
            self.admission.max_waiters,
            refuse=self._refusal,
            release=lambda lease: self.settle(lease, Outcome.CANCELLED),
            all_keys=lambda: self._key_ids,
        )
        self.admitted_total: dict[tuple[str, str], int] = {}
        self.drift_total = 0
        self.offered_total = 0  # candidates handed to the store, over every reserve call
        self.full_passes_total = 0  # attempts whose sample could not admit: all keys offered
        # Told each queued request's wait: (priority, seconds, admitted) — for metrics.
        self.on_wait = on_wait

    # -- lifecycle and key management -------------------------------------------------------

    async def start(self) -> None:
        for key in self._pending:
            await self.add_key(key)
        self._pending = []

    async def close(self) -> None:
        await self.queue.close()
        await self.store.close()

    async def add_key(self, key: UpstreamKey) -> None:
        """Add a key, or replace one with the same fingerprint (its usage is kept)."""
        await self.store.register(key)
        old = self._entries.get(key.fingerprint)
        entry = KeyEntry(key)
        if old is not None:
            entry.in_flight, entry.counts = old.in_flight, old.counts
        self._entries[key.fingerprint] = entry
        self.outliers.track(key.fingerprint)
        self._changed()

    async def remove_key(self, fingerprint: str, forget_state: bool = True) -> None:
        """Stop using a key; requests in flight on it finish and settle harmlessly.

        ``forget_state=False`` keeps its shared state (other replicas may still be using it
        until they apply the same change).
        """
        if self._entries.pop(fingerprint, None) is None:
            raise NotFoundError(f"no key with fingerprint {fingerprint}")
        if forget_state:
            await self.store.remove(fingerprint)
        self.alerts.forget(fingerprint)
        self.outliers.forget(fingerprint)
        self._changed()

    async def sync(self, keys: Iterable[UpstreamKey]) -> tuple[list[str], list[str]]:
        """Make the pool hold exactly ``keys``: add new ones, update changed ones, drop the rest.

        Returns the fingerprints added or changed, and those removed.
        """
        desired = {k.fingerprint: k for k in keys}
        changed = [
            fp
            for fp, k in desired.items()
            if fp not in self._entries or not _same_key(self._entries[fp].key, k)
        ]
        for fp in changed:
            await self.add_key(desired[fp])
        gone = [fp for fp in self._entries if fp not in desired]
        for fp in gone:
            await self.remove_key(fp, forget_state=False)
        return changed, gone

    async def disable(self, fingerprint: str, reason: str = "disabled by an operator") -> None:
        self.entry(fingerprint)
        await self.store.set_disabled(fingerprint, reason)
        self._changed()

    async def enable(self, fingerprint: str) -> None:
        self.entry(fingerprint)
        await self.store.set_disabled(fingerprint, None)
        self.outliers.reset(fingerprint)
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

    def _eligible(self, model: str | None, priority: Priority) -> Eligible:
        """The keys serving ``model`` that ``priority`` may use; built once per change of
        the keys (``_changed`` forgets them)."""
        slot = (model or "", priority.may_use_critical_keys)
        found = self._candidates.get(slot)
        if found is None:
            found = Eligible(
                tuple(
                    e
                    for e in self._entries.values()
                    if (model is None or e.key.serves(model))
                    and (slot[1] or e.key.key_class is KeyClass.SHARED)
                )
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
        affinity: str | None = None,
    ) -> Lease:
        """Reserve ``demand`` on the best key for ``model``, waiting until ``deadline``.

        ``model=None`` accepts any key (model listing). ``exclude`` names keys to avoid
        (those that just failed) unless no other key that is not ejected is eligible.
        ``affinity`` is a hash of the request's prompt-cache prefix: the key that last
        served it is preferred.

        Raises :class:`NotFoundError` when no key serves the model; :class:`OverloadedError`
        (529) when every such key is disabled, quarantined or ejected, also once the deadline
        passes while they are, or when the wait queue is full; :class:`RateLimitError` (429,
        with ``retry_after``) when the deadline passes while the keys are at their limits.
        """
        eligible = self._eligible(model, priority)
        if not eligible.entries:
            raise self._no_key(model, priority)
        demand = eligible.bounded(demand)
        key_ids = eligible.ids
        if exclude:
            rest = key_ids - exclude
            if any(self.outliers.wait(fp) == 0 for fp in rest):
                key_ids = rest
        started = self.clock.monotonic()
        wait, reason = 0.0, None
        if not self.queue.has_waiters_at_or_above(priority):
            lease, wait, reason = await self._try(demand, priority, eligible, key_ids, affinity)
            if lease is not None:
                return lease
            if reason == "disabled":
                self._count(priority, "rejected")
                raise OverloadedError(
                    f"every upstream key serving {model or 'this request'!r} is disabled or "
                    "quarantined",
                    retry_after=30,
                    should_retry=False,
                )
            if started + wait > deadline:
                self._count(priority, "rejected")
                if reason in UNUSABLE:
                    raise OverloadedError(
                        "every eligible upstream key is ejected for failing while others "
                        f"succeeded; retry after {wait:.1f}s",
                        retry_after=max(wait, 0.001),
                    )
                raise self._rate_limited(wait, "every eligible key is at its limit")
        return await self._wait(
            demand, priority, deadline, eligible, key_ids, affinity, wait, started, reason
        )

    async def _wait(
        self,
        demand: Demand,
        priority: Priority,
        deadline: float,
        eligible: Eligible,
        key_ids: frozenset[str],
        affinity: str | None,
        wait: float,
        started: float,
        reason: str | None,
    ) -> Lease:
        async def attempt(
            waiter: Waiter[Lease], allowed: frozenset[str]
        ) -> tuple[Lease | None, float]:
            lease, wait, why = await self._try(demand, priority, eligible, allowed, affinity, False)
            waiter.last_reason = why
            return lease, wait

        waiter = self.queue.enqueue(priority, deadline, key_ids, attempt, wait, reason)
        try:
            await self._announce(key_ids, priority, +1)
            lease = await waiter.future
        except asyncio.CancelledError:
            self.queue.discard(waiter)
            fut = waiter.future
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                await self.settle(fut.result(), Outcome.CANCELLED)
            raise
        except ProviderError:
            if self.queue.closing:
                raise
            self._count(priority, "shed")
            if self.on_wait is not None:
                self.on_wait(priority, self.clock.monotonic() - started, False)
            raise
        finally:
            await asyncio.shield(self._announce(key_ids, priority, -1))
        lease.waited = self.clock.monotonic() - started
        self._count(priority, "admitted_after_wait")
        if self.on_wait is not None:
            self.on_wait(priority, lease.waited, True)
        return lease

    async def _announce(self, key_ids: frozenset[str], priority: Priority, delta: int) -> None:
        """Tell the store (other replicas) which keys requests of this priority wait for."""
        rank = int(priority)
        changed = []
        for fp in key_ids:
            slot = (fp, rank)
            before = self._waiting.get(slot, 0)
            after = before + delta
            if after <= 0:
                self._waiting.pop(slot, None)
            else:
                self._waiting[slot] = after
            if (before == 0) != (after <= 0):
                changed.append(fp)
        if changed:
            await self.store.set_waiting(changed, rank, delta > 0)

    async def _try(
        self,
        demand: Demand,
        priority: Priority,
        eligible: Eligible,
        allowed: frozenset[str],
        affinity: str | None,
        count: bool = True,
    ) -> tuple[Lease | None, float, str | None]:
        """One attempt: a sample of the ``allowed`` keys; when none of it can admit, all of
        them — which admits on any key with room, or says honestly how long until one has
        (see :mod:`scalegate.keys.sampling`)."""
        tried: set[str] = set()
        for size in (FIRST, self._sample, 2 * self._sample):  # larger draws before all
            sample = self._sampled(eligible, allowed, affinity, size, tried)
            if sample is None:
                break
            if sample:
                lease, _, _ = await self._reserve(
                    sample, demand, priority, eligible, allowed, affinity, count, complete=False
                )
                if lease is not None:
                    return lease, 0.0, None
            tried.update(sample)
        if tried:
            self.full_passes_total += 1
        return await self._reserve(
            allowed, demand, priority, eligible, allowed, affinity, count, complete=True
        )

    def _sampled(
        self,
        eligible: Eligible,
        allowed: frozenset[str],
        affinity: str | None,
        size: int,
        tried: set[str],
    ) -> list[str] | None:
        """``size`` keys to offer (not among ``tried``), or ``None`` when the allowed keys
        are few enough to offer them all at once. Holds the key the prefix hint names, when
        allowed."""
        if len(allowed) <= size:
            return None
        whole = allowed is eligible.ids  # nothing excluded: every eligible key is allowed
        unwell, outliers = self.outliers.unwell, self.outliers
        usable: Callable[[str], bool] | None = None  # the common case: every key passes
        if not (whole and not tried and not unwell):

            def usable(fp: str) -> bool:
                return (
                    (whole or fp in allowed)
                    and fp not in tried
                    and (fp not in unwell or outliers.wait(fp) == 0)
                )

        picked = eligible.sample(self._rng, size, self.admission.selection, usable)
        if picked is None:
            return None
        hint = self._hint(affinity)
        if (
            hint is not None
            and hint not in picked
            and hint in allowed
            and (usable is None or usable(hint))
        ):
            picked.append(hint)
        return picked

    async def _reserve(
        self,
        key_ids: Iterable[str],
        demand: Demand,
        priority: Priority,
        eligible: Eligible,
        allowed: frozenset[str],
        affinity: str | None,
        count: bool,
        *,
        complete: bool,
    ) -> tuple[Lease | None, float, str | None]:
        """Ask the store to reserve on one of ``key_ids`` (those not ejected)."""
        candidates, probes, ejected = self._offer(key_ids)
        if not candidates and ejected < float("inf"):
            return None, ejected, "ejected"
        result = await self._ask(candidates, probes, demand, priority, affinity, complete)
        if result.reason == "affinity" and result.preferred is not None:
            # The prefix's key (another replica's choice) was not offered: offer it too
            # when this request may use it, else ask again without the preference.
            preferred = result.preferred
            self._remember(affinity, preferred)
            usable = preferred in allowed and self.outliers.wait(preferred) == 0
            again = [c.key_id for c in candidates] + ([preferred] if usable else [])
            candidates, probes, ejected = self._offer(again)
            result = await self._ask(
                candidates, probes, demand, priority, affinity if usable else None, complete
            )
        if result.key_id is None:
            if ejected < result.wait:
                return None, ejected, "ejected"
            return None, result.wait, result.reason
        entry = self._entries.get(result.key_id)
        if entry is None:  # removed while we reserved: give it back
            if result.key_id in probes:
                self.outliers.release(result.key_id)
            await self.store.settle(result.key_id, Settlement(demand))
            return None, 0.0, None
        if self.admission.selection == "round_robin":
            eligible.served(result.key_id)
        entry.in_flight += 1
        wall = self.clock.time()
        for limit, ratio in result.ratios:
            self.alerts.observe(result.key_id, limit, ratio, wall)
        if count:
            self._count(priority, "admitted")
        lease = Lease(
            entry.key,
            demand,
            priority,
            snapshot=result.snapshot,
            affinity=affinity,
            origin=result.origin,
            started=self.outliers.begin(result.key_id),
            probe=result.key_id in probes,
        )
        return lease, 0.0, None

    async def _ask(
        self,
        candidates: list[Candidate],
        probes: list[str],
        demand: Demand,
        priority: Priority,
        affinity: str | None,
        complete: bool,
    ) -> ReserveResult:
        """The store's reserve; gives back the probe slots of the keys not chosen."""
        self.offered_total += len(candidates)
        chosen: str | None = None
        try:
            result = await self.store.reserve(
                candidates,
                demand,
                self.admission.selection,
                int(priority),
                affinity,
                complete=complete,
            )
            chosen = result.key_id
        finally:
            for fp in probes:
                if fp != chosen:
                    self.outliers.release(fp)
        return result

    def _offer(self, key_ids: Iterable[str]) -> tuple[list[Candidate], list[str], float]:
        """The candidates to hand the store: keys not ejected, and keys on probation with a
        probe slot free (held here, so concurrent reservations cannot exceed ``probes``).
        Also returns the keys whose slot was held and the seconds until an ejected key is
        back (inf when none is ejected)."""
        candidates: list[Candidate] = []
        probes: list[str] = []
        ejected = float("inf")
        entries, unwell = self._entries, self.outliers.unwell
        for fp in key_ids:
            e = entries.get(fp)
            if e is None:
                continue
            if fp not in unwell:  # serving: nothing to ask the outlier detector
                candidates.append(e.candidate)
                continue
            blocked = self.outliers.wait(fp)
            if blocked > 0:
                ejected = min(ejected, blocked)
                continue
            if self.outliers.hold(fp):
                probes.append(fp)
            candidates.append(e.candidate)
        return candidates, probes, ejected

    def _hint(self, affinity: str | None) -> str | None:
        if affinity is None:
            return None
        found = self._hints.get(affinity)
        if found is None or found[1] < self.clock.monotonic():
            return None
        return found[0]

    def _remember(self, affinity: str | None, fp: str) -> None:
        """Hint that ``fp`` holds the prefix; the oldest hint goes past 100,000 (a hint
        that is gone costs one more store call, never a wrong choice: the store decides)."""
        if affinity is None:
            return
        self._hints.pop(affinity, None)
        if len(self._hints) >= 100_000:
            del self._hints[next(iter(self._hints))]
        self._hints[affinity] = (fp, self.clock.monotonic() + AFFINITY_SECONDS)

    def has_alternative(
        self, model: str | None, priority: Priority, exclude: frozenset[str]
    ) -> bool:
        """Whether a key other than ``exclude`` could serve this request now (ignoring
        quota; ejected keys cannot)."""
        return any(
            fp not in exclude and self.outliers.wait(fp) == 0
            for e in self._eligible(model, priority).entries
            if (fp := e.key.fingerprint)
        )

    def _no_key(self, model: str | None, priority: Priority) -> Exception:
        model = model or "*"
        serving = [e for e in self._entries.values() if e.key.serves(model)]
        if not serving:
            return NotFoundError(f"model: no configured upstream key serves {model!r}")
        return RateLimitError(
            f"every key serving {model!r} is reserved for critical traffic; "
            f"{priority.label} requests cannot use them",
            retry_after=60,
            should_retry=False,
        )

    def _rate_limited(self, wait: float, why: str) -> RateLimitError:
        return RateLimitError(
            f"{why}; retry after {wait:.1f}s", retry_after=max(wait, 0.001), should_retry=True
        )

    def _refusal(self, waiter: Waiter[Lease], reason: str) -> BaseException:
        """The error for a waiter the queue gives up on: 429 only when the keys' quota is
        what was missing; 529 when no key was usable or the gateway's own queue is full."""
        if reason == "shutdown":
            return OverloadedError("the gateway is shutting down", retry_after=1)
        wait = self._estimate_wait(waiter)
        if reason == "deadline" and waiter.last_reason in UNUSABLE:
            # Read now, not at the last attempt: the time until an ejected key is back.
            back = [w for fp in waiter.key_ids if (w := self.outliers.wait(fp)) > 0]
            wait = min(back, default=wait)
            why = (
                "no upstream key was usable before the admission deadline (keys ejected for "
                f"failing, disabled or quarantined); retry after {wait:.1f}s"
            )
            return OverloadedError(why, retry_after=wait)
        if reason in ("shed", "queue_full"):
            why = {
                "shed": "shed to make room for higher-priority traffic: the admission queue "
                "is full",
                "queue_full": "the admission queue is full",
            }[reason]
            return OverloadedError(f"{why}; retry after {wait:.1f}s", retry_after=wait)
        why = "no upstream key had capacity before the admission deadline"
        return self._rate_limited(wait, why)

    def _estimate_wait(self, waiter: Waiter[Lease]) -> float:
        """Own wait, or the time for the keys' refill to cover everyone queued ahead."""
        rate = 0.0
        for fp in waiter.key_ids:
            entry = self._entries.get(fp)
            if entry is not None and entry.key.limits.rpm:
                rate += entry.key.limits.rpm / 60.0
        queued = sum(1 for w in self.queue.ahead_of(waiter) if w.key_ids & waiter.key_ids)
        queue_wait = queued / rate if rate else 0.0
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
        """Account for how the call went; idempotent (a lease settles once).

        The provider's ``anthropic-ratelimit-*-remaining`` headers are computed right after
        it deducted this request — the same moment as ``lease.snapshot`` here — so the store
        can tell use it did not see (another client on the key) from rounding and from
        requests that merely overtook this one (see ``KeyStore.settle``).
        """
        if lease.settled:
            return
        lease.settled = True
        fp = lease.key.fingerprint
        verdict = self.outliers.settle(fp, lease.started, lease.probe, outcome)
        if verdict is not None:
            self._log_verdict(verdict)
        cooldown = 0.0
        if outcome in COOLS_DOWN:
            delay = retry_after_seconds(headers or {}, self.clock.time())
            if delay is None and outcome is Outcome.RATE_LIMITED:
                delay = DEFAULT_COOLDOWN
            cooldown = delay or 0.0
        settlement = Settlement(
            refund=self._refund(lease.demand, outcome, usage),
            health=HEALTH.get(outcome, "neutral"),  # type: ignore[arg-type]  # HEALTH's values are the Health literal's members
            cooldown=cooldown,
            snapshot=lease.snapshot,
            observed=remaining_from_headers(headers) if headers else None,
            reported=_share_of_reported(headers, lease.key.share) if headers else None,
            affinity=lease.affinity if outcome is Outcome.SUCCESS else None,
            origin=lease.origin,
        )
        if settlement.affinity is not None:
            self._remember(settlement.affinity, fp)
        result = await self.store.settle(fp, settlement)
        if result.drift:
            self.drift_total += 1
            logger.info(
                "key %s: the provider reports less left than expected; charged %s",
                fp,
                {k: round(v) for k, v in result.drift.items()},
                extra={"event": "key_drift", "key": fp},
            )
        if result.quarantined:
            logger.error(
                "key %s quarantined: the provider rejected it; re-enable it once fixed",
                fp,
                extra={"event": "key_quarantined", "key": fp},
            )
        entry = self._entries.get(fp)
        if entry is not None:
            entry.in_flight -= 1
            entry.count(outcome.value)
        self.queue.wake()

    @staticmethod
    def _log_verdict(verdict: Verdict) -> None:
        fp = verdict.key
        if verdict.ejected:
            logger.warning(
                "key %s ejected for %.0fs: %s",
                fp,
                verdict.seconds,
                verdict.why,
                extra={"event": "key_ejected", "key": fp},
            )
        else:
            logger.info(
                "key %s back in service: %s",
                fp,
                verdict.why,
                extra={"event": "key_returned", "key": fp},
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

    # -- state for health, admin and metrics ------------------------------------------------

    async def status(self) -> list[dict[str, object]]:
        """Every key's state, by fingerprint only (secrets never leave the pool)."""
        out: list[dict[str, object]] = []
        for entry in list(self._entries.values()):  # keys may come and go meanwhile
            state = await self.store.status(entry.key.fingerprint)
            if state is None:
                continue
            fp = entry.key.fingerprint
            health = self.outliers.health(fp)
            tally = self.outliers.tally(fp)
            out.append(
                {
                    "key": fp,
                    "name": entry.key.name,
                    "class": entry.key.key_class.value,
                    "models": list(entry.key.models),
                    "weight": entry.key.weight,
                    "status": _status_word(state, health),
                    "disabled_reason": state.disabled,
                    # The former breaker's words: ejected is "open", probation "half_open".
                    "breaker": _breaker_word(state, health),
                    "ejection": {
                        "state": health.name.lower(),
                        "seconds_left": round(self.outliers.ejected_for(fp), 3),
                        "ejections": self.outliers.ejections_total().get(fp, 0),
                        "window": {
                            "successes": tally.successes,
                            "failures": tally.failures,
                            "overloaded": tally.overloaded,
                        },
                    },
                    "cooldown_seconds": round(state.cooldown, 3),
                    "in_flight": entry.in_flight,
                    "limits": {
                        name: {
                            "limit": u.capacity,
                            "used": round(u.used, 2),
                            "ratio": round(u.ratio, 4),
                            "alert": self.alerts.level(fp, name),
                        }
                        for name, u in state.limits.items()
                    },
                    "outcomes": dict(entry.counts),
                }
            )
        return out

    async def free_capacity(self) -> int | None:
        """Requests the usable keys could admit now (their RPM buckets' contents), minus
        the requests already waiting for a key; ``None`` when some usable key has no RPM
        limit (unbounded) or the state cannot be read. For the worker autoscaler."""
        free = 0.0
        try:
            for fp in list(self._entries):
                state = await self.store.status(fp)
                if state is None or not state.usable or self.outliers.wait(fp) > 0:
                    continue
                rpm = state.limits.get("rpm")
                if rpm is None:
                    return None
                free += rpm.capacity - rpm.used
        except StateBackendError:
            return None
        return max(0, int(free) - len(self.queue))

    def _ejected(self, fp: str) -> bool:
        return self.outliers.health(fp) is KeyHealth.EJECTED

    async def usable_count(self) -> int:
        count = 0
        for fp in list(self._entries):
            state = await self.store.status(fp)
            if state is not None and state.usable and not self._ejected(fp):
                count += 1
        return count


def _same_key(a: UpstreamKey, b: UpstreamKey) -> bool:
    return (a.secret, a.key_class, a.weight, a.models, a.limits, a.name) == (
        b.secret,
        b.key_class,
        b.weight,
        b.models,
        b.limits,
        b.name,
    )


def _status_word(state: KeyStatus, health: KeyHealth) -> str:
    if state.quarantined:
        return "quarantined"
    if state.disabled is not None:
        return "disabled"
    if health is KeyHealth.EJECTED:
        return "ejected"
    if health is KeyHealth.PROBATION:
        return "probation"
    if state.breaker != "closed":  # "unknown": the store cannot be read
        return "breaker_" + state.breaker
    return "ok"


def _breaker_word(state: KeyStatus, health: KeyHealth) -> str:
    return health.breaker_word if health is not KeyHealth.SERVING else state.breaker


def _share_of_reported(headers: Mapping[str, str], share: int) -> Mapping[str, float] | None:
    """The limits the provider reported for the key's organisation, divided among the keys
    of its group (learned limits: a bucket's capacity becomes min(configured, this)).
    Read-only: the same few header values come back on every answer, so they are parsed
    once (:func:`_share_of`)."""
    return _share_of(tuple(headers.get(name) for name in LIMIT_HEADERS), share)


@functools.lru_cache(maxsize=256)
def _share_of(values: tuple[str | None, ...], share: int) -> Mapping[str, float] | None:
    given = {name: v for name, v in zip(LIMIT_HEADERS, values, strict=True) if v is not None}
    reported = limits_from_headers(given)
    if not reported:
        return None
    return MappingProxyType({name: max(1.0, value // share) for name, value in reported.items()})
