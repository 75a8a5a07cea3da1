"""Job callbacks: a signed POST of the finished job to its ``callback_url``, retried.

The body is the job document of ``GET /v1/jobs/{id}``. Headers::

    x-scalegate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    x-scalegate-job-id: job_…
    x-scalegate-event: job.completed | job.failed | job.dead

A receiver recomputes the HMAC over the raw body with the shared ``queue.callback_secret``
(:func:`verify_signature` does it) and rejects old timestamps to stop replays.

SSRF guard: a callback may not reach loopback, private, link-local, shared, multicast,
reserved or unspecified addresses unless ``queue.callback_allow_private`` is set. The URL is
checked when the job is created and again when delivering — by the connector's resolver,
so every address actually connected to is checked (a DNS answer that changes in between
cannot smuggle a private address in). Redirects are not followed.

Delivery: up to ``queue.callback_max_attempts`` attempts with full-jitter backoff; a 2xx
ends it, as does a 4xx other than 408/429 (the receiver refuses). The outcome is written to
the job (``callback_status``). Delivery happens after the job's result is stored: a worker
killed in between loses that callback (the job itself is safe and can be polled).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import random
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from scalegate.clock import Clock, SystemClock
from scalegate.config import QueueConfig
from scalegate.errors import InvalidRequestError
from scalegate.keys.headers import retry_after_seconds
from scalegate.retry import full_jitter

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-scalegate-signature"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float, tolerance: float = 300
) -> bool:
    """Check a callback's signature header (constant time) and its age."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(given, expected)


def address_allowed(host: str, allow_private: bool) -> bool:
    """Whether a literal IP address may receive callbacks."""
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


async def check_callback_url(url: str, allow_private: bool) -> None:
    """Refuse a callback URL that is malformed or resolves to a forbidden address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError("callback_url: must be an absolute http(s) URL")
    if len(url) > 2048:
        raise InvalidRequestError("callback_url: longer than 2048 characters")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError:
        raise InvalidRequestError(f"callback_url: cannot resolve {parts.hostname!r}") from None
    for info in infos:
        if not address_allowed(str(info[4][0]), allow_private):
            raise InvalidRequestError(
                f"callback_url: {parts.hostname} resolves to a loopback, private or otherwise "
                "non-public address; allow it with queue.callback_allow_private"
            )


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses forbidden addresses at connection time."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if address_allowed(r["host"], self.allow_private)]
        if not allowed:
            raise OSError(f"callback host {host} resolves only to forbidden addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class CallbackSender:
    """Delivers callbacks in background tasks it owns (awaited or canceled on close)."""

    def __init__(
        self,
        config: QueueConfig,
        annotate: Any,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._annotate = annotate  # async (job_id, {"callback_status": …}) -> None
        self.clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.counts = {"delivered": 0, "failed": 0, "attempts": 0}

    @property
    def secret(self) -> bytes:
        assert self.config.callback_secret is not None
        return self.config.callback_secret.get_secret_value().encode()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.config.callback_allow_private), limit=100
        )
        timeout = aiohttp.ClientTimeout(total=self.config.callback_timeout_seconds)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    def submit(self, url: str, event: str, document: dict[str, Any]) -> None:
        if self._session is None or self.config.callback_secret is None:
            logger.warning("callback for %s dropped: callbacks are not configured", document["id"])
            return
        task = asyncio.ensure_future(self._deliver(url, event, document))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, event: str, document: dict[str, Any]) -> None:
        assert self._session is not None
        body = orjson.dumps(document)
        job_id = str(document["id"])
        status = "failed"
        for attempt in range(1, self.config.callback_max_attempts + 1):
            self.counts["attempts"] += 1
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, int(self.clock.time()), body),
                "x-scalegate-job-id": job_id,
                "x-scalegate-event": event,
                "user-agent": "scalegate-callbacks",
            }
            try:
                async with self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as resp:
                    code = resp.status
                    retry_after = min(retry_after_seconds(resp.headers) or 0.0, 30.0)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                logger.info("callback for %s failed (attempt %d): %r", job_id, attempt, exc)
                code, retry_after = 0, None
            if 200 <= code < 300:
                status = "delivered"
                break
            if 400 <= code < 500 and code not in (408, 429):
                break
            if attempt < self.config.callback_max_attempts:
                delay = full_jitter(attempt, 0.5, 30.0, self._rng, retry_after)
                await asyncio.sleep(delay)
        self.counts[status] += 1
        try:
            await self._annotate(job_id, {"callback_status": status})
        except Exception:  # the job may be gone or Redis down: the log is enough
            logger.warning("could not record callback status of %s", job_id, exc_info=True)

    async def close(self, grace: float = 5.0) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._session is not None:
            await self._session.close()
            self._session = None
