"""Quota alerts to a webhook: POSTed in the background, retried, never blocking a request.

The key pool's :class:`~scalegate.keys.alerts.AlertTracker` calls :meth:`WebhookSender.offer`
from the request path when a limit crosses 70, 85 or 95 %; ``offer`` only puts the alert on a
bounded queue (``alerts.webhook_queue_size``; when full, the alert is dropped and counted).
One sender task POSTs each alert as JSON — with a ``text`` field, so a Slack-style incoming
webhook shows it as it is — and retries a failure (connection error, timeout, non-2xx) with
exponential backoff and full jitter up to ``alerts.webhook_max_attempts`` attempts. The
webhook URL is configuration only: it is never logged or shown (such URLs often hold a
token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from typing import Any

import aiohttp
import orjson

from scalegate.config import AlertsConfig
from scalegate.keys.alerts import QuotaAlert
from scalegate.keys.headers import retry_after_seconds
from scalegate.retry import full_jitter

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


def alert_payload(alert: QuotaAlert) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "quota_alert", **alert.as_dict()}
    doc["gateway"] = socket.gethostname()
    doc["text"] = (
        f"scalegate: key {alert.key} {alert.limit} at {alert.ratio * 100:.0f}% "
        f"(crossed {alert.threshold * 100:.0f}%)"
    )
    return doc


class WebhookSender:
    def __init__(self, config: AlertsConfig, rng: random.Random | None = None) -> None:
        assert config.webhook_url is not None
        self.config = config
        self._url = config.webhook_url
        self._queue: asyncio.Queue[QuotaAlert] = asyncio.Queue(config.webhook_queue_size)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.counts = {"sent": 0, "failed": 0, "dropped": 0}

    def offer(self, alert: QuotaAlert) -> None:
        """Queue an alert for delivery (the tracker's listener; never blocks)."""
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.counts["dropped"] += 1

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.config.webhook_timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run(), name="scalegate-alert-webhook")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            alert = await self._queue.get()
            await self._deliver(alert)

    async def _deliver(self, alert: QuotaAlert) -> None:
        assert self._session is not None
        body = orjson.dumps(alert_payload(alert))
        headers = {"content-type": "application/json", "user-agent": "scalegate-alerts"}
        for attempt in range(1, self.config.webhook_max_attempts + 1):
            why = ""
            try:
                async with self._session.post(self._url, data=body, headers=headers) as resp:
                    await resp.read()
                    retry_after = min(retry_after_seconds(resp.headers) or 0.0, MAX_BACKOFF_SECONDS)
                    if 200 <= resp.status < 300:
                        self.counts["sent"] += 1
                        return
                    why = f"answered {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                why, retry_after = type(exc).__name__, None
            if attempt < self.config.webhook_max_attempts:
                base = self.config.webhook_retry_base_seconds * 2  # the first wait: 2 × base
                delay = full_jitter(attempt, base, MAX_BACKOFF_SECONDS, self._rng, retry_after)
                await asyncio.sleep(delay)
        self.counts["failed"] += 1
        logger.warning(
            "quota alert webhook failed after %d attempts (%s); alert for key %s %s dropped",
            self.config.webhook_max_attempts,
            why,
            alert.key,
            alert.limit,
            extra={"event": "alert_webhook_failed", "key": alert.key, "limit": alert.limit},
        )
