"""The settings schema: every section of the configuration file as a frozen pydantic model.

The YAML format is a public contract (DESIGN §10): unknown fields are an error naming the
field's path. How a file and the environment become a :class:`Settings` is
:mod:`scalegate.config.load`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from scalegate.priority import Priority

DEFAULT_BASE_URL = "https://api.anthropic.com"


def _yaml_off(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as False; the documented value is the word "off".
    return "off" if value is False else value


CacheMode = Annotated[Literal["off", "exact", "semantic"], BeforeValidator(_yaml_off)]
PriorityName = Literal["critical", "high", "normal", "low"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class KeyLimits(_Model):
    """Per-key limits; ``None`` means the provider imposes none we know of."""

    rpm: int | None = Field(default=None, ge=1)
    rph: int | None = Field(default=None, ge=1)
    rpd: int | None = Field(default=None, ge=1)
    itpm: int | None = Field(default=None, ge=1)
    otpm: int | None = Field(default=None, ge=1)


# The provider's entry tier, applied to keys given only through ANTHROPIC_API_KEYS.
DEFAULT_KEY_LIMITS = KeyLimits(rpm=50, itpm=30_000, otpm=8_000)


class KeyConfig(_Model):
    secret: SecretStr
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    key_class: Literal["shared", "critical"] = Field(default="shared", alias="class")
    weight: float = Field(default=1.0, gt=0)
    models: tuple[str, ...] = ("*",)
    limits: KeyLimits = DEFAULT_KEY_LIMITS
    # Keys of one organisation share its limits: give them one group name, and list the
    # organisation's limits on each; the pool gives each key an equal share, so one budget
    # is never counted twice (the limits the provider reports are shared the same way).
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @field_validator("secret")
    @classmethod
    def _non_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("secret must not be empty (is the ${VAR} it names set?)")
        return value


class UpstreamConfig(_Model):
    base_url: str = DEFAULT_BASE_URL
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=600.0, gt=0)
    # A stream's opening events (message_start, ping) are held until content begins, so that
    # a stream the provider fails before content is retried on another key; held at most
    # this long (a long time to first token), so that a client or load balancer in front
    # never waits on a silent connection (nginx and cloud balancers cut at 60 s idle).
    stream_hold_seconds: float = Field(default=10.0, ge=0)
    # Upstream calls in flight per process (one connection each). Sized for LLM traffic:
    # thousands of answers streaming for tens of seconds each (docs/deployment.md).
    max_connections: int = Field(default=20_000, ge=1)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Production guard: refuse to start without keys instead of serving the simulator.
    require_keys: bool = False

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")


class PriorityWaits(_Model):
    """Seconds a request of each priority may wait for a key before it is refused."""

    critical: float = Field(default=30.0, ge=0)
    high: float = Field(default=15.0, ge=0)
    normal: float = Field(default=5.0, ge=0)
    low: float = Field(default=1.0, ge=0)


class AdmissionConfig(_Model):
    max_wait_seconds: PriorityWaits = PriorityWaits()
    max_waiters: int = Field(default=10_000, ge=1)
    selection: Literal["least_utilized", "round_robin"] = "least_utilized"
    # Refill held back from each minute bucket to cover jitter between the gateway's
    # reservation and the provider's own deduction one network hop later.
    skew_seconds: float = Field(default=0.1, ge=0, le=5)
    # Output tokens reserved per request (docs/provider-quotas.md): "max_tokens" — as the
    # provider documents its own estimate (bounded by the key's OTPM, so a large max_tokens
    # is never refused for it), adjusted to the real count at the end; "learned" — what the
    # model's answers use (at least output_floor_tokens), for an organisation whose OTPM is
    # known not to be pre-charged (else the provider's headers charge the difference).
    output_reservation: Literal["max_tokens", "learned"] = "max_tokens"
    output_floor_tokens: int = Field(default=1024, ge=1)

    def wait_for(self, priority: Priority) -> float:
        seconds: float = getattr(self.max_wait_seconds, priority.label)
        return seconds


class RetryConfig(_Model):
    max_attempts: int = Field(default=8, ge=1, le=8)
    base_seconds: float = Field(default=0.5, ge=0)
    cap_seconds: float = Field(default=30.0, ge=0)


class BreakerConfig(_Model):
    """Outlier ejection per key (the ``breaker:`` section; :mod:`scalegate.keys.outliers`).

    A key is ejected when, over ``window_seconds`` and with at least ``min_requests``
    outcomes, its failure rate (5xx and connection errors; 429/529 are not failures) is at
    least ``failure_rate`` and exceeds the other keys' median by ``failure_rate_margin``;
    never more than ``max_ejection_percent`` of the keys at once (one always stays).
    """

    # Failure rate a key must reach before it can be ejected (absolute floor).
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    # ...and by how much it must exceed the median of the other keys (key-specific evidence).
    failure_rate_margin: float = Field(default=0.3, ge=0, le=1)
    window_seconds: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=20, ge=1)
    max_ejection_percent: float = Field(default=50.0, ge=0, le=100)
    base_ejection_seconds: float = Field(default=30.0, gt=0)  # × the number of ejections
    max_ejection_seconds: float = Field(default=300.0, gt=0)
    probes: int = Field(default=3, ge=1)  # requests let through at once after an ejection
    # Median failure rate (529s included) across keys at which health says "provider degraded".
    degraded_failure_rate: float = Field(default=0.1, gt=0, le=1)
    # Settings of the former store-level circuit breaker, accepted so existing files keep
    # loading; the key stores' breaker is no longer fed failures, so they change nothing.
    consecutive_failures: int = Field(default=5, ge=1)
    cooldown_seconds: float = Field(default=30.0, gt=0)


class ExactCacheConfig(_Model):
    enabled: bool = True
    ttl_seconds: float = Field(default=3600, gt=0)
    max_entries: int = Field(default=10_000, ge=1)
    max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    # Identical non-streaming misses in one process wait (up to this long) for the first
    # one's answer instead of all asking the provider; 0 turns that off.
    coalesce_wait_seconds: float = Field(default=30, ge=0)


class SemanticCacheConfig(_Model):
    enabled: bool = False
    embedder: str = "minilm"
    threshold: float = Field(default=0.85, gt=0, le=1)  # the verifier judges (cache/verify)


class CacheConfig(_Model):
    mode: CacheMode = "off"
    exact: ExactCacheConfig = ExactCacheConfig()
    semantic: SemanticCacheConfig = SemanticCacheConfig()


class QueueConfig(_Model):
    """The job queue and its workers (DESIGN §8); see :mod:`scalegate.jobs`."""

    max_attempts: int = Field(default=3, ge=1)
    worker_concurrency: int = Field(default=5, ge=0)
    min_concurrency: int = Field(default=1, ge=0)
    max_concurrency: int = Field(default=20, ge=1)
    aging_seconds: float = Field(default=60, gt=0)
    auto_restart: bool = True
    # Run a worker pool inside `scalegate serve` (always so without REDIS_URL, where the
    # queue lives in that process; with Redis, `scalegate worker` processes may do it alone).
    embedded_workers: bool = True
    visibility_timeout_seconds: float = Field(default=30, gt=0)  # a lease; renewed at 1/3
    job_wait_seconds: float = Field(default=300, ge=0)  # admission wait for a key, per attempt
    job_timeout_seconds: float = Field(default=600, gt=0)  # one attempt, admission included
    retry_base_seconds: float = Field(default=1.0, ge=0)  # full jitter between attempts
    retry_cap_seconds: float = Field(default=60.0, ge=0)
    retention_seconds: float = Field(default=7 * 86400, gt=0)  # finished jobs and batches
    shutdown_grace_seconds: float = Field(default=25, ge=0)  # finish held jobs, then release
    scale_interval_seconds: float = Field(default=1.0, gt=0)
    lease_batch: int = Field(default=32, ge=1, le=1000)
    callback_secret: SecretStr | None = None  # HMAC-SHA256 key for callback signatures
    callback_allow_private: bool = False  # allow loopback/private/link-local callback targets
    callback_max_attempts: int = Field(default=5, ge=1, le=20)
    callback_timeout_seconds: float = Field(default=10, gt=0)
    batch_max_body_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    batch_max_requests: int = Field(default=100_000, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> QueueConfig:
        if self.min_concurrency > self.max_concurrency:
            raise ValueError("min_concurrency must not exceed max_concurrency")
        return self


class TenantLimits(_Model):
    rpm: int | None = Field(default=None, ge=1)
    rpd: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    tpd: int | None = Field(default=None, ge=1)


class TenantConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    keys: tuple[SecretStr, ...]
    tier: str = "standard"
    priority: PriorityName = "normal"
    max_priority: PriorityName = "high"
    cache_mode: CacheMode | None = None
    limits: TenantLimits = TenantLimits()
    monthly_budget_usd: float | None = Field(default=None, ge=0)
    models: tuple[str, ...] = ("*",)  # glob patterns (or aliases) the tenant may use


class ServerConfig(_Model):
    """The HTTP server's limits (docs/security.md says which layer enforces each)."""

    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    graceful_shutdown_seconds: float = Field(default=30, ge=0)
    public_url: str | None = None
    # Request line and headers, together; larger → 431.
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    # Nesting of arrays and objects in a JSON body; deeper → 400. The ceiling keeps every
    # re-encoding of a body (jobs, translation, cache keys) under orjson's own limit (255).
    max_json_depth: int = Field(default=128, ge=16, le=200)
    # A connection's request head must arrive within this (408, or a quiet close when
    # nothing was sent at all).
    header_timeout_seconds: float = Field(default=10, gt=0)
    # A body must arrive within this plus 1 s per body_min_bytes_per_second received (408).
    body_timeout_seconds: float = Field(default=30, gt=0)
    body_min_bytes_per_second: float = Field(default=64 * 1024, gt=0)
    # An idle kept-alive connection stays open this long: longer than the idle reuse of
    # common client pools (aiohttp 15 s, Node 5 s, Go 90 s), so a client never sends on a
    # connection the gateway is closing at that moment (docs/configuration.md).
    keep_alive_seconds: int = Field(default=120, ge=1)
    # Streamed answers open at once per process; beyond a priority's share of it (LOW 80 %,
    # NORMAL 90 %, HIGH 97 %) new ones get 529 (scalegate.capacity). Bytes per open stream
    # are measured in docs/deployment.md.
    max_open_streams: int = Field(default=10_000, ge=1)
    # Behind a TLS-terminating proxy the gateway sees http: trust its x-forwarded-proto
    # (only when the proxy sets it and clients cannot) to mark the dashboard cookie Secure.
    trust_forwarded_proto: bool = False
    admin_session_seconds: int = Field(default=12 * 3600, ge=60)
    # Failed dashboard logins per client address within the window; more → 429.
    admin_login_max_failures: int = Field(default=10, ge=1)
    admin_login_window_seconds: float = Field(default=300, gt=0)


class ModelPrice(_Model):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float | None = Field(default=None, ge=0)  # default: 10 % of input
    cache_write: float | None = Field(default=None, ge=0)  # default: 125 % of input


# List prices per million tokens by model family; override or extend with `prices:`.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-5*": ModelPrice(input=5, output=25),
    "claude-opus-4-6*": ModelPrice(input=5, output=25),
    "claude-opus-*": ModelPrice(input=15, output=75),
    "claude-sonnet-*": ModelPrice(input=3, output=15),
    "claude-haiku-*": ModelPrice(input=1, output=5),
}


class ModelsConfig(_Model):
    """Aliases with fallbacks: ``claude-fast: [claude-haiku-4-5, claude-sonnet-4-6]`` — the
    next model is tried when one is saturated or failing."""

    aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("aliases")
    @classmethod
    def _non_empty(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, targets in value.items():
            if not targets:
                raise ValueError(f"alias {name!r} names no model")
        return value


class SharedConfig(_Model):
    """Shared mode (``REDIS_URL`` set): what to do while Redis is unreachable."""

    # The key pool's policy, and every subsystem's unless it names its own below.
    on_redis_failure: Literal["fail_closed", "fail_open"] = "fail_closed"
    # Per subsystem (scalegate.state.outage): tenant limits and budgets close (529) or open
    # (admitted without them); caches always bypass; the job queue always refuses new work
    # with 529 and its workers pause; the key registry keeps the last list it read.
    tenants_on_failure: Literal["fail_closed", "fail_open"] | None = None
    # Replicas sharing the keys, for fail-open's local share (limit / replicas). Unset: the
    # number of replicas last seen alive through their Redis heartbeats.
    replicas: int | None = Field(default=None, ge=1)
    retry_after_seconds: float = Field(default=5.0, gt=0)
    # Shared mode needs Redis to start: wait this long for it, then exit with an error.
    startup_wait_seconds: float = Field(default=30.0, ge=0)


class MonitoringConfig(_Model):
    """Metrics, the dashboard and the access log (see docs/observability.md)."""

    # One structured log line per request (request id, traceparent, status, key, …): for
    # every request, only for failed or retried ones, or none.
    access_log: Literal["all", "errors", "off"] = "errors"
    sample_seconds: float = Field(default=2.0, gt=0)  # dashboard history and forecast
    history_points: int = Field(default=900, ge=2)  # 30 minutes at the default interval
    forecast_window_seconds: float = Field(default=120.0, gt=0)  # rate of use over this


class AlertsConfig(_Model):
    """Quota alerts (70/85/95 % of a key limit) to a webhook, besides metrics and the log."""

    webhook_url: str | None = None
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_retry_base_seconds: float = Field(default=1.0, ge=0)
    webhook_queue_size: int = Field(default=1000, ge=1)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("webhook_url must be an http(s) URL")
        return value


class DemoConfig(_Model):
    """The simulated provider used when no upstream key is configured (``make run``)."""

    keys: int = Field(default=3, ge=1, le=100)
    limits: KeyLimits = KeyLimits(rpm=60, itpm=40_000, otpm=8_000)
    ttft_ms: float = Field(default=250, ge=0)
    tokens_per_second: float = Field(default=150, ge=0)


class Settings(_Model):
    """Everything the gateway is configured with; built once, frozen, passed down."""

    upstream: UpstreamConfig = UpstreamConfig()
    keys: tuple[KeyConfig, ...] = ()
    admission: AdmissionConfig = AdmissionConfig()
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    cache: CacheConfig = CacheConfig()
    queue: QueueConfig = QueueConfig()
    tenants: tuple[TenantConfig, ...] = ()
    server: ServerConfig = ServerConfig()
    shared: SharedConfig = SharedConfig()
    models: ModelsConfig = ModelsConfig()
    # USD per million tokens by model glob, first match wins; merged over DEFAULT_PRICES.
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    demo: DemoConfig = DemoConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    alerts: AlertsConfig = AlertsConfig()
    redis_url: str | None = None
    admin_token: SecretStr | None = None
    metrics_enabled: bool = True
    health_check_interval: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _unique_key_names(self) -> Settings:
        names = [k.name for k in self.keys if k.name]
        if len(names) != len(set(names)):
            raise ValueError("key names must be unique")
        return self

    @model_validator(mode="after")
    def _keys_if_required(self) -> Settings:
        if self.upstream.require_keys and not self.keys:
            raise ValueError(
                "no upstream API keys are configured and upstream.require_keys is set "
                "(SCALEGATE_REQUIRE_KEYS): set ANTHROPIC_API_KEYS or keys: in the file"
            )
        return self

    @property
    def simulated(self) -> bool:
        """True when no upstream key is configured: the built-in simulator serves."""
        return not self.keys
