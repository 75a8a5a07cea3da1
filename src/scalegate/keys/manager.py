"""Which keys a replica holds: the configuration's, plus and minus run-time changes.

:class:`KeyManager` computes the key set (keys from the file and environment, plus keys added
through the registry, minus keys removed through it), applies differences to the pool, polls
the registry's generation in shared mode so every replica follows a change within a couple
of seconds, and takes a new file key list on ``SIGHUP``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from scalegate.config import KeyConfig
from scalegate.errors import StateBackendError
from scalegate.keys.model import UpstreamKey, fingerprint, keys_from_config
from scalegate.keys.pool import KeyPool
from scalegate.keys.registry import KeyRegistry
from scalegate.state.outage import Outages

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class KeyManager:
    def __init__(
        self,
        pool: KeyPool,
        registry: KeyRegistry,
        file_keys: tuple[KeyConfig, ...],
        outages: Outages | None = None,
    ) -> None:
        self.outages = outages or Outages.from_settings()
        self.pool = pool
        self.registry = registry
        self._file_keys = file_keys
        self._generation = -1
        self._poller: asyncio.Task[None] | None = None

    async def desired(self) -> list[UpstreamKey]:
        added = await self.registry.added()
        removed = await self.registry.removed()
        configs = [
            *(c for c in self._file_keys if _fp(c) not in added),
            *added.values(),
        ]
        return [k for k in keys_from_config(tuple(configs)) if k.fingerprint not in removed]

    async def apply(self) -> None:
        """Bring the pool in line with the key set (idempotent)."""
        self._generation = await self.registry.generation()
        changed, gone = await self.pool.sync(await self.desired())
        if changed or gone:
            logger.info(
                "keys applied: %d added or changed, %d removed (%s)",
                len(changed),
                len(gone),
                ", ".join([*(f"+{fp}" for fp in changed), *(f"-{fp}" for fp in gone)]),
                extra={"event": "keys_changed"},
            )

    async def start(self, poll: bool) -> None:
        try:
            await self.apply()
        except StateBackendError as exc:  # policy keep_last: the file's keys for now
            self.outages.failed("registry", exc)
        if poll:
            self._poller = asyncio.get_running_loop().create_task(
                self._poll(), name="scalegate-key-registry"
            )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                if await self.registry.generation() != self._generation:
                    await self.apply()
            except StateBackendError as exc:  # policy keep_last: the last list stays
                self.outages.failed("registry", exc)
            else:
                self.outages.recovered("registry")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    async def add(self, cfg: KeyConfig) -> str:
        """Add a key for every replica (529 while the registry's store is down)."""
        fp = await self.outages.guard("registry", lambda: self.registry.add(cfg))
        await self.apply()
        return fp

    async def remove(self, fp: str) -> None:
        self.pool.entry(fp)  # 404 for an unknown key
        await self.outages.guard("registry", lambda: self.registry.remove(fp))
        await self.apply()

    async def reload(self, file_keys: tuple[KeyConfig, ...]) -> None:
        """Take a new file key list (``SIGHUP``) and apply it."""
        self._file_keys = file_keys
        await self.apply()


def _fp(cfg: KeyConfig) -> str:
    return fingerprint(cfg.secret.get_secret_value(), cfg.name)
