"""What is recorded on the request path: one call per request, kept cheap.

Every counted route is given the recorder at construction (as a
:class:`~scalegate.routes.common.RequestSink`) and makes one :meth:`Recorder.request` call per
request, with its status and the moment the response began. Tokens and cost come from the
pipeline's usage hook, admission waits from the pool's wait hook (only requests that
queued), quota alerts from the alert tracker's listener. One structured access-log line per
request (all, or only the failed and retried ones: ``monitoring.access_log``) carries the
request id and the ``traceparent``.

The values are plain Python numbers and bucket lists (:class:`Hist`), not prometheus_client
objects: an observation is a ``bisect`` and two additions, with no lock (everything runs on
the event loop's thread), about a fifth of what a prometheus_client histogram costs. A scrape
turns them into metric families (:meth:`Recorder.families`); with several processes the
publisher copies them into the multiprocess files (:mod:`scalegate.observe.multiprocess`).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from starlette.types import Scope

from scalegate.observe import metrics as m
from scalegate.pricing import PriceTable

if TYPE_CHECKING:
    from scalegate.call import CallContext
    from scalegate.keys.alerts import QuotaAlert
    from scalegate.priority import Priority
    from scalegate.routes.common import Inbound

access_log = logging.getLogger("scalegate.access")


# Path prefixes of the counted routes (the first match wins).
_ROUTE_OF = (
    ("/v1/messages/batches", "batches"),
    ("/v1/messages/count_tokens", "count_tokens"),
    ("/v1/messages", "messages"),
    ("/v1/chat/completions", "chat_completions"),
    ("/v1/responses", "responses"),
    ("/v1/models", "models"),
    ("/v1/jobs", "jobs"),
)
_TOKEN_FIELDS = (
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_read_input_tokens", "cache_read"),
    ("cache_creation_input_tokens", "cache_write"),
)
_FIELD_NAMES = tuple(field for field, _ in _TOKEN_FIELDS)
PATH_SPECS = tuple(s for s in m.ALL if s.source == "path")

Labels = tuple[str, ...]


class Hist:
    """One histogram series: a count per bucket (the last one is +Inf) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, total = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(total)))
        return out


class Recorder:
    """The path metrics of one gateway (nothing is recorded when metrics are off)."""

    def __init__(
        self,
        *,
        tenants: bool,
        prices: PriceTable,
        access: str = "errors",
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.tenants = tenants
        self.prices = prices
        self.access = access
        # spec → labels → a number (counters) or a Hist (histograms)
        self.values: dict[m.Spec, dict[Labels, Any]] = {s: {} for s in PATH_SPECS}
        self._requests = self.values[m.REQUESTS]
        self._tokens = self.values[m.TOKENS]
        self._cost = self.values[m.COST]
        # Per route: its (duration, upstream, overhead, ttft) series, made on first use.
        self._route: dict[str, tuple[Hist, Hist, Hist, Hist]] = {}
        self._models: dict[str, str] = {}
        # Per (model, tenant): [input, output, cache_read, cache_write] and the model's label
        # tail. Tokens and cost are folded from these when read (:meth:`fold`): the request
        # path does four additions, not a price lookup and four label tuples.
        self._usage: dict[tuple[str, str | None], tuple[list[int], Labels]] = {}
        self.stream_cuts = 0

    # -- requests ---------------------------------------------------------------------------

    def request(
        self,
        route: str,
        status: int,
        started: float,
        responded: float,
        inb: Inbound | None,
        scope: Scope | None = None,
    ) -> None:
        """One finished request (``responded``: when its response started, or 0)."""
        end = time.perf_counter()
        ctx = inb.ctx if inb is not None else None
        if inb is not None:
            started = inb.started
        if self.enabled:
            code = str(status) if status else "499"
            slot = (route, code, inb.tenant or "none") if (self.tenants and inb) else (route, code)
            self._requests[slot] = self._requests.get(slot, 0) + 1
            series = self._route.get(route) or self._series(route)
            series[0].observe(end - started)
            head = (responded or end) - started
            if ctx is not None and ctx.attempts:
                series[1].observe(ctx.upstream_seconds)
                series[2].observe(max(0.0, head - ctx.upstream_seconds - ctx.waited))
                if ctx.first_token is not None:
                    series[3].observe(max(0.0, ctx.first_token - started))
            else:  # answered by the gateway alone: a cache hit, an error before admission
                series[2].observe(head)
        if self.access == "all" or (
            self.access == "errors"
            and (status >= 400 or status == 0 or (ctx is not None and ctx.retries))
        ):
            self._log(route, status, end - started, inb, ctx, scope)

    def _series(self, route: str) -> tuple[Hist, Hist, Hist, Hist]:
        def hist(spec: m.Spec) -> Hist:
            made: Hist = self.values[spec].setdefault((route,), Hist(spec.buckets))
            return made

        series = (hist(m.REQUEST_DURATION), hist(m.UPSTREAM_DURATION), hist(m.OVERHEAD),
                  hist(m.TTFT))  # fmt: skip
        self._route[route] = series
        return series

    @staticmethod
    def _log(
        route: str,
        status: int,
        seconds: float,
        inb: Inbound | None,
        ctx: CallContext | None,
        scope: Scope | None,
    ) -> None:
        """One line a stranger can read: what was asked, what came back and why, by whom,
        through which key, how long the gateway and the provider took. Never a secret or a
        body (the error message is the gateway's or the provider's, not the request's)."""
        if not access_log.isEnabledFor(logging.INFO):
            return
        status = status or 499
        extra: dict[str, Any] = {"event": "request", "route": route, "status": status}
        target = route
        if scope is not None:
            query = _redacted(scope.get("query_string", b"").decode("latin-1"))
            target = scope.get("path", "") + (f"?{query}" if query else "")
            extra.update(method=scope.get("method", ""), path=target)
            target = f"{scope.get('method', '')} {target}"
        extra["duration_ms"] = round(seconds * 1000, 3)
        words = [target, str(status)]
        if inb is not None:
            extra["request_id"] = inb.request_id
            extra["traceparent"] = inb.headers.get("traceparent")
            extra["priority"] = inb.priority.label
            extra["cache"] = inb.cache
            extra["user_agent"] = inb.headers.get("user-agent", "")[:200]
            if inb.tenant is not None:
                extra["tenant"] = inb.tenant
            if inb.error is not None:
                extra["error_type"], extra["error"] = inb.error
                words += [inb.error[0], repr(inb.error[1])]
        words.append(f"in {seconds * 1000:.1f} ms")
        if ctx is not None:
            upstream = round(ctx.upstream_seconds * 1000, 3)
            extra.update(attempts=ctx.attempts, key=ctx.key, retries=list(ctx.retries))
            extra["queue_ms"] = round(ctx.waited * 1000, 3)
            extra["upstream_ms"] = upstream
            extra["gateway_ms"] = round(
                max(0.0, seconds - ctx.upstream_seconds - ctx.waited) * 1000, 3
            )
            if ctx.model:
                extra["model"] = ctx.model
            words.append(f"(upstream {upstream:.1f} ms, {ctx.attempts} attempt(s))")
        if inb is not None:
            words.append(f"req={inb.request_id}")
            if inb.tenant is not None:
                words.append(f"tenant={inb.tenant}")
            if ctx is not None and ctx.key:
                words.append(f"key={ctx.key}")
            words += [f"priority={inb.priority.label}", f"cache={inb.cache}"]
            if extra["user_agent"]:
                words.append(f"ua={extra['user_agent']!r}")
        access_log.info("%s", " ".join(words), extra=extra)

    # -- hooks ------------------------------------------------------------------------------

    def usage(self, model: str, usage: Mapping[str, Any], ctx: CallContext | None) -> None:
        """Tokens of one answer (the pipeline's usage sink); cost follows from them."""
        if not self.enabled:
            return
        tenant = (ctx.tenant if ctx is not None else None) if self.tenants else None
        entry = self._usage.get((model, tenant))
        if entry is None:
            entry = self._new_usage(model, tenant)
        counts = entry[0]
        counts[0] += usage.get("input_tokens") or 0
        counts[1] += usage.get("output_tokens") or 0
        counts[2] += usage.get("cache_read_input_tokens") or 0
        counts[3] += usage.get("cache_creation_input_tokens") or 0

    def _new_usage(self, model: str, tenant: str | None) -> tuple[list[int], Labels]:
        label = self._models.get(model)
        if label is None:
            label = model if len(self._models) < m.MAX_MODELS else "other"
            self._models[model] = label
        tail: Labels = (label, tenant or "none") if self.tenants else (label,)
        entry = self._usage[(model, tenant)] = ([0, 0, 0, 0], tail)
        return entry

    def fold(self) -> None:
        """Bring the token and cost counters up to date (before they are read)."""
        tokens: dict[Labels, Any] = {}
        cost: dict[Labels, Any] = {}
        for (model, _), (counts, tail) in list(self._usage.items()):
            for (_, direction), count in zip(_TOKEN_FIELDS, counts, strict=True):
                if count:
                    slot = (direction, *tail)
                    tokens[slot] = tokens.get(slot, 0) + count
            usd = self.prices.cost_usd(model, dict(zip(_FIELD_NAMES, counts, strict=True)))
            if usd:
                cost[tail] = cost.get(tail, 0.0) + usd
        self._tokens.clear()
        self._tokens.update(tokens)
        self._cost.clear()
        self._cost.update(cost)

    def stream_cut(self, ctx: CallContext) -> None:
        """A provider stream broke off after content reached the client (counted always)."""
        self.stream_cuts += 1

    def admission_wait(self, priority: Priority, seconds: float, admitted: bool) -> None:
        if not self.enabled:
            return
        slot = (priority.label, "admitted" if admitted else "refused")
        series = self.values[m.ADMISSION_WAIT]
        hist = series.get(slot)
        if hist is None:
            hist = series[slot] = Hist(m.ADMISSION_WAIT.buckets)
        hist.observe(seconds)

    def quota_alert(self, alert: QuotaAlert) -> None:
        series = self.values[m.QUOTA_ALERTS]
        slot = (alert.key, alert.limit, f"{alert.threshold:g}")
        series[slot] = series.get(slot, 0) + 1

    # -- scrape -----------------------------------------------------------------------------

    def families(self) -> Iterator[Metric]:
        """The recorded values as prometheus_client metric families."""
        self.fold()
        for spec, series in self.values.items():
            labels = m.labels_for(spec, self.tenants)
            if spec.kind == "counter":
                family: Any = CounterMetricFamily(spec.base, spec.help, labels=labels)
                for slot, number in list(series.items()):
                    family.add_metric(list(slot), number)
            else:
                family = HistogramMetricFamily(spec.name, spec.help, labels=labels)
                for slot, hist in list(series.items()):
                    family.add_metric(list(slot), hist.cumulative(), sum_value=hist.sum)
            yield family


def route_label(path: str) -> str | None:
    for prefix, label in _ROUTE_OF:
        if path.startswith(prefix):
            return label
    return None


_SECRET_PARAM = ("key", "token", "secret", "auth", "password", "signature")


def _redacted(query: str) -> str:
    """The query string with the values of anything that looks like a credential hidden."""
    if not query or "=" not in query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        secret = sep and any(word in name.lower() for word in _SECRET_PARAM)
        parts.append(f"{name}=***" if secret else part)
    return "&".join(parts)
