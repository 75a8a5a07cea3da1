"""``/api/monitoring/dashboard``: everything the live page shows, as one JSON document.

The numbers come from the same collection a Prometheus scrape gets (so with several
processes they are the sum of all of them, and the page never disagrees with Grafana),
plus the details metrics do not carry: key names and classes, recent quota alerts, the
health reasons. :class:`History` keeps a point every ``monitoring.sample_seconds`` (the
cumulative counters and histogram buckets at that moment) and turns consecutive points into
the charts' series: requests per second, errors, latency percentiles, tokens per second,
cache hit ratio, queue depth, workers.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector

from scalegate.observe.forecast import Forecaster
from scalegate.observe.state import State

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

Sample = tuple[dict[str, str], float]
PRIORITIES = ("critical", "high", "normal", "low")
RECENT_SECONDS = 60.0

# Cache decisions that answered without the provider (the hit ratio's numerator).
CACHE_ANSWERS = ("hit", "semantic-hit", "coalesced")


class Index:
    """The samples of one collection, by sample name."""

    def __init__(self, registry: Collector) -> None:
        self.samples: dict[str, list[Sample]] = {}
        for family in registry.collect():
            for s in family.samples:
                self.samples.setdefault(s.name, []).append((s.labels, s.value))

    def get(self, name: str, **match: str) -> list[Sample]:
        return [
            (labels, value)
            for labels, value in self.samples.get(name, [])
            if all(labels.get(k) == v for k, v in match.items())
        ]

    def total(self, name: str, **match: str) -> float:
        return sum(v for _, v in self.get(name, **match))

    def by(self, name: str, label: str, **match: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for labels, value in self.get(name, **match):
            out[labels.get(label, "")] = out.get(labels.get(label, ""), 0.0) + value
        return out

    def buckets(self, name: str, **match: str) -> list[tuple[float, float]]:
        """Cumulative (upper bound, count) of a histogram, summed over its other labels."""
        summed: dict[float, float] = {}
        for labels, value in self.get(name + "_bucket", **match):
            bound = float(labels["le"])
            summed[bound] = summed.get(bound, 0.0) + value
        return sorted(summed.items())


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile`` over cumulative buckets (``None`` when empty)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            width = count - prev_count
            return prev_bound + (bound - prev_bound) * ((rank - prev_count) / width if width else 0)
        prev_bound, prev_count = bound, count
    return prev_bound


def _delta(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    before = dict(a)
    return [(bound, count - before.get(bound, 0.0)) for bound, count in b]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


@dataclass(slots=True)
class Point:
    """Cumulative values at one moment (counters, buckets) and the gauges then."""

    t: float
    requests: float
    errors: float
    duration: list[tuple[float, float]]
    overhead: list[tuple[float, float]]
    tokens_in: float
    tokens_out: float
    cost: float
    cache_hits: float
    cache_lookups: float
    gauges: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, index: Index, at: float) -> Point:
        lookups = index.by("scalegate_cache_lookups_total", "outcome")
        gauges = {f"queue_{p}": v for p, v in index.by("scalegate_queue_depth", "priority").items()}
        gauges["waiting"] = index.total("scalegate_admission_waiting")
        gauges["workers_active"] = index.total("scalegate_workers", state="active")
        gauges["workers_idle"] = index.total("scalegate_workers", state="idle")
        return cls(
            at,
            index.total("scalegate_requests_total"),
            sum(
                v
                for labels, v in index.get("scalegate_requests_total")
                if labels.get("status", "").startswith("5")
            ),
            index.buckets("scalegate_request_duration_seconds"),
            index.buckets("scalegate_overhead_seconds"),
            index.total("scalegate_tokens_total", direction="input"),
            index.total("scalegate_tokens_total", direction="output"),
            index.total("scalegate_cost_usd_total"),
            sum(lookups.get(o, 0.0) for o in CACHE_ANSWERS),
            sum(lookups.get(o, 0.0) for o in (*CACHE_ANSWERS, "miss")),
            gauges,
        )


class History:
    """The last ``points`` samples; series are rates between consecutive ones."""

    def __init__(self, points: int) -> None:
        self.points: deque[Point] = deque(maxlen=points)

    def add(self, point: Point) -> None:
        self.points.append(point)

    def series(self) -> dict[str, Any]:
        pts = list(self.points)
        out: dict[str, list[Any]] = {
            k: []
            for k in (
                "t", "rps", "error_rps", "p50_ms", "p95_ms", "overhead_p50_ms",
                "tokens_in_ps", "tokens_out_ps", "cost_usd_ph", "cache_hit_ratio",
                "waiting", "workers_active", "workers_idle",
            )
        }  # fmt: skip
        queue: dict[str, list[float]] = {p: [] for p in PRIORITIES}
        for prev, cur in itertools.pairwise(pts):
            dt = cur.t - prev.t
            if dt <= 0:
                continue
            out["t"].append(round(cur.t, 3))
            out["rps"].append(round((cur.requests - prev.requests) / dt, 3))
            out["error_rps"].append(round((cur.errors - prev.errors) / dt, 3))
            window = _delta(prev.duration, cur.duration)
            out["p50_ms"].append(_ms(quantile(0.5, window)))
            out["p95_ms"].append(_ms(quantile(0.95, window)))
            out["overhead_p50_ms"].append(_ms(quantile(0.5, _delta(prev.overhead, cur.overhead))))
            out["tokens_in_ps"].append(round((cur.tokens_in - prev.tokens_in) / dt, 3))
            out["tokens_out_ps"].append(round((cur.tokens_out - prev.tokens_out) / dt, 3))
            out["cost_usd_ph"].append(round((cur.cost - prev.cost) / dt * 3600, 6))
            looked = cur.cache_lookups - prev.cache_lookups
            hits = cur.cache_hits - prev.cache_hits
            out["cache_hit_ratio"].append(round(hits / looked, 4) if looked > 0 else None)
            for name in ("waiting", "workers_active", "workers_idle"):
                out[name].append(cur.gauges.get(name, 0.0))
            for p, values in queue.items():
                values.append(cur.gauges.get(f"queue_{p}", 0.0))
        return {**out, "queue_depth": queue}

    def recent(self, now: Point) -> dict[str, Any]:
        """Rates and percentiles over about the last minute, against ``now``."""
        base = next((p for p in self.points if now.t - p.t <= RECENT_SECONDS), None)
        if base is None or now.t - base.t < 1.0:
            return {"window_seconds": 0, "requests_per_second": None, "p50_ms": None,
                    "p95_ms": None, "error_ratio": None}  # fmt: skip
        dt = now.t - base.t
        count = now.requests - base.requests
        window = _delta(base.duration, now.duration)
        return {
            "window_seconds": round(dt, 1),
            "requests_per_second": round(count / dt, 3),
            "p50_ms": _ms(quantile(0.5, window)),
            "p95_ms": _ms(quantile(0.95, window)),
            "error_ratio": round((now.errors - base.errors) / count, 4) if count > 0 else None,
        }


def _latency(index: Index, name: str) -> dict[str, Any]:
    buckets = index.buckets(name)
    return {
        "count": int(buckets[-1][1]) if buckets else 0,
        "p50_ms": _ms(quantile(0.5, buckets)),
        "p95_ms": _ms(quantile(0.95, buckets)),
        "p99_ms": _ms(quantile(0.99, buckets)),
    }


def _ints(values: dict[str, float]) -> dict[str, int]:
    return {k: round(v) for k, v in sorted(values.items())}


def _by_priority(values: dict[str, float]) -> dict[str, int]:
    return {p: round(values.get(p, 0.0)) for p in PRIORITIES}


def _forecast(left: float | None) -> dict[str, Any]:
    if left is None:
        return {"forecast": "unknown", "exhausts_in_seconds": None}
    if math.isinf(left):
        return {"forecast": "never", "exhausts_in_seconds": None}
    return {"forecast": "runs_out", "exhausts_in_seconds": round(left, 1)}


def _keys(index: Index, state: State, forecaster: Forecaster) -> list[dict[str, Any]]:
    out = []
    for k in state.keys:
        fp = k["key"]
        limits = {}
        for name, u in k["limits"].items():
            limits[name] = {
                "limit": u["limit"],
                "used": u["used"],
                "ratio": u["ratio"],
                "alert": u["alert"],
                **_forecast(forecaster.seconds_left(fp, name)),
            }
        out.append(
            {
                "key": fp,
                "name": k["name"],
                "class": k["class"],
                "status": k["status"],
                "breaker": k["breaker"],
                "cooldown_seconds": k["cooldown_seconds"],
                "in_flight": round(index.total("scalegate_key_in_flight", key=fp)),
                "requests": _ints(index.by("scalegate_key_requests_total", "outcome", key=fp)),
                "limits": limits,
            }
        )
    return out


def _cache(index: Index) -> dict[str, Any]:
    lookups = _ints(index.by("scalegate_cache_lookups_total", "outcome"))
    hits = sum(lookups.get(o, 0) for o in CACHE_ANSWERS)
    looked = hits + lookups.get("miss", 0)
    out: dict[str, Any] = {
        "lookups": lookups,
        "hit_ratio": round(hits / looked, 4) if looked else None,
    }
    for kind in ("exact", "semantic"):
        results = _ints(index.by("scalegate_cache_requests_total", "result", kind=kind))
        if not results:
            continue
        out[kind] = {
            "hits": results.get("hit", 0),
            "misses": results.get("miss", 0),
            "entries": round(index.total("scalegate_cache_entries", kind=kind)),
            "bytes": round(index.total("scalegate_cache_bytes", kind=kind)),
            "evictions": _ints(index.by("scalegate_cache_evictions_total", "reason", kind=kind)),
            "stores": round(index.total("scalegate_cache_stores_total", kind=kind)),
            "errors": round(index.total("scalegate_cache_errors_total", kind=kind)),
        }
    if "semantic" in out:
        near = index.total("scalegate_cache_semantic_near_misses_total")
        out["semantic"]["near_misses"] = round(near)
    return out


def _queue(index: Index) -> dict[str, Any]:
    states = _ints(index.by("scalegate_queue_jobs", "state"))
    return {
        "depth": _by_priority(index.by("scalegate_queue_depth", "priority")),
        "ready": states.get("ready", 0),
        "delayed": states.get("delayed", 0),
        "in_flight": states.get("in_flight", 0),
        "dead": states.get("dead", 0),
        "jobs": _ints(index.by("scalegate_jobs_total", "outcome")),
    }


def document(
    gw: Gateway,
    index: Index,
    state: State,
    health: dict[str, Any],
    forecaster: Forecaster,
    history: History,
    alerts: Iterable[dict[str, Any]],
) -> dict[str, Any]:
    """The dashboard document (see the module docstring)."""
    now = Point.of(index, time.time())
    by_status = _ints(index.by("scalegate_requests_total", "status"))
    decisions: dict[str, dict[str, int]] = {}
    for labels, value in index.get("scalegate_admission_total"):
        decisions.setdefault(labels["priority"], {})[labels["outcome"]] = round(value)
    doc: dict[str, Any] = {
        "generated_at": round(state.at, 3),
        "version": next(iter(index.get("scalegate_info")), ({}, 0))[0].get("version"),
        "mode": health["mode"],
        "simulated_upstream": health["simulated_upstream"],
        "uptime_seconds": round(time.time() - gw.started_at, 1),
        "health": {
            "status": health["status"],
            "reasons": health["reasons"],
            "components": {n: c["status"] for n, c in health["components"].items()},
        },
        "capacity": {  # the gateway's own (scalegate.capacity): also a health reason when full
            "calls": gw.pipeline.capacity.calls,
            "max_calls": gw.pipeline.capacity.max_calls,
            "streams": gw.pipeline.capacity.streams,
            "max_streams": gw.pipeline.capacity.max_streams,
            "refused": dict(gw.pipeline.capacity.refused),
        },
        "totals": {
            "requests": round(now.requests),
            "errors": round(now.errors),
            "by_status": by_status,
            "by_route": _ints(index.by("scalegate_requests_total", "route")),
            "tokens": _ints(index.by("scalegate_tokens_total", "direction")),
            "cost_usd": round(now.cost, 6),
            "retries": _ints(index.by("scalegate_retries_total", "reason")),
        },
        "latency": {
            "request": _latency(index, "scalegate_request_duration_seconds"),
            "upstream": _latency(index, "scalegate_upstream_duration_seconds"),
            "overhead": _latency(index, "scalegate_overhead_seconds"),
            "ttft": _latency(index, "scalegate_time_to_first_token_seconds"),
        },
        "recent": history.recent(now),
        "keys": _keys(index, state, forecaster),
        "alerts": {
            "fired_total": round(index.total("scalegate_quota_alerts_total")),
            "recent": list(alerts),
        },
        "admission": {
            "waiting": _by_priority(index.by("scalegate_admission_waiting", "priority")),
            "decisions": decisions,
            "shed": _by_priority(index.by("scalegate_admission_shed_total", "priority")),
        },
        "cache": _cache(index),
        "queue": _queue(index),
        "workers": {
            "pools": round(index.total("scalegate_worker_pools")),
            "active": round(now.gauges["workers_active"]),
            "idle": round(now.gauges["workers_idle"]),
            "restarts": round(index.total("scalegate_worker_restarts_total")),
        },
        "history": {"interval_seconds": gw.settings.monitoring.sample_seconds, **history.series()},
    }
    if gw.settings.tenants:
        doc["tenants"] = {
            "requests": _ints(index.by("scalegate_requests_total", "tenant")),
            "cost_usd": {
                t: round(v, 6)
                for t, v in sorted(index.by("scalegate_cost_usd_total", "tenant").items())
            },
        }
    return doc
