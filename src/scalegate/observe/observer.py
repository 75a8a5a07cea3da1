"""The gateway's observer: its metrics, health, dashboard data and quota-alert webhook.

:class:`Observer` is created with the :class:`~scalegate.gateway.Gateway` (``gw.observer``)
and started once the gateway's parts exist. The request path reports to it through what the
gateway hands each part at construction (the routes' and the pipeline's sink, the pool's
admission-wait callback, the alert tracker's listeners); it owns the Prometheus registry,
and runs two small background tasks: a sampler every ``monitoring.sample_seconds``
(the dashboard's history and the exhaustion forecast; it starts with the first reader) and,
with several processes, the publisher of this process's counters
(:mod:`scalegate.observe.multiprocess`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from scalegate.config import Settings
from scalegate.keys.alerts import QuotaAlert
from scalegate.observe import multiprocess
from scalegate.observe.alerts import WebhookSender
from scalegate.observe.collect import StateCollector, shared_values
from scalegate.observe.dashboard import History, Index, Point, document
from scalegate.observe.forecast import Forecaster
from scalegate.observe.health import HealthJudge
from scalegate.observe.recorder import Recorder
from scalegate.observe.state import State, gather
from scalegate.pricing import PriceTable

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

logger = logging.getLogger(__name__)

RECENT_ALERTS = 20


class Observer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        conf = settings.monitoring
        self.multiprocess = multiprocess.enabled()
        # One process: the registry a scrape reads (the state collector, the process
        # collector). Several: the publisher's prometheus_client objects, which write to the
        # multiprocess files; a scrape reads the files instead.
        self._own = CollectorRegistry(auto_describe=False)
        self.recorder = Recorder(
            tenants=bool(settings.tenants),
            prices=PriceTable(settings.prices),
            access=conf.access_log,
            enabled=settings.metrics_enabled,
        )
        self.forecaster = Forecaster(conf.forecast_window_seconds)
        self.judge = HealthJudge()
        self.history = History(conf.history_points)
        self.webhook = WebhookSender(settings.alerts) if settings.alerts.webhook_url else None
        self.registry = self._own
        self._gw: Gateway | None = None
        self._collector: StateCollector | None = None
        self._publisher: multiprocess.Publisher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sampling = True  # not before start()

    def alert_listeners(self) -> list[Callable[[QuotaAlert], None]]:
        """Who hears quota alerts (given to the key pool's tracker at construction):
        the metrics, and the webhook when one is configured."""
        out: list[Callable[[QuotaAlert], None]] = []
        if self.recorder.enabled:
            out.append(self.recorder.quota_alert)
        if self.webhook is not None:
            out.append(self.webhook.offer)
        return out

    @property
    def sink(self) -> Recorder:
        """What the pipeline and the key pool report to, passed to them at construction
        (usage and stream cuts: :class:`~scalegate.pipeline.PipelineSink`; admission
        waits: the pool's ``on_wait``)."""
        return self.recorder

    @property
    def gw(self) -> Gateway:
        assert self._gw is not None, "Observer.start() was not called"
        return self._gw

    async def start(self, gw: Gateway) -> None:
        self._gw = gw
        collector = StateCollector(gw, self.recorder, local=not self.multiprocess)
        self._collector = collector
        if self.multiprocess:
            self.registry = multiprocess.scrape_registry(os.environ[multiprocess.ENV])
            self._publisher = multiprocess.Publisher(self._own, bool(self.settings.tenants))
            self._tasks.append(asyncio.create_task(self._publish_loop(), name="metrics-publish"))
        else:
            ProcessCollector(registry=self._own)
        self.registry.register(collector)
        if self.webhook is not None:
            await self.webhook.start()
        collector.ready = True
        self._sampling = False

    async def stop(self) -> None:
        self._sampling = True  # a late reader must not start a sampler now
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._publisher is not None and self._gw is not None:
            self._publisher.publish(self._gw)  # the last second's counts too
        if self.webhook is not None:
            await self.webhook.close()

    # -- reading ----------------------------------------------------------------------------

    async def refresh(self) -> tuple[State, dict[str, Any]]:
        """Read the gateway's state once; feed the forecast; return it with the health."""
        gw = self.gw
        if not self._sampling:
            # Sampling starts with the first reader (a probe, a scrape, the page): a process
            # nobody reads, such as `scalegate worker`, never samples.
            self._sampling = True
            self._tasks.append(asyncio.create_task(self._sample_loop(), name="metrics-sample"))
        state = await gather(gw)
        now = state.at
        for k in state.keys:
            for limit, u in k["limits"].items():
                self.forecaster.observe(k["key"], limit, u["used"], u["limit"], now)
        health = self.judge.report(gw, state)
        assert self._collector is not None
        self._collector.shared = shared_values(gw, state, health, self.forecaster)
        if self._publisher is not None:
            self._publisher.publish(gw)
            multiprocess.reap_dead(os.environ[multiprocess.ENV])
        return state, health

    async def health(self) -> dict[str, Any]:
        return (await self.refresh())[1]

    async def prometheus(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)

    async def json_metrics(self) -> dict[str, Any]:
        """The scrape as JSON: ``{name: {type, help, samples: [{name, labels, value}]}}``."""
        await self.refresh()
        out: dict[str, Any] = {}
        for family in self.registry.collect():
            out[family.name] = {
                "type": family.type,
                "help": family.documentation,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": _json_number(s.value)}
                    for s in family.samples
                ],
            }
        return out

    async def dashboard(self) -> dict[str, Any]:
        state, health = await self.refresh()
        index = Index(self.registry)
        alerts = [a.as_dict() for a in list(self.gw.pool.alerts.recent)[-RECENT_ALERTS:]][::-1]
        return document(self.gw, index, state, health, self.forecaster, self.history, alerts)

    # -- background -------------------------------------------------------------------------

    async def _sample_loop(self) -> None:
        interval = self.settings.monitoring.sample_seconds
        while True:
            try:
                state, _ = await self.refresh()
                self.history.add(Point.of(Index(self.registry), state.at))
                self.forecaster.forget({k["key"] for k in state.keys})
            except Exception:
                logger.warning("monitoring sample failed", exc_info=True)
            await asyncio.sleep(interval)

    async def _publish_loop(self) -> None:
        assert self._publisher is not None
        while True:
            await asyncio.sleep(multiprocess.PUBLISH_SECONDS)
            try:
                self._publisher.publish(self.gw)
            except Exception:
                logger.warning("publishing metrics to the multiprocess files failed", exc_info=True)


def _json_number(value: float) -> float | str:
    if value != value or value in (float("inf"), float("-inf")):  # NaN, ±Inf: not JSON
        return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    return value
