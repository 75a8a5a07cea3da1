"""Observability: Prometheus metrics, health, the dashboard's data and page, quota alerts.

* :mod:`~scalegate.observe.metrics` — every metric, defined once.
* :mod:`~scalegate.observe.recorder` — what is recorded on the request path.
* :mod:`~scalegate.observe.state`, :mod:`~scalegate.observe.collect` — what is read at
  scrape time; :mod:`~scalegate.observe.multiprocess` — ``serve --workers N``.
* :mod:`~scalegate.observe.health` — the health document; :mod:`~scalegate.observe.forecast`
  — when each key limit runs out; :mod:`~scalegate.observe.alerts` — the alert webhook.
* :mod:`~scalegate.observe.dashboard` — the dashboard's JSON; ``static/`` — its page.
* :class:`~scalegate.observe.observer.Observer` — all of it for one gateway (``gw.observer``).
"""

from __future__ import annotations

__all__ = ["Observer"]

from scalegate.observe.observer import Observer
