"""Every metric the gateway exports, defined once: name (``scalegate_`` prefix, unit in the
name), type, help, labels, buckets, and where its value comes from.

Three sources, chosen by what each number costs to keep and who must see it:

* ``path`` — recorded on the request path by :mod:`scalegate.observe.recorder` with
  prometheus_client objects whose label children are bound once and cached (requests,
  latencies, tokens, cost, admission waits, quota alerts). Multi-process safe through
  prometheus_client's multiprocess mode.
* ``local`` — counters and gauges the subsystems already keep in plain attributes of this
  process (the pool's admissions and per-key outcomes, retries by cause, cache hits and
  misses, in-flight calls): read at scrape time, so they cost the request path nothing. With
  several processes (``scalegate serve --workers N``) each process publishes them once a
  second into the multiprocess files instead (:mod:`scalegate.observe.multiprocess`).
* ``shared`` — state that is the same whichever process reads it (key quotas and breakers,
  the job queue, worker heartbeats, the cache store; in Redis in shared mode): read at scrape
  time by the process that answers the scrape, never summed across processes. Every replica
  reports the same shared view, so dashboards aggregate these with ``max``, not ``sum``.

Label values are bounded: a fixed route set, HTTP statuses, configured tenants, key
fingerprints (never a secret), priorities, outcomes, and models that the provider answered
for (at most :data:`MAX_MODELS`, the rest are ``other``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram", "summary"]
Source = Literal["path", "local", "shared"]

# Model names become label values only after the provider answered for them, and at most
# this many distinct ones; later ones are counted as "other".
MAX_MODELS = 64

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)
WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60)

# The routes that are counted; everything else (monitoring, admin) is not.
ROUTES = ("messages", "count_tokens", "chat_completions", "models", "jobs", "batches")


@dataclass(frozen=True, slots=True)
class Spec:
    name: str  # as exported (counters end in _total)
    kind: Kind
    source: Source
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    tenant: bool = False  # gains a `tenant` label when tenants are configured
    mp_gauge: Literal["livesum", "livemax"] = "livesum"  # combined across processes so

    @property
    def base(self) -> str:
        """The name prometheus_client wants for the object (``_total`` dropped)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


# -- recorded on the path ---------------------------------------------------------------------

REQUESTS = Spec(
    "scalegate_requests_total", "counter", "path",
    "Requests answered, by route and HTTP status (499: the client left before an answer).",
    ("route", "status"), tenant=True,
)  # fmt: skip
REQUEST_DURATION = Spec(
    "scalegate_request_duration_seconds", "histogram", "path",
    "End-to-end time of a request in the gateway, until its last byte (whole streams).",
    ("route",), LATENCY_BUCKETS,
)  # fmt: skip
UPSTREAM_DURATION = Spec(
    "scalegate_upstream_duration_seconds", "histogram", "path",
    "Time a request waited on the provider, all attempts (a stream: until its first event).",
    ("route",), LATENCY_BUCKETS,
)  # fmt: skip
OVERHEAD = Spec(
    "scalegate_overhead_seconds", "histogram", "path",
    "The gateway's own time per request: until the response started, less upstream and "
    "admission waits (x-scalegate-overhead-ms).",
    ("route",), OVERHEAD_BUCKETS,
)  # fmt: skip
TTFT = Spec(
    "scalegate_time_to_first_token_seconds", "histogram", "path",
    "Streams: time from the request's arrival to the first content delta forwarded.",
    ("route",), TTFT_BUCKETS,
)  # fmt: skip
TOKENS = Spec(
    "scalegate_tokens_total", "counter", "path",
    "Tokens the provider counted for answers (input, output, cache_read, cache_write).",
    ("direction", "model"), tenant=True,
)  # fmt: skip
COST = Spec(
    "scalegate_cost_usd_total", "counter", "path",
    "Estimated cost in US dollars from the price table (`prices` in the configuration).",
    ("model",), tenant=True,
)  # fmt: skip
ADMISSION_WAIT = Spec(
    "scalegate_admission_wait_seconds", "histogram", "path",
    "Time spent queued for a key by requests that had to wait (admitted or refused).",
    ("priority", "outcome"), WAIT_BUCKETS,
)  # fmt: skip
QUOTA_ALERTS = Spec(
    "scalegate_quota_alerts_total", "counter", "path",
    "Crossings of 70/85/95 % of a key limit (each reported once until it re-arms).",
    ("key", "limit", "threshold"),
)  # fmt: skip

# -- this process's counters, read at scrape time ---------------------------------------------

ADMISSION = Spec(
    "scalegate_admission_total", "counter", "local",
    "Admission decisions by priority: admitted, admitted_after_wait, rejected (at once), "
    "shed (refused after waiting: deadline or displaced).",
    ("priority", "outcome"),
)  # fmt: skip
SHED = Spec(
    "scalegate_admission_shed_total", "counter", "local",
    "Waiting requests displaced by higher-priority ones or refused by a full queue.",
    ("priority",),
)  # fmt: skip
WAITING = Spec(
    "scalegate_admission_waiting", "gauge", "local",
    "Requests waiting for a key now, by priority.", ("priority",),
)  # fmt: skip
RETRIES = Spec(
    "scalegate_retries_total", "counter", "local",
    "Attempts that failed in a retryable way, by cause (rate_limited, overloaded, "
    "server_error, connection_error, auth_failed); each was retried unless the attempts or "
    "the deadline ran out.",
    ("reason",),
)  # fmt: skip
STATE_OUTAGES = Spec(
    "scalegate_state_outages_total", "counter", "local",
    "Calls that found a shared-state store (Redis) unavailable, by subsystem (keys, "
    "tenants, cache, queue, registry) and the action its declared policy took.",
    ("subsystem", "action"),
)  # fmt: skip
CAPACITY_IN_USE = Spec(
    "scalegate_gateway_in_flight", "gauge", "local",
    "This process's own capacity in use: upstream calls in flight (kind=calls, bounded by "
    "upstream.max_connections) and open streams (kind=streams, server.max_open_streams).",
    ("kind",),
)  # fmt: skip
CAPACITY_REFUSALS = Spec(
    "scalegate_capacity_refusals_total", "counter", "local",
    "Calls answered 529 because the gateway itself was full, by what was full "
    "(upstream_connections, open_streams); LOW traffic is shed first.",
    ("reason",),
)  # fmt: skip
STREAM_CUTS = Spec(
    "scalegate_stream_cuts_total", "counter", "local",
    "Streams the provider broke off after content reached the client; each ended with an "
    "SSE error event, never silently.",
    (),
)  # fmt: skip
KEY_REQUESTS = Spec(
    "scalegate_key_requests_total", "counter", "local",
    "Calls settled on each key, by outcome.", ("key", "outcome"),
)  # fmt: skip
KEY_IN_FLIGHT = Spec(
    "scalegate_key_in_flight", "gauge", "local", "Calls in flight on each key.", ("key",),
)  # fmt: skip
KEY_DRIFT = Spec(
    "scalegate_key_drift_total", "counter", "local",
    "Settlements where the provider reported use the gateway did not see (charged).",
)  # fmt: skip
ALERT_LEVEL = Spec(
    "scalegate_key_alert_level", "gauge", "local",
    "Highest alert threshold (0.7, 0.85, 0.95) a key limit is above; 0 when below all.",
    ("key", "limit"), mp_gauge="livemax",
)  # fmt: skip
CACHE_REQUESTS = Spec(
    "scalegate_cache_requests_total", "counter", "local",
    "Cache lookups by cache (exact, semantic) and result (hit, miss).", ("kind", "result"),
)  # fmt: skip
CACHE_LOOKUPS = Spec(
    "scalegate_cache_lookups_total", "counter", "local",
    "What each request's cache decision was (hit, semantic-hit, coalesced, miss, bypass).",
    ("outcome",),
)  # fmt: skip
CACHE_NEAR_MISSES = Spec(
    "scalegate_cache_semantic_near_misses_total", "counter", "local",
    "Semantic lookups whose best match was within 0.05 under the threshold.",
)  # fmt: skip
CACHE_GUARD = Spec(
    "scalegate_cache_semantic_guard_refusals_total", "counter", "local",
    "Semantic matches above the threshold refused by the near-miss guard, by rule.",
    ("reason",),
)  # fmt: skip
CACHE_STORES = Spec(
    "scalegate_cache_stores_total", "counter", "local", "Answers stored, by cache.", ("kind",),
)  # fmt: skip
CACHE_ERRORS = Spec(
    "scalegate_cache_errors_total", "counter", "local",
    "Cache operations that failed (treated as misses), by cache.", ("kind",),
)  # fmt: skip
REDIS_ERRORS = Spec(
    "scalegate_redis_errors_total", "counter", "local",
    "Redis operations of the key store that failed (the outage policy applied).",
)  # fmt: skip
WEBHOOK = Spec(
    "scalegate_alert_webhook_deliveries_total", "counter", "local",
    "Quota-alert webhook deliveries: sent, failed (after every retry), dropped (queue full).",
    ("outcome",),
)  # fmt: skip
FALLBACK = Spec(
    "scalegate_redis_fallback_reservations_total", "counter", "local",
    "Reservations made on local fail-open limits while Redis was unreachable.",
)  # fmt: skip

KEY_EJECTIONS = Spec(
    "scalegate_key_ejections_total", "counter", "local",
    "Times this process's outlier detection ejected a key (failing while the others did not).",
    ("key",),
)  # fmt: skip
PROVIDER_DEGRADED = Spec(
    "scalegate_provider_degraded", "gauge", "local",
    "1 while the provider fails on every key alike (5xx, 529, connection errors over the "
    "detection window): retried, no key ejected for it.",
    mp_gauge="livemax",
)  # fmt: skip

# -- shared state, read at scrape time --------------------------------------------------------

KEY_UTILIZATION = Spec(
    "scalegate_key_utilization_ratio", "gauge", "shared",
    "Share of each key limit in use now (0..1).", ("key", "limit"),
)  # fmt: skip
KEY_USED = Spec(
    "scalegate_key_limit_used", "gauge", "shared",
    "Requests or tokens in use on each key limit now.", ("key", "limit"),
)  # fmt: skip
KEY_CAPACITY = Spec(
    "scalegate_key_limit_capacity", "gauge", "shared",
    "Each key limit's capacity (requests or tokens per window).", ("key", "limit"),
)  # fmt: skip
KEY_EXHAUSTION = Spec(
    "scalegate_key_exhaustion_seconds", "gauge", "shared",
    "Forecast: seconds until the limit runs out at the current rate (+Inf: it does not).",
    ("key", "limit"),
)  # fmt: skip
BREAKER = Spec(
    "scalegate_key_breaker_state", "gauge", "shared",
    "Outlier ejection per key (the former breaker's gauge): 0 serving, 1 on probation "
    "(half-open), 2 ejected (open).", ("key",),
)  # fmt: skip
KEY_QUARANTINED = Spec(
    "scalegate_key_quarantined", "gauge", "shared",
    "1 while the provider's 401/403 keeps a key quarantined.", ("key",),
)  # fmt: skip
KEY_DISABLED = Spec(
    "scalegate_key_disabled", "gauge", "shared",
    "1 while a key is disabled (by an operator or by quarantine).", ("key",),
)  # fmt: skip
KEY_COOLDOWN = Spec(
    "scalegate_key_cooldown_seconds", "gauge", "shared",
    "Seconds a key must still rest after a retry-after.", ("key",),
)  # fmt: skip
KEYS_USABLE = Spec(
    "scalegate_keys_usable", "gauge", "shared",
    "Keys that can take traffic (enabled, not quarantined, not ejected).",
)  # fmt: skip
KEYS_CONFIGURED = Spec(
    "scalegate_keys_configured", "gauge", "shared", "Keys in the pool.",
)  # fmt: skip
QUEUE_DEPTH = Spec(
    "scalegate_queue_depth", "gauge", "shared",
    "Jobs ready to run, by effective priority (the whole queue).", ("priority",),
)  # fmt: skip
QUEUE_JOBS = Spec(
    "scalegate_queue_jobs", "gauge", "shared",
    "Jobs by state: ready, delayed (waiting to retry), in_flight, dead (dead letters).",
    ("state",),
)  # fmt: skip
JOBS = Spec(
    "scalegate_jobs_total", "counter", "shared",
    "Job events in the whole queue: enqueued, completed, failed, dead, retried, requeued, "
    "reclaimed, released, canceled.",
    ("outcome",),
)  # fmt: skip
JOB_WAIT = Spec(
    "scalegate_job_queue_wait_seconds", "summary", "shared",
    "Time jobs waited in the queue before a worker leased them.",
)  # fmt: skip
JOB_DURATION = Spec(
    "scalegate_job_duration_seconds", "summary", "shared",
    "Time a worker spent on a job attempt, by outcome, over the live worker pools.",
    ("outcome",),
)  # fmt: skip
WORKERS = Spec(
    "scalegate_workers", "gauge", "shared",
    "Worker tasks over every live pool: active (running a job) and idle.", ("state",),
)  # fmt: skip
WORKER_POOLS = Spec(
    "scalegate_worker_pools", "gauge", "shared",
    "Worker pools with a recent heartbeat (serve and worker processes).",
)  # fmt: skip
WORKER_RESTARTS = Spec(
    "scalegate_worker_restarts_total", "counter", "shared",
    "Crashed worker tasks restarted, over the live pools.",
)  # fmt: skip
CACHE_ENTRIES = Spec(
    "scalegate_cache_entries", "gauge", "shared", "Entries held, by cache.", ("kind",),
)  # fmt: skip
CACHE_BYTES = Spec(
    "scalegate_cache_bytes", "gauge", "shared", "Bytes held, by cache.", ("kind",),
)  # fmt: skip
CACHE_EVICTIONS = Spec(
    "scalegate_cache_evictions_total", "counter", "shared",
    "Entries removed, by cache and reason (evicted by the bounds, expired, invalidated).",
    ("kind", "reason"),
)  # fmt: skip
REDIS_UP = Spec(
    "scalegate_redis_up", "gauge", "shared",
    "Shared mode: 1 when Redis answered a PING at the last scrape.",
)  # fmt: skip
HEALTH = Spec(
    "scalegate_health_status", "gauge", "shared",
    "Health per component and overall (component=\"overall\"): 0 ok, 1 degraded, 2 down.",
    ("component",),
)  # fmt: skip
INFO = Spec(
    "scalegate_info", "gauge", "shared",
    "Always 1; labels say the version, the mode and whether the upstream is simulated.",
    ("version", "mode", "simulated"),
)  # fmt: skip

ALL: tuple[Spec, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Spec))
BY_NAME = {s.name: s for s in ALL}

# Health words as gauge values.
STATUS_VALUE = {"ok": 0, "degraded": 1, "down": 2}
BREAKER_VALUE = {"closed": 0, "half_open": 1, "open": 2}


def labels_for(spec: Spec, tenants: bool) -> tuple[str, ...]:
    return (*spec.labels, "tenant") if tenants and spec.tenant else spec.labels
