"""The ``local`` and ``shared`` metrics of :mod:`scalegate.observe.metrics`, read at scrape time.

:func:`local_values` reads the counters and gauges the subsystems keep in this process;
:func:`shared_values` turns a :class:`~scalegate.observe.state.State` (keys, queue, workers,
cache store, health) into samples. :class:`StateCollector` is the prometheus_client collector
that emits both (the local ones only in single-process mode: with several processes they are
published into the multiprocess files and come back through prometheus_client's own
collector).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from scalegate import __version__
from scalegate.observe import metrics as m
from scalegate.observe.forecast import Forecaster
from scalegate.observe.recorder import Recorder
from scalegate.observe.state import State
from scalegate.priority import Priority
from scalegate.retry import RETRYABLE

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

Labels = tuple[str, ...]
# A summary's value is (count, sum); every other metric's a float.
Samples = dict[m.Spec, list[tuple[Labels, Any]]]

_PRIORITIES = tuple(p.label for p in Priority)
_ADMISSION = ("admitted", "admitted_after_wait", "rejected", "shed")
_RETRY_REASONS = tuple(o.value for o in sorted(RETRYABLE, key=lambda o: o.value))
# The near-miss guard's rules (scalegate.cache.guard), reported from zero.
_GUARD_RULES = (
    "numbers", "negation", "units", "entities", "quoted", "symbols", "contrast", "order",
)  # fmt: skip
_JOB_EVENTS = (
    "enqueued", "completed", "failed", "dead", "retried",
    "requeued", "reclaimed", "released", "canceled",
)  # fmt: skip


def local_values(gw: Gateway) -> Samples:
    """This process's counters and gauges (no I/O)."""
    pool = gw.pool
    out: Samples = {}
    admitted = pool.admitted_total
    out[m.ADMISSION] = [
        ((p, o), float(admitted.get((p, o), 0))) for p in _PRIORITIES for o in _ADMISSION
    ]
    out[m.ADMISSION] += [
        (slot, float(n)) for slot, n in admitted.items() if slot[1] not in _ADMISSION
    ]
    out[m.SHED] = [((p,), float(pool.queue.shed_total.get(p, 0))) for p in _PRIORITIES]
    out[m.WAITING] = [((p,), float(n)) for p, n in pool.queue.depth_by_priority().items()]
    retries = {reason: 0 for reason in _RETRY_REASONS} | gw.pipeline.retry_counts
    out[m.RETRIES] = [((reason,), float(n)) for reason, n in retries.items()]
    out[m.STATE_OUTAGES] = [(slot, float(n)) for slot, n in gw.outages.counts.items()]
    out[m.STREAM_CUTS] = [((), float(gw.observer.recorder.stream_cuts))]
    capacity = gw.pipeline.capacity
    out[m.CAPACITY_IN_USE] = [
        (("calls",), float(capacity.calls)),
        (("streams",), float(capacity.streams)),
    ]
    out[m.CAPACITY_REFUSALS] = [((r,), float(n)) for r, n in capacity.refused.items()]
    out[m.KEY_REQUESTS] = []
    out[m.KEY_IN_FLIGHT] = []
    out[m.ALERT_LEVEL] = []
    for entry in pool.entries:
        fp = entry.key.fingerprint
        out[m.KEY_REQUESTS] += [((fp, o), float(n)) for o, n in entry.counts.items()]
        out[m.KEY_IN_FLIGHT].append(((fp,), float(entry.in_flight)))
        for limit in entry.key.limits.model_dump(exclude_none=True):
            level = pool.alerts.level(fp, limit)
            out[m.ALERT_LEVEL].append(((fp, limit), level or 0.0))
    out[m.KEY_DRIFT] = [((), float(pool.drift_total))]
    ejections = pool.outliers.ejections_total()
    out[m.KEY_EJECTIONS] = [((fp,), float(n)) for fp, n in ejections.items()]
    out[m.PROVIDER_DEGRADED] = [((), float(pool.outliers.degraded() is not None))]
    _cache_values(gw, out)
    webhook = gw.observer.webhook
    if webhook is not None:
        out[m.WEBHOOK] = [((o,), float(n)) for o, n in webhook.counts.items()]
    store = gw.key_store
    if store is not None:
        out[m.REDIS_ERRORS] = [((), float(store.errors_total))]
        out[m.FALLBACK] = [((), float(store.fallback_reservations))]
    return out


def _cache_values(gw: Gateway, out: Samples) -> None:
    cache = gw.cache
    out[m.CACHE_LOOKUPS] = [((o,), float(n)) for o, n in cache.outcomes.items()]
    requests: list[tuple[Labels, Any]] = []
    stores: list[tuple[Labels, Any]] = []
    errors: list[tuple[Labels, Any]] = []
    if cache.exact is not None:
        c = cache.exact.counts
        requests += [(("exact", "hit"), float(c["hits"])), (("exact", "miss"), float(c["misses"]))]
        stores.append((("exact",), float(c["stores"])))
        errors.append((("exact",), float(c["errors"])))
    semantic = cache.semantic
    if semantic is not None:
        c = semantic.counts
        requests += [
            (("semantic", "hit"), float(c["hits"])),
            (("semantic", "miss"), float(c["misses"])),
        ]
        stores.append((("semantic",), float(c["stores"])))
        errors.append((("semantic",), float(c["errors"])))
        out[m.CACHE_NEAR_MISSES] = [((), float(c["near_misses"]))]
        refusals = dict.fromkeys(_GUARD_RULES, 0) | semantic.refusals
        out[m.CACHE_GUARD] = [((r,), float(n)) for r, n in refusals.items()]
    out[m.CACHE_REQUESTS] = requests
    out[m.CACHE_STORES] = stores
    out[m.CACHE_ERRORS] = errors


def shared_values(
    gw: Gateway, state: State, health: dict[str, Any], forecaster: Forecaster
) -> Samples:
    """Samples of the shared state in ``state`` (see the module docstring)."""
    out: Samples = {s: [] for s in m.ALL if s.source == "shared"}
    for k in state.keys:
        fp = k["key"]
        for limit, u in k["limits"].items():
            out[m.KEY_UTILIZATION].append(((fp, limit), float(u["ratio"])))
            out[m.KEY_USED].append(((fp, limit), float(u["used"])))
            out[m.KEY_CAPACITY].append(((fp, limit), float(u["limit"])))
            left = forecaster.seconds_left(fp, limit)
            out[m.KEY_EXHAUSTION].append(((fp, limit), math.inf if left is None else left))
        out[m.BREAKER].append(((fp,), float(m.BREAKER_VALUE.get(k["breaker"], 2))))
        out[m.KEY_QUARANTINED].append(((fp,), float(k["status"] == "quarantined")))
        out[m.KEY_DISABLED].append(((fp,), float(k["disabled_reason"] is not None)))
        out[m.KEY_COOLDOWN].append(((fp,), float(k["cooldown_seconds"])))
    out[m.KEYS_USABLE] = [((), float(state.usable))]
    out[m.KEYS_CONFIGURED] = [((), float(len(state.keys)))]
    _queue_values(state, out)
    _cache_store_values(state, out)
    if state.redis_up is not None:
        out[m.REDIS_UP] = [((), float(state.redis_up))]
    out[m.HEALTH] = [(("overall",), float(m.STATUS_VALUE[health["status"]]))]
    for name, component in health["components"].items():
        out[m.HEALTH].append(((name,), float(m.STATUS_VALUE[component["status"]])))
    mode = "shared" if gw.settings.redis_url else "embedded"
    out[m.INFO] = [((__version__, mode, str(gw.simulated).lower()), 1.0)]
    return out


def _queue_values(state: State, out: Samples) -> None:
    counts = state.queue
    if counts is not None:
        out[m.QUEUE_DEPTH] = [((p,), float(counts["depth"].get(p, 0))) for p in _PRIORITIES]
        out[m.QUEUE_JOBS] = [
            ((s,), float(counts[s])) for s in ("ready", "delayed", "in_flight", "dead")
        ]
        totals = counts.get("totals", {})
        out[m.JOBS] = [((e,), float(totals.get(e, 0))) for e in _JOB_EVENTS]
        leased = float(totals.get("leased", 0))
        out[m.JOB_WAIT] = [((), (leased, totals.get("wait_ms", 0) / 1000.0))]
    pools = state.workers
    if pools is not None:
        out[m.WORKERS] = [
            (("active",), float(sum(int(p.get("active", 0)) for p in pools))),
            (("idle",), float(sum(int(p.get("idle", 0)) for p in pools))),
        ]
        out[m.WORKER_POOLS] = [((), float(len(pools)))]
        out[m.WORKER_RESTARTS] = [((), float(sum(int(p.get("restarts", 0)) for p in pools)))]
        durations: dict[str, list[float]] = {}
        for pool in pools:
            for outcome, (count, total) in (pool.get("durations") or {}).items():
                slot = durations.setdefault(outcome, [0.0, 0.0])
                slot[0] += count
                slot[1] += total
        out[m.JOB_DURATION] = [((o,), (c, s)) for o, (c, s) in sorted(durations.items())]


def _cache_store_values(state: State, out: Samples) -> None:
    snap = state.cache
    if snap is None:
        return
    for kind in ("exact", "semantic"):
        part = snap.get(kind)
        if not isinstance(part, dict):
            continue
        store = part.get("store", part) if kind == "semantic" else part
        if not isinstance(store, dict):
            continue
        if "entries" in store:
            out[m.CACHE_ENTRIES].append(((kind,), float(store["entries"])))
        if "bytes" in store:
            out[m.CACHE_BYTES].append(((kind,), float(store["bytes"])))
        for reason, field in (("evicted", "evictions"), ("expired", "expired")):
            out[m.CACHE_EVICTIONS].append(((kind, reason), float(store.get(field, 0))))
        out[m.CACHE_EVICTIONS].append(((kind, "invalidated"), float(store.get("invalidated", 0))))


def families(samples: Samples) -> Iterator[Metric]:
    """prometheus_client metric families from samples."""
    for spec, values in samples.items():
        family: Any
        if spec.kind == "counter":
            family = CounterMetricFamily(spec.base, spec.help, labels=spec.labels)
        elif spec.kind == "summary":
            family = SummaryMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, (count, total) in values:
                family.add_metric(list(labels), count, total)
            yield family
            continue
        else:
            family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
        for labels, value in values:
            family.add_metric(list(labels), value)
        yield family


class StateCollector(Collector):
    """Emits the latest shared samples and, in single-process mode, this process's own: the
    recorder's path metrics and the local counters."""

    def __init__(self, gw: Gateway, recorder: Recorder, *, local: bool) -> None:
        self.gw = gw
        self.recorder = recorder
        self.local = local
        self.ready = False  # set once the gateway has started
        self.shared: Samples = {}

    def collect(self) -> Iterator[Metric]:
        if self.local:
            if self.recorder.enabled:
                yield from self.recorder.families()
            if self.ready:
                yield from families(local_values(self.gw))
        yield from families(self.shared)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected on demand; nothing to check at registration
