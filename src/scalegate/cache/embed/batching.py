"""Run a blocking embedder off the event loop, batching requests that arrive together.

Concurrent lookups each await :meth:`BatchingEmbedder.aembed`; the texts waiting when the
worker thread becomes free go through the model as one batch (up to ``max_batch``), which on
two cores costs about the same per text as one at a time but never queues a thread per
request. The event loop only ever waits on a future.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib

import numpy as np

from scalegate.cache.embed.base import Embedder, Vector


class BatchingEmbedder:
    """Adapts a blocking :class:`~scalegate.cache.embed.Embedder` to ``await aembed(...)``."""

    def __init__(self, inner: Embedder, *, threaded: bool = True, max_batch: int = 32) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.threaded = threaded
        self.max_batch = max_batch
        self._pending: list[tuple[list[str], asyncio.Future[Vector]]] = []
        self._running = False
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    def fits(self, text: str) -> bool:
        return self.inner.fits(text)

    def embed(self, texts: list[str]) -> Vector:
        """The blocking call, for scripts and threads."""
        return self.inner.embed(texts)

    async def aembed(self, texts: list[str]) -> Vector:
        if not self.threaded:
            return self.inner.embed(texts)
        future: asyncio.Future[Vector] = asyncio.get_running_loop().create_future()
        self._pending.append((texts, future))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, "scalegate-embed")
        while self._pending:
            batch: list[tuple[list[str], asyncio.Future[Vector]]] = []
            count = 0
            while self._pending and (
                not batch or count + len(self._pending[0][0]) <= self.max_batch
            ):
                item = self._pending.pop(0)
                batch.append(item)
                count += len(item[0])
            texts = [t for (group, _) in batch for t in group]
            try:
                vectors = await loop.run_in_executor(self._executor, self.inner.embed, texts)
            except Exception as exc:  # the model failed: every waiter gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for group, future in batch:
                if not future.done():
                    future.set_result(np.array(vectors[start : start + len(group)]))
                start += len(group)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
