"""Dashboard sessions: an opaque, revocable server-side id in the cookie, never the token.

``POST /dashboard/session`` exchanges the admin token for a random session id (256 bits).
The store keeps only the id's SHA-256 digest with an expiry, so a dump of it (Redis) holds
nothing a browser could present. Logging out revokes the id; ``revoke_all`` ends every
session (e.g. after rotating the admin token). Failed logins are counted per client address
over a window and refused past a bound, so the token cannot be guessed at line speed.

Memory (one process) or Redis (every replica accepts a session made on any other), from
the same state URL as everything else (:mod:`scalegate.state.stores`).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.clock import Clock
from scalegate.errors import StateBackendError
from scalegate.state.names import key as rkey


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class SessionStore(Protocol):
    async def create(self, ttl_seconds: float) -> str:
        """A new session id, valid for ``ttl_seconds``."""

    async def valid(self, sid: str) -> bool: ...

    async def revoke(self, sid: str) -> None: ...

    async def revoke_all(self) -> None: ...

    async def failure(self, client: str, window_seconds: float) -> int:
        """Count a failed login of ``client``; the failures within the window, this one
        included."""

    async def failures(self, client: str) -> int: ...


class MemorySessionStore:
    def __init__(self, clock: Clock, max_sessions: int = 10_000) -> None:
        self._clock = clock
        self._max = max_sessions
        self._sessions: dict[str, float] = {}  # digest → expiry (monotonic)
        self._failed: dict[str, tuple[int, float]] = {}  # client → (count, window end)

    async def create(self, ttl_seconds: float) -> str:
        now = self._clock.monotonic()
        if len(self._sessions) >= self._max:  # drop the expired, then the oldest
            self._sessions = {d: t for d, t in self._sessions.items() if t > now}
            while len(self._sessions) >= self._max:
                self._sessions.pop(next(iter(self._sessions)))
        sid = new_session_id()
        self._sessions[_digest(sid)] = now + ttl_seconds
        return sid

    async def valid(self, sid: str) -> bool:
        expiry = self._sessions.get(_digest(sid))
        return expiry is not None and expiry > self._clock.monotonic()

    async def revoke(self, sid: str) -> None:
        self._sessions.pop(_digest(sid), None)

    async def revoke_all(self) -> None:
        self._sessions.clear()

    async def failure(self, client: str, window_seconds: float) -> int:
        now = self._clock.monotonic()
        count, until = self._failed.get(client, (0, 0.0))
        if until <= now:
            count, until = 0, now + window_seconds
        if len(self._failed) > 100_000:  # bounded: forget the expired windows
            self._failed = {c: v for c, v in self._failed.items() if v[1] > now}
        self._failed[client] = (count + 1, until)
        return count + 1

    async def failures(self, client: str) -> int:
        count, until = self._failed.get(client, (0, 0.0))
        return count if until > self._clock.monotonic() else 0


class RedisSessionStore:
    def __init__(self, client: Redis) -> None:
        self._redis = client

    async def create(self, ttl_seconds: float) -> str:
        sid = new_session_id()
        try:
            await self._redis.set(rkey("sessions", _digest(sid)), b"1", px=int(ttl_seconds * 1000))
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc
        return sid

    async def valid(self, sid: str) -> bool:
        try:
            return bool(await self._redis.exists(rkey("sessions", _digest(sid))))
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc

    async def revoke(self, sid: str) -> None:
        try:
            await self._redis.delete(rkey("sessions", _digest(sid)))
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc

    async def revoke_all(self) -> None:
        try:
            async for name in self._redis.scan_iter(match=rkey("sessions", "*"), count=500):
                await self._redis.delete(name)
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc

    async def failure(self, client: str, window_seconds: float) -> int:
        name = rkey("login-failures", hashlib.sha256(client.encode()).hexdigest()[:32])
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.pexpire(name, int(window_seconds * 1000), nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc
        return int(count)

    async def failures(self, client: str) -> int:
        name = rkey("login-failures", hashlib.sha256(client.encode()).hexdigest()[:32])
        try:
            value = await self._redis.get(name)
        except RedisError as exc:
            raise StateBackendError(f"sessions: redis failed: {exc}") from exc
        return int(value or 0)
