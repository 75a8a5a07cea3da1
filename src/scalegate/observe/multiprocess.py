"""Metrics when several processes serve one port (``scalegate serve --workers N``).

A scrape reaches one of the processes, but the request counters and latencies of all of them
must be in the answer. prometheus_client's multiprocess mode does that: with
``PROMETHEUS_MULTIPROC_DIR`` set before the processes start, every metric value lives in a
small memory-mapped file per process, and :class:`~prometheus_client.multiprocess.
MultiProcessCollector` adds them up at scrape time (counters and histograms summed; gauges as
each metric's ``mp_gauge`` says). ``scalegate serve --workers N`` creates that directory
(:func:`prepared_dir`) unless one is given, and empties it at start.

* ``path`` metrics need nothing more: their prometheus_client objects write to the files.
* ``local`` metrics (plain counters in the subsystems) are copied into the files by a
  :class:`Publisher` once a second: counters by their increase, gauges by their value.
* ``shared`` metrics are read by whichever process answers the scrape, from the shared state
  (Redis) that is the same for all; they are never summed.

A process that exits leaves its counters in the files (totals must not drop) and its live
gauges are removed (:func:`reap_dead`) when a scrape notices it is gone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from scalegate.observe import metrics as m
from scalegate.observe.recorder import Hist, Recorder

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

ENV = "PROMETHEUS_MULTIPROC_DIR"
PUBLISH_SECONDS = 1.0
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def enabled() -> bool:
    """Whether prometheus_client writes metric values to the multiprocess files.

    prometheus_client decides when it is first imported, from the environment; both must
    agree (a directory set after that import would be silently ignored).
    """
    active = bool(getattr(values.ValueClass, "_multiprocess", False))
    if active != bool(os.environ.get(ENV)):
        raise RuntimeError(
            f"{ENV} must be set before prometheus_client is imported (it was "
            f"{'unset' if active else 'set'} later); set it in the environment of the process"
        )
    return active


@contextlib.contextmanager
def prepared_dir() -> Iterator[str]:
    """For ``serve --workers N``: a fresh metrics directory in ``PROMETHEUS_MULTIPROC_DIR``.

    A directory the environment names is emptied of old ``*.db`` files (prometheus_client
    requires a clean one per run) and kept; otherwise a temporary one is made and removed
    after the processes exit.
    """
    given = os.environ.get(ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for old in glob.glob(os.path.join(given, "*.db")):
            os.remove(old)
        yield given
        return
    made = tempfile.mkdtemp(prefix="scalegate-metrics-")
    os.environ[ENV] = made
    try:
        yield made
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def reap_dead(path: str) -> None:
    """Remove the live gauges of processes that no longer exist."""
    for name in os.listdir(path):
        found = _LIVE_FILE.search(name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]  # unannotated upstream
        except PermissionError:
            pass  # alive, someone else's


def scrape_registry(path: str) -> CollectorRegistry:
    """A registry that reads every process's files (plus whatever is registered on it)."""
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]  # unannotated upstream
    return registry


class Publisher:
    """Copies this process's ``path`` and ``local`` metrics into the multiprocess files:
    counters by their increase since the last copy, gauges by their value, histograms bucket
    by bucket."""

    def __init__(self, registry: CollectorRegistry, tenants: bool) -> None:
        self._objects: dict[m.Spec, Any] = {}
        for spec in m.ALL:
            labels = m.labels_for(spec, tenants)
            if spec.source == "shared":
                continue
            if spec.kind == "counter":
                obj: Any = Counter(spec.base, spec.help, labels, registry=registry)
            elif spec.kind == "histogram":
                obj = Histogram(
                    spec.name, spec.help, labels, registry=registry, buckets=spec.buckets
                )
            else:
                obj = Gauge(
                    spec.name, spec.help, labels, registry=registry, multiprocess_mode=spec.mp_gauge
                )
            self._objects[spec] = obj
        self._published: dict[tuple[m.Spec, tuple[str, ...]], Any] = {}

    def publish(self, gw: Gateway) -> None:
        from scalegate.observe.collect import local_values

        self.publish_recorder(gw.observer.recorder)
        for spec, samples in local_values(gw).items():
            for labels, value in samples:
                if spec.kind == "counter":
                    self._count(spec, labels, value)
                else:
                    self._child(spec, labels).set(value)

    def publish_recorder(self, recorder: Recorder) -> None:
        recorder.fold()
        for spec, series in recorder.values.items():
            for labels, value in list(series.items()):
                if spec.kind == "counter":
                    self._count(spec, labels, value)
                else:
                    self._histogram(spec, labels, value)

    def _child(self, spec: m.Spec, labels: tuple[str, ...]) -> Any:
        obj = self._objects[spec]
        return obj.labels(*labels) if labels else obj

    def _count(self, spec: m.Spec, labels: tuple[str, ...], value: float) -> None:
        slot = (spec, labels)
        last = self._published.get(slot, 0.0)
        delta = value - last if value >= last else value  # a reset: count anew
        if delta > 0:
            self._child(spec, labels).inc(delta)
        self._published[slot] = value

    def _histogram(self, spec: m.Spec, labels: tuple[str, ...], hist: Hist) -> None:
        slot = (spec, labels)
        last_counts, last_sum = self._published.get(slot, ([0] * len(hist.counts), 0.0))
        child = self._child(spec, labels)
        # prometheus_client keeps a histogram child's per-bucket values and sum in `_buckets`
        # and `_sum` (one multiprocess file slot each) and has no public way to add many
        # observations at once; they are updated here directly, by their increase.
        for i, (now, before) in enumerate(zip(hist.counts, last_counts, strict=True)):
            if now > before:
                child._buckets[i].inc(now - before)
        if hist.sum > last_sum:
            child._sum.inc(hist.sum - last_sum)
        self._published[slot] = (list(hist.counts), hist.sum)
