"""The backend factory: a URL in, the family of stores out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, DataError, RedisError, TimeoutError

from scalegate.errors import ConfigError, StateBackendError

logger = logging.getLogger(__name__)


@dataclass
class MemoryBackend:
    """Process memory: exact for one process, nothing shared."""

    url: str = "memory://"
    shared: bool = False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class PackedConnection(Connection):
    """redis-py's asyncio connection, packing commands with hiredis's C packer.

    redis-py's sync client packs with hiredis when it is installed; its asyncio client packs
    in Python, which was 13 % of a shared-mode gateway's CPU under load (py-spy; a key
    reservation is one EVALSHA with ~30 arguments). Same bytes on the wire.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]  # "CONFIG GET" → two arguments, as redis-py does
        if (isinstance(first, str) and " " in first) or (
            isinstance(first, bytes) and b" " in first
        ):
            args = (*first.split(), *args[1:])
        for arg in args:
            if isinstance(arg, bool):  # redis-py refuses these; so do we
                raise DataError("Invalid input of type: 'bool'")
        return [hiredis.pack_command(args)]


@dataclass
class RedisBackend:
    """One Redis connection pool shared by every Redis store of the process."""

    url: str
    shared: bool = True
    client: Redis = field(init=False)

    def __post_init__(self) -> None:
        # Short timeouts: a Redis that does not answer must become a typed error quickly,
        # so the configured outage policy applies instead of requests hanging.
        # rediss:// and unix:// keep redis-py's own connection classes (the URL decides).
        self.client = Redis.from_url(
            self.url,
            connection_class=PackedConnection,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            health_check_interval=15,
            max_connections=512,
            decode_responses=False,
            # One immediate retry on a broken connection: after Redis restarts, pooled
            # connections are dead and the first use of each fails. No backoff here: the
            # outage policy (not a client sleeping for seconds) decides what happens next.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[ConnectionError, TimeoutError],
        )

    async def start(self) -> None:
        try:
            await self.client.ping()
        except RedisError as exc:
            raise StateBackendError(f"redis at {redacted(self.url)} is unreachable: {exc}") from exc

    async def close(self) -> None:
        await self.client.aclose()


Backend = MemoryBackend | RedisBackend


def redacted(url: str) -> str:
    """The URL without its password, for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def backend_from_url(url: str | None) -> Backend:
    """``None`` or ``memory://`` → memory; ``redis://``, ``rediss://``, ``unix://`` → Redis."""
    if not url or url.startswith("memory://"):
        return MemoryBackend()
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisBackend(url)
    raise ConfigError(
        f"redis_url: unsupported scheme {scheme!r} (use redis://, rediss:// or unix://)"
    )
