"""Outlier ejection per key: only key-specific evidence takes a key out of the pool.

Why not a circuit breaker per key (what this replaces, issue 13): a breaker counts a key's
outcomes in the order they *finish*. Failures come back in milliseconds and successes only
after the whole answer, so under a provider-wide fault rate of 25 % every key's breaker saw a
burst of failures first and opened, then re-opened on the queued burst after its cooldown — a
transient provider fault became a gateway-wide outage. Envoy's outlier detection is the
model instead:

* **Counted by start, not by finish.** Each outcome is filed under the second its request
  *started* (the lease carries the moment). A second is counted once it is over and every
  request started in it has settled; a second whose requests hold their leases for long (a
  stream settles at its end) is counted anyway ``window_seconds / 3`` after it ended,
  without the unsettled ones — a bias toward failures that the comparison with the peers
  (next point) cancels, since the peers serve the same kind of traffic. Fast failures
  cannot outrun the slow successes of the same second.
* **Compared with the peers.** A key is ejected only when, with at least ``min_requests``
  outcomes in the last ``window_seconds``, its failure rate reaches ``failure_rate`` *and*
  exceeds the median rate of the other serving keys (those with enough outcomes) by
  ``failure_rate_margin``. With no peer to compare with there is no evidence against the
  key. When every key fails alike it is the provider: no key is ejected, requests are
  retried across the keys with backoff within their deadline (:mod:`scalegate.attempts`),
  and :meth:`OutlierDetector.degraded` says so for health and metrics.
* **Never the whole pool.** At most ``max_ejection_percent`` of the keys are out at once
  (as in Envoy, one may always be ejected) and one key always stays.

Failures are 5xx answers and connection errors. 429 and 529 are capacity signals, handled by
the key's cooldown and the attempt loop's backoff; they never eject a key (529s count toward
"provider degraded" only). 401/403 quarantine the key in the key store, as before.

An ejection lasts ``base_ejection_seconds`` × the key's ejection count, at most
``max_ejection_seconds``; the count drops by one for every ``window_seconds`` the key then
serves without being ejected. After it the key is on probation: at most ``probes`` requests
at a time; once ``probes`` of them had a health outcome, the key is back if their failure
rate would not eject it (the same floor and margin), else ejected again, for longer.

Process-local on purpose: like Envoy's detection (per proxy), each replica judges the keys
by its own traffic, so this needs no Redis state and no round trip; a bad key is ejected by
each replica after about ``min_requests`` of its own calls. (The key stores' breaker is no
longer fed failures by the pool: see ``KeyPool.settle``.)
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from dataclasses import dataclass

from scalegate.clock import Clock
from scalegate.config import BreakerConfig
from scalegate.keys.lease import Outcome

FAILURES = frozenset({Outcome.SERVER_ERROR, Outcome.CONNECTION_ERROR})

# A key on probation with every probe out: how long until asking again (a settlement wakes
# the admission queue sooner).
PROBE_WAIT = 0.1


class KeyHealth(enum.IntEnum):
    """Values are what the ``scalegate_key_breaker_state`` gauge exports."""

    SERVING = 0
    PROBATION = 1
    EJECTED = 2

    @property
    def breaker_word(self) -> str:
        """The former breaker's word for this state (health, dashboard and metrics)."""
        return ("closed", "half_open", "open")[self.value]


@dataclass(slots=True)
class _Second:
    """Outcomes of the requests that *started* in one second."""

    second: int
    started: int = 0
    settled: int = 0
    successes: int = 0
    failures: int = 0
    overloaded: int = 0


@dataclass(frozen=True, slots=True)
class Tally:
    """A key's counted outcomes over the window."""

    successes: int = 0
    failures: int = 0
    overloaded: int = 0

    @property
    def requests(self) -> int:
        """Outcomes that say something about the key (529s do not)."""
        return self.successes + self.failures

    @property
    def failure_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def trouble_rate(self) -> float:
        """Failures and 529s among all outcomes: how the provider is doing."""
        total = self.requests + self.overloaded
        return (self.failures + self.overloaded) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """A change of a key's state, for the log."""

    key: str
    ejected: bool  # False: back in service after probation
    seconds: float = 0.0  # how long the ejection lasts
    why: str = ""


class _Key:
    __slots__ = (
        "ejected_until",
        "ejections",
        "ejections_total",
        "health",
        "probe_failures",
        "probe_successes",
        "probes_out",
        "seconds",
        "serving_since",
    )

    def __init__(self, now: float) -> None:
        self.seconds: deque[_Second] = deque()
        self.health = KeyHealth.SERVING
        self.ejected_until = 0.0
        self.ejections = 0  # the multiplier of the ejection time
        self.ejections_total = 0
        self.serving_since = now
        self.probes_out = 0
        self.probe_successes = 0
        self.probe_failures = 0

    def second(self, second: int) -> _Second | None:
        for sec in reversed(self.seconds):
            if sec.second == second:
                return sec
            if sec.second < second:
                return None
        return None


class OutlierDetector:
    """Which keys are ejected, from the outcomes the pool reports (see the module docstring).

    The pool asks :meth:`wait` before offering a key, takes a probe slot with :meth:`hold`
    (given back with :meth:`release` when the key was not chosen), calls :meth:`begin` when
    a request starts on a key and :meth:`settle` when it ends.
    """

    def __init__(self, config: BreakerConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._capped_at: float | None = None  # when the cap last kept a key from ejection
        # Keys ejected or on probation: the pool asks about the others not at all.
        self.unwell: set[str] = set()

    # -- keys -------------------------------------------------------------------------------

    def track(self, key_id: str) -> None:
        if key_id not in self._keys:
            self._keys[key_id] = _Key(self._clock.monotonic())

    def forget(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        self.unwell.discard(key_id)

    def reset(self, key_id: str) -> None:
        """Back in service with a clean slate (an operator re-enabled the key)."""
        if key_id in self._keys:
            total = self._keys[key_id].ejections_total
            self._keys[key_id] = _Key(self._clock.monotonic())
            self._keys[key_id].ejections_total = total
            self.unwell.discard(key_id)

    # -- asked by the pool ------------------------------------------------------------------

    def health(self, key_id: str) -> KeyHealth:
        key = self._keys.get(key_id)
        if key is None:
            return KeyHealth.SERVING
        self._refresh(key, self._clock.monotonic())
        return key.health

    def wait(self, key_id: str) -> float:
        """Seconds until the key may take a request (0: now)."""
        key = self._keys.get(key_id)
        if key is None or key.health is KeyHealth.SERVING:  # the common case, cheaply
            return 0.0
        now = self._clock.monotonic()
        self._refresh(key, now)
        if key.health is KeyHealth.EJECTED:
            return key.ejected_until - now
        if key.health is KeyHealth.PROBATION and key.probes_out >= self.config.probes:
            return PROBE_WAIT
        return 0.0

    def hold(self, key_id: str) -> bool:
        """Take a probe slot when the key is on probation; True when one was taken."""
        key = self._keys.get(key_id)
        if key is None or key.health is not KeyHealth.PROBATION:
            return False
        if key.probes_out >= self.config.probes:
            return False
        key.probes_out += 1
        return True

    def release(self, key_id: str) -> None:
        """Give back a probe slot taken by :meth:`hold` that no request used."""
        key = self._keys.get(key_id)
        if key is not None and key.probes_out > 0:
            key.probes_out -= 1

    def begin(self, key_id: str) -> float:
        """A request starts on the key; returns the moment to hand back to :meth:`settle`."""
        now = self._clock.monotonic()
        key = self._keys.get(key_id)
        if key is None:
            return now
        second = int(now)
        if key.seconds and key.seconds[-1].second == second:
            key.seconds[-1].started += 1
        else:
            key.seconds.append(_Second(second, started=1))
            self._prune(key, now)
        return now

    def settle(
        self, key_id: str, started: float | None, probe: bool, outcome: Outcome
    ) -> Verdict | None:
        """A request on the key ended; returns a verdict when the key's state changed."""
        key = self._keys.get(key_id)
        if key is None:
            return None
        now = self._clock.monotonic()
        failed = outcome in FAILURES
        sec = key.second(int(started)) if started is not None else None
        if sec is not None:
            sec.settled += 1
            if outcome is Outcome.SUCCESS:
                sec.successes += 1
            elif failed:
                sec.failures += 1
            elif outcome is Outcome.OVERLOADED:
                sec.overloaded += 1
        if key.health is not KeyHealth.SERVING:
            self._refresh(key, now)
        if probe and key.health is KeyHealth.PROBATION:
            key.probes_out = max(0, key.probes_out - 1)
            if outcome is Outcome.SUCCESS:
                key.probe_successes += 1
            elif failed:
                key.probe_failures += 1
            if key.probe_successes + key.probe_failures >= self.config.probes:
                return self._end_probation(key_id, key, now)
            return None
        if failed and key.health is KeyHealth.SERVING:
            return self._judge(key_id, key, now)
        return None

    # -- reported ---------------------------------------------------------------------------

    def tally(self, key_id: str) -> Tally:
        key = self._keys.get(key_id)
        return Tally() if key is None else self._tally(key, self._clock.monotonic())

    def ejected_for(self, key_id: str) -> float:
        """Seconds of ejection left (0 when serving or on probation)."""
        key = self._keys.get(key_id)
        if key is None or self.health(key_id) is not KeyHealth.EJECTED:
            return 0.0
        return max(0.0, key.ejected_until - self._clock.monotonic())

    def ejections_total(self) -> dict[str, int]:
        return {fp: key.ejections_total for fp, key in self._keys.items()}

    def degraded(self) -> str | None:
        """Why the provider looks degraded (failing on every key alike), or ``None``."""
        now = self._clock.monotonic()
        cfg = self.config
        if self._capped_at is not None and now - self._capped_at < cfg.window_seconds:
            return (
                f"provider degraded: more keys fail than max_ejection_percent "
                f"({cfg.max_ejection_percent:g} %) lets be ejected"
            )
        rates = []
        for key in self._keys.values():
            self._refresh(key, now)
            if key.health is KeyHealth.EJECTED:
                continue
            t = self._tally(key, now)
            if t.requests + t.overloaded >= cfg.min_requests:
                rates.append(t.trouble_rate)
        if rates and (median := statistics.median(rates)) >= cfg.degraded_failure_rate:
            return (
                f"provider degraded: {median:.0%} of calls fail (5xx, 529, connection) on "
                f"every key alike (median over {len(rates)} keys, last {cfg.window_seconds:g} s)"
            )
        return None

    # -- the rules --------------------------------------------------------------------------

    def _tally(self, key: _Key, now: float) -> Tally:
        horizon = now - self.config.window_seconds
        grace = self.config.window_seconds / 3
        ok = failed = overloaded = 0
        for sec in key.seconds:
            end = sec.second + 1
            if end <= horizon or end > now:
                continue  # out of the window, or still taking requests
            if sec.settled < sec.started and now - end < grace:
                continue  # outcomes still to come: counting now would favour the fast ones
            ok += sec.successes
            failed += sec.failures
            overloaded += sec.overloaded
        return Tally(ok, failed, overloaded)

    def _prune(self, key: _Key, now: float) -> None:
        horizon = now - self.config.window_seconds
        while key.seconds and key.seconds[0].second + 1 <= horizon:
            key.seconds.popleft()

    def _peer_median(self, key_id: str, now: float) -> float | None:
        """Median failure rate of the other serving keys with enough outcomes."""
        rates = []
        for fp, key in self._keys.items():
            if fp == key_id:
                continue
            self._refresh(key, now)
            if key.health is KeyHealth.EJECTED:
                continue
            t = self._tally(key, now)
            if t.requests >= self.config.min_requests:
                rates.append(t.failure_rate)
        return statistics.median(rates) if rates else None

    def _judge(self, key_id: str, key: _Key, now: float) -> Verdict | None:
        cfg = self.config
        t = self._tally(key, now)
        if t.requests < cfg.min_requests or t.failure_rate < cfg.failure_rate:
            return None
        peers = self._peer_median(key_id, now)
        if peers is None or t.failure_rate - peers < cfg.failure_rate_margin:
            return None  # no peer to compare with, or failing like them: the provider
        why = (
            f"{t.failure_rate:.0%} of {t.requests} calls failed, the other keys' median {peers:.0%}"
        )
        return self._eject(key_id, key, now, why)

    def _end_probation(self, key_id: str, key: _Key, now: float) -> Verdict | None:
        cfg = self.config
        done = key.probe_successes + key.probe_failures
        rate = key.probe_failures / done
        peers = self._peer_median(key_id, now)
        bar = max(cfg.failure_rate, (peers + cfg.failure_rate_margin) if peers is not None else 0)
        if rate >= bar:
            verdict = self._eject(key_id, key, now, f"{key.probe_failures} of {done} probes failed")
            if verdict is not None:
                return verdict
        key.health = KeyHealth.SERVING
        self.unwell.discard(key_id)
        key.serving_since = now
        key.seconds.clear()  # what got it ejected is no evidence any more
        return Verdict(key_id, ejected=False, why=f"{key.probe_successes} of {done} probes passed")

    def _may_eject(self) -> bool:
        n = len(self._keys)
        share = math.floor(n * self.config.max_ejection_percent / 100)
        limit = min(n - 1, max(1, share)) if self.config.max_ejection_percent > 0 else 0
        now = self._clock.monotonic()
        for k in self._keys.values():
            self._refresh(k, now)
        ejected = sum(1 for k in self._keys.values() if k.health is KeyHealth.EJECTED)
        return ejected < limit

    def _eject(self, key_id: str, key: _Key, now: float, why: str) -> Verdict | None:
        cfg = self.config
        if not self._may_eject():
            self._capped_at = now
            return None
        if key.health is KeyHealth.SERVING:  # good service since the last return counts
            healthy_windows = int((now - key.serving_since) / cfg.window_seconds)
            key.ejections = max(0, key.ejections - healthy_windows)
        key.ejections += 1
        key.ejections_total += 1
        seconds = min(cfg.base_ejection_seconds * key.ejections, cfg.max_ejection_seconds)
        key.health = KeyHealth.EJECTED
        self.unwell.add(key_id)
        key.ejected_until = now + seconds
        key.probes_out = key.probe_successes = key.probe_failures = 0
        return Verdict(key_id, ejected=True, seconds=seconds, why=why)

    @staticmethod
    def _refresh(key: _Key, now: float) -> None:
        if key.health is KeyHealth.EJECTED and now >= key.ejected_until:
            key.health = KeyHealth.PROBATION
            key.probes_out = key.probe_successes = key.probe_failures = 0
