"""One admission attempt: offer the key store a few keys, then all of them, and turn what it
reserved into a :class:`~scalegate.keys.lease.Lease`.

The pool (:mod:`scalegate.keys.pool`) decides *when* to attempt — at once, or from the wait
queue — and what to answer when no key can be had; a :class:`Reserver` makes the attempt:
it draws the sample (:mod:`scalegate.keys.sampling`), leaves out keys the outlier detection
ejected, holds a probe slot for a key on probation, keeps the prompt-cache prefix hints
(which key last served a prefix, so it joins the sample), and asks the store to reserve.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping

from scalegate.clock import Clock
from scalegate.config import AdmissionConfig
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.lease import KeyEntry, Lease
from scalegate.keys.outliers import OutlierDetector
from scalegate.keys.sampling import FIRST, Eligible
from scalegate.keys.store import (
    AFFINITY_SECONDS,
    Candidate,
    Demand,
    KeyStore,
    ReserveResult,
    Settlement,
)
from scalegate.priority import Priority

# An attempt's answer: the lease, or the seconds until a key may have room and why not.
Attempt = tuple[Lease | None, float, str | None]

# Prompt-cache prefix hints kept at most (the oldest goes first).
MAX_HINTS = 100_000


class Reserver:
    """Reserves on the keys of one pool; ``entries`` is the pool's own (live) mapping."""

    def __init__(
        self,
        entries: Mapping[str, KeyEntry],
        store: KeyStore,
        outliers: OutlierDetector,
        alerts: AlertTracker,
        admission: AdmissionConfig,
        clock: Clock,
        rng: random.Random,
        sample: int,
    ) -> None:
        self._entries = entries
        self._store = store
        self._outliers = outliers
        self._alerts = alerts
        self._admission = admission
        self._clock = clock
        self._rng = rng
        self._sample = sample
        # Prompt-cache prefix → (key that last served it, until when): the key the store
        # prefers is put in the sample. Hints from other replicas come back as "affinity".
        self._hints: dict[str, tuple[str, float]] = {}
        self.offered_total = 0  # candidates handed to the store, over every reserve call
        self.full_passes_total = 0  # attempts whose sample could not admit: all keys offered

    async def attempt(
        self,
        demand: Demand,
        priority: Priority,
        eligible: Eligible,
        allowed: frozenset[str],
        affinity: str | None,
    ) -> Attempt:
        """A sample of the ``allowed`` keys; when none of it can admit, all of them — which
        admits on any key with room, or says honestly how long until one has (see
        :mod:`scalegate.keys.sampling`)."""
        tried: set[str] = set()
        for size in (FIRST, self._sample, 2 * self._sample):  # larger draws before all
            sample = self._sampled(eligible, allowed, affinity, size, tried)
            if sample is None:
                break
            if sample:
                lease, _, _ = await self._reserve(
                    sample, demand, priority, eligible, allowed, affinity, complete=False
                )
                if lease is not None:
                    return lease, 0.0, None
            tried.update(sample)
        if tried:
            self.full_passes_total += 1
        return await self._reserve(
            allowed, demand, priority, eligible, allowed, affinity, complete=True
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
        unwell, outliers = self._outliers.unwell, self._outliers
        usable: Callable[[str], bool] | None = None  # the common case: every key passes
        if not (whole and not tried and not unwell):

            def usable(fp: str) -> bool:
                return (
                    (whole or fp in allowed)
                    and fp not in tried
                    and (fp not in unwell or outliers.wait(fp) == 0)
                )

        picked = eligible.sample(self._rng, size, self._admission.selection, usable)
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
        *,
        complete: bool,
    ) -> Attempt:
        """Ask the store to reserve on one of ``key_ids`` (those not ejected)."""
        candidates, probes, ejected = self._offer(key_ids)
        if not candidates and ejected < float("inf"):
            return None, ejected, "ejected"
        result = await self._ask(candidates, probes, demand, priority, affinity, complete)
        if result.reason == "affinity" and result.preferred is not None:
            # The prefix's key (another replica's choice) was not offered: offer it too
            # when this request may use it, else ask again without the preference.
            preferred = result.preferred
            self.remember(affinity, preferred)
            usable = preferred in allowed and self._outliers.wait(preferred) == 0
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
                self._outliers.release(result.key_id)
            await self._store.settle(result.key_id, Settlement(demand))
            return None, 0.0, None
        if self._admission.selection == "round_robin":
            eligible.served(result.key_id)
        entry.in_flight += 1
        wall = self._clock.time()
        for limit, ratio in result.ratios:
            self._alerts.observe(result.key_id, limit, ratio, wall)
        lease = Lease(
            entry.key,
            demand,
            priority,
            snapshot=result.snapshot,
            affinity=affinity,
            origin=result.origin,
            started=self._outliers.begin(result.key_id),
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
            result = await self._store.reserve(
                candidates,
                demand,
                self._admission.selection,
                int(priority),
                affinity,
                complete=complete,
            )
            chosen = result.key_id
        finally:
            for fp in probes:
                if fp != chosen:
                    self._outliers.release(fp)
        return result

    def _offer(self, key_ids: Iterable[str]) -> tuple[list[Candidate], list[str], float]:
        """The candidates to hand the store: keys not ejected, and keys on probation with a
        probe slot free (held here, so concurrent reservations cannot exceed ``probes``).
        Also returns the keys whose slot was held and the seconds until an ejected key is
        back (inf when none is ejected)."""
        candidates: list[Candidate] = []
        probes: list[str] = []
        ejected = float("inf")
        entries, unwell = self._entries, self._outliers.unwell
        for fp in key_ids:
            e = entries.get(fp)
            if e is None:
                continue
            if fp not in unwell:  # serving: nothing to ask the outlier detector
                candidates.append(e.candidate)
                continue
            blocked = self._outliers.wait(fp)
            if blocked > 0:
                ejected = min(ejected, blocked)
                continue
            if self._outliers.hold(fp):
                probes.append(fp)
            candidates.append(e.candidate)
        return candidates, probes, ejected

    def _hint(self, affinity: str | None) -> str | None:
        if affinity is None:
            return None
        found = self._hints.get(affinity)
        if found is None or found[1] < self._clock.monotonic():
            return None
        return found[0]

    def remember(self, affinity: str | None, fp: str) -> None:
        """Hint that ``fp`` holds the prefix; the oldest hint goes past :data:`MAX_HINTS`
        (a hint that is gone costs one more store call, never a wrong choice: the store
        decides)."""
        if affinity is None:
            return
        self._hints.pop(affinity, None)
        if len(self._hints) >= MAX_HINTS:
            del self._hints[next(iter(self._hints))]
        self._hints[affinity] = (fp, self._clock.monotonic() + AFFINITY_SECONDS)
