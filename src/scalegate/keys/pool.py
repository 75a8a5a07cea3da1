"""The key pool: many upstream keys behind one ``acquire`` / ``settle`` pair.

``acquire`` asks the key store to pick a key that serves the model, is allowed for the
priority (critical keys serve only CRITICAL and HIGH) and can take the request's whole demand
on every limit, and to reserve it there — one atomic step (:mod:`scalegate.keys.store`). It
offers a sample of the eligible keys first (two drawn by weight, plus the key that last
served the prompt-cache prefix; then 8, then 16) and all of them only when no sample can
admit, so admission costs about the same with 2 keys or 1,000 (:mod:`scalegate.keys.sampling`;
the attempt itself is :mod:`scalegate.keys.reserve`). While no key can, the request waits in
priority order (:mod:`scalegate.keys.admission`) until its deadline, then gets an honest
error with a ``retry-after`` (:mod:`scalegate.keys.refusals`): 429 when quota is what is
missing, 529 when no key is usable (ejected, disabled, quarantined) or the gateway's own
queue is full. ``settle`` gives back what the provider did not use, charges what the
provider saw and the gateway did not, cools the key down after a ``retry-after`` (what a
settlement says is :mod:`scalegate.keys.settlement`), reports
the outcome to the outlier detection (:mod:`scalegate.keys.outliers`, which ejects a key
that fails while its peers succeed) and quarantines the key after a 401/403. What health,
the admin API and metrics read is :mod:`scalegate.keys.report`.

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
import logging
import random
from collections.abc import Callable, Iterable, Mapping

from scalegate.clock import Clock, SystemClock
from scalegate.config import AdmissionConfig, BreakerConfig
from scalegate.errors import NotFoundError, ProviderError
from scalegate.keys import refusals, report, settlement
from scalegate.keys.admission import Waiter, WaitQueue
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.lease import KeyEntry, Lease, Outcome, Usage
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import KeyClass, UpstreamKey
from scalegate.keys.outliers import OutlierDetector
from scalegate.keys.reserve import Reserver
from scalegate.keys.sampling import SAMPLE, Eligible
from scalegate.keys.store import Demand, KeyStore
from scalegate.priority import Priority

logger = logging.getLogger(__name__)


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
        self.reserver = Reserver(
            self._entries,
            self.store,
            self.outliers,
            self.alerts,
            self.admission,
            self.clock,
            rng or random.Random(),  # noqa: S311 - spreads load, not cryptography
            sample,
        )
        self._key_ids: frozenset[str] = frozenset()
        self._pending = list(keys)
        self._waiting: dict[tuple[str, int], int] = {}
        self.queue: WaitQueue[Lease] = WaitQueue(
            self.clock,
            self.admission.max_waiters,
            refuse=lambda waiter, reason: refusals.refusal(
                waiter, reason, self._entries, self.outliers, self.queue.ahead_of(waiter)
            ),
            release=lambda lease: self.settle(lease, Outcome.CANCELLED),
            all_keys=lambda: self._key_ids,
        )
        self.admitted_total: dict[tuple[str, str], int] = {}
        self.drift_total = 0
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
            raise refusals.no_key(self._entries.values(), model, priority)
        demand = eligible.bounded(demand)
        key_ids = eligible.ids
        if exclude:
            rest = key_ids - exclude
            if any(self.outliers.wait(fp) == 0 for fp in rest):
                key_ids = rest
        started = self.clock.monotonic()
        wait, reason = 0.0, None
        if not self.queue.has_waiters_at_or_above(priority):
            lease, wait, reason = await self.reserver.attempt(
                demand, priority, eligible, key_ids, affinity
            )
            if lease is not None:
                self._count(priority, "admitted")
                return lease
            if reason == "disabled":
                self._count(priority, "rejected")
                raise refusals.all_disabled(model)
            if started + wait > deadline:
                self._count(priority, "rejected")
                if reason in refusals.UNUSABLE:
                    raise refusals.unusable(wait)
                raise refusals.rate_limited(wait, "every eligible key is at its limit")
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
            lease, wait, why = await self.reserver.attempt(
                demand, priority, eligible, allowed, affinity
            )
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

    @property
    def offered_total(self) -> int:
        """Candidates handed to the store, over every reserve call."""
        return self.reserver.offered_total

    @property
    def full_passes_total(self) -> int:
        """Attempts whose sample could not admit, so that all keys were offered."""
        return self.reserver.full_passes_total

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
            settlement.log_verdict(verdict)
        settled = settlement.settlement_for(lease, outcome, usage, headers, self.clock.time())
        if settled.affinity is not None:
            self.reserver.remember(settled.affinity, fp)
        result = await self.store.settle(fp, settled)
        if result.drift:
            self.drift_total += 1
        settlement.log_result(fp, result)
        entry = self._entries.get(fp)
        if entry is not None:
            entry.in_flight -= 1
            entry.count(outcome.value)
        self.queue.wake()

    # -- state for health, admin and metrics ------------------------------------------------

    async def status(self) -> list[dict[str, object]]:
        """Every key's state, by fingerprint only (:func:`scalegate.keys.report.key_status`)."""
        return await report.key_status(self._entries, self.store, self.outliers, self.alerts)

    async def free_capacity(self) -> int | None:
        """Requests the usable keys could admit now, less those waiting; ``None`` when
        unbounded or unknown (:func:`scalegate.keys.report.free_capacity`)."""
        return await report.free_capacity(self._entries, self.store, self.outliers, len(self.queue))

    async def usable_count(self) -> int:
        return await report.usable_count(self._entries, self.store, self.outliers)


def _same_key(a: UpstreamKey, b: UpstreamKey) -> bool:
    return (a.secret, a.key_class, a.weight, a.models, a.limits, a.name) == (
        b.secret,
        b.key_class,
        b.weight,
        b.models,
        b.limits,
        b.name,
    )
