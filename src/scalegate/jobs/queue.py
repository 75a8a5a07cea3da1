"""``JobQueue``: the job queue as a library — enqueue with a priority, read status, wait.

Usable without the server::

    async with JobQueue.connect("redis://localhost:6379/0") as queue:   # or None: in memory
        job = await queue.enqueue({"model": …, "max_tokens": 100, "messages": […]},
                                  priority=Priority.HIGH)
        done = await queue.wait(job.id, timeout=60)   # a worker pool runs it
        print(done.state, done.result)

Workers are :class:`~scalegate.jobs.pool.WorkerPool` objects (inside ``scalegate serve``, in
``scalegate worker`` processes, or built by hand around a ``Gateway``'s pipeline). The HTTP
routes and the CLI are thin shells around this class.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import logging
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import orjson

from scalegate.clock import Clock, SystemClock
from scalegate.config import QueueConfig
from scalegate.errors import InvalidRequestError, NotFoundError, ProviderError
from scalegate.jobs.backend import QueueBackend
from scalegate.jobs.callbacks import check_callback_url
from scalegate.jobs.model import BATCH_OUTCOME, Batch, Job, JobState, new_id, ready_score
from scalegate.priority import Priority
from scalegate.state.stores import Stores, stores_from_url
from scalegate.validation import validate_messages

DEFAULT_VERSION = "2023-06-01"

logger = logging.getLogger(__name__)


class _Any:
    """Tenant wildcard: the caller (a library user, an operator) may see every job."""


ANY_TENANT: Any = _Any()


class JobQueue:
    """Producer-side API over a :class:`~scalegate.jobs.backend.QueueBackend`."""

    def __init__(
        self,
        backend: QueueBackend,
        config: QueueConfig | None = None,
        *,
        clock: Clock | None = None,
        owned: Stores | None = None,
    ) -> None:
        self.backend = backend
        self.config = config or QueueConfig()
        self.clock = clock or SystemClock()
        self._owned = owned
        self._samples: collections.deque[tuple[float, int]] = collections.deque(maxlen=120)

    @classmethod
    def connect(
        cls,
        url: str | None = None,
        config: QueueConfig | None = None,
        *,
        clock: Clock | None = None,
    ) -> JobQueue:
        """A queue on ``url``: ``None``/``memory://`` (this process only) or ``redis://…``."""
        stores = stores_from_url(url)
        return cls(stores.queue_backend(), config, clock=clock, owned=stores)

    @classmethod
    def on_stores(
        cls, stores: Stores, config: QueueConfig | None = None, *, clock: Clock | None = None
    ) -> JobQueue:
        """A queue on stores someone else owns (the gateway's shared Redis pool)."""
        return cls(stores.queue_backend(), config, clock=clock)

    async def start(self) -> None:
        if self._owned is not None:
            await self._owned.start()
        await self.backend.start()

    async def close(self) -> None:
        await self.backend.close()
        if self._owned is not None:
            await self._owned.close()

    async def __aenter__(self) -> JobQueue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    @property
    def aging_ms(self) -> int:
        return int(self.config.aging_seconds * 1000)

    # -- producers ---------------------------------------------------------------------------

    def new_job(
        self,
        request: dict[str, Any],
        *,
        priority: Priority = Priority.NORMAL,
        tenant: str | None = None,
        callback_url: str | None = None,
        headers: dict[str, str] | None = None,
        batch_id: str | None = None,
        custom_id: str | None = None,
    ) -> Job:
        """A validated PENDING job, not yet stored (raises ``InvalidRequestError``)."""
        headers = dict(headers or {})
        version = headers.setdefault("anthropic-version", DEFAULT_VERSION)
        req = validate_messages(orjson.dumps(request), version)
        if req.stream:
            raise InvalidRequestError("stream: a job cannot stream; poll it or use a callback")
        now = self.now_ms()
        return Job(
            id=new_id("job_", now),
            tenant=tenant,
            priority=priority,
            payload=request,
            created_at=now,
            max_attempts=self.config.max_attempts,
            updated_at=now,
            enqueued_at=now,
            ready_at=now,
            score=ready_score(priority, now, self.aging_ms),
            callback_url=callback_url,
            headers=headers,
            batch_id=batch_id,
            custom_id=custom_id,
        )

    async def check_callback(self, url: str | None) -> None:
        """Refuse a callback URL that could not be signed or that targets a private host."""
        if url is None:
            return
        if self.config.callback_secret is None:
            raise InvalidRequestError(
                "callback_url: callbacks are disabled (set queue.callback_secret or "
                "SCALEGATE_CALLBACK_SECRET so they can be signed)"
            )
        await check_callback_url(url, self.config.callback_allow_private)

    async def enqueue(
        self,
        request: dict[str, Any],
        *,
        priority: Priority = Priority.NORMAL,
        tenant: str | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Job:
        """Accept one Messages request as a job; with an ``idempotency_key`` the tenant used
        before, the job created then is returned instead of a new one."""
        job, _ = await self.submit(
            request,
            priority=priority,
            tenant=tenant,
            callback_url=callback_url,
            idempotency_key=idempotency_key,
            headers=headers,
        )
        return job

    async def submit(
        self,
        request: dict[str, Any],
        *,
        priority: Priority = Priority.NORMAL,
        tenant: str | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Job, bool]:
        """:meth:`enqueue`, also saying whether the job is new (False: idempotent replay)."""
        await self.check_callback(callback_url)
        job = self.new_job(
            request, priority=priority, tenant=tenant, callback_url=callback_url, headers=headers
        )
        ttl = int(self.config.retention_seconds * 1000)
        return await self.backend.enqueue(job, idempotency_key, ttl)

    async def enqueue_many(
        self,
        requests: list[dict[str, Any]],
        *,
        priority: Priority = Priority.NORMAL,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> list[Job]:
        """Accept many requests in one round trip (no callbacks, no idempotency keys)."""
        jobs = [
            self.new_job(r, priority=priority, tenant=tenant, headers=headers) for r in requests
        ]
        await self.backend.enqueue_many(jobs)
        return jobs

    # -- status ------------------------------------------------------------------------------

    async def get(self, job_id: str, *, tenant: Any = ANY_TENANT) -> Job:
        """The job, or :class:`NotFoundError` (also for another tenant's job)."""
        job = await self.backend.get(job_id)
        if job is None or (tenant is not ANY_TENANT and job.tenant != tenant):
            raise NotFoundError(f"no job with id {job_id!r}")
        return job

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a producer's convenience
        tenant: Any = ANY_TENANT,
    ) -> Job:
        """Poll until the job is COMPLETED, FAILED, DEAD or CANCELED; ``TimeoutError`` after
        ``timeout`` seconds (real time)."""
        delay = 0.01
        async with asyncio.timeout(timeout):
            while True:
                job = await self.get(job_id, tenant=tenant)
                if job.state.terminal:
                    return job
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 0.5)

    async def cancel(self, job_id: str, *, tenant: Any = ANY_TENANT) -> Job:
        """Cancel a PENDING or PROCESSING job (a running attempt's answer is discarded).

        Canceling a canceled job is a no-op; a finished one is a 409.
        """
        job = await self.get(job_id, tenant=tenant)
        if job.state is JobState.CANCELED:
            return job
        changed = await self.backend.finish(job_id, JobState.CANCELED, self.now_ms(), mode="cancel")
        job = await self.get(job_id, tenant=tenant)
        if not changed and job.state is not JobState.CANCELED:
            raise ProviderError(
                f"job {job_id} is already {job.state.value} and cannot be canceled", status=409
            )
        return job

    async def requeue(self, job_id: str) -> Job:
        """Put a DEAD (or FAILED) job back in the queue with its attempts reset."""
        job = await self.get(job_id)
        now = self.now_ms()
        requeued = await self.backend.requeue(
            job_id, ready_score(job.priority, now, self.aging_ms), now
        )
        if requeued is None:
            raise ProviderError(
                f"job {job_id} is {job.state.value}; only DEAD or FAILED jobs can be requeued",
                status=409,
            )
        return requeued

    async def list(self, state: JobState, *, limit: int = 50, offset: int = 0) -> list[Job]:
        return await self.backend.list_jobs(state, limit, offset)

    async def cleanup(self) -> int:
        """Remove what finished longer than ``queue.retention_seconds`` ago."""
        cutoff = self.now_ms() - int(self.config.retention_seconds * 1000)
        total = 0
        while (removed := await self.backend.cleanup(cutoff)) > 0:
            total += removed
        return total

    async def stats(self) -> dict[str, Any]:
        """Plain numbers for metrics and the CLI: depth by (effective) priority, delayed,
        in flight, dead, lifetime counters, mean wait before a lease, and throughput
        (completions per second since the previous call, over at most two minutes)."""
        counts = await self.backend.counts(self.now_ms(), self.aging_ms)
        totals = counts["totals"]
        leased = totals.get("leased", 0)
        counts["mean_wait_seconds"] = (totals.get("wait_ms", 0) / leased / 1000) if leased else 0.0
        now = self.clock.monotonic()
        done = sum(totals.get(k, 0) for k in ("completed", "failed", "dead"))
        self._samples.append((now, done))
        while len(self._samples) > 1 and now - self._samples[0][0] > 120:
            self._samples.popleft()
        t0, d0 = self._samples[0]
        counts["throughput_per_second"] = (done - d0) / (now - t0) if now > t0 else 0.0
        return counts

    # -- read-outs and batches: the public API routes use (never the backend itself) -------

    async def counts(self) -> dict[str, Any]:
        """Depth by effective priority, delayed, in flight, dead (one read)."""
        return await self.backend.counts(self.now_ms(), self.aging_ms)

    async def workers(self) -> builtins.list[dict[str, Any]]:
        """Worker pools with a heartbeat within the visibility timeout."""
        max_age = int(self.config.visibility_timeout_seconds * 1000)
        return await self.backend.workers(self.now_ms(), max_age)

    async def submit_batch(
        self, batch: Batch, jobs: Sequence[Job], idempotency_key: str | None = None
    ) -> Batch:
        """Store a Message Batch and its jobs at once (the tenant's key returns the same):
        :meth:`submit_batch_chunks` with one chunk, so ``batch``'s counts come from ``jobs``."""
        return await self.submit_batch_chunks(batch, _one(jobs), idempotency_key)

    async def submit_batch_chunks(
        self,
        batch: Batch,
        chunks: AsyncIterable[Sequence[Job]],
        idempotency_key: str | None = None,
    ) -> Batch:
        """Store a Message Batch whose jobs arrive in chunks (an upload parsed as it is read),
        holding one chunk at a time.

        Nothing is visible or leasable until the last chunk is stored: then the batch record
        and every job appear in one step. The record's counts are taken from the jobs as they
        pass (``batch``'s own are ignored): ``total``, a job already terminal (a request
        refused at creation) in its outcome's count, the rest ``processing``. If storing
        fails, or ``chunks`` raises, the jobs already written are removed and the error goes
        on (a store outage as ``StateBackendError``: the queue's outage policy answers it).
        With an ``idempotency_key`` the tenant used before, the batch created then is returned
        and ``chunks`` is not read; while that batch is still being stored, a 409.
        """
        ttl = int(self.config.retention_seconds * 1000)
        existing = await self.backend.begin_batch(batch, idempotency_key, ttl)
        if existing is not None:
            return existing
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled"), 0)
        try:
            async for chunk in chunks:
                for job in chunk:
                    if job.batch_id != batch.id:
                        raise ValueError(f"job {job.id} is not a job of batch {batch.id}")
                    counts[BATCH_OUTCOME[job.state] if job.state.terminal else "processing"] += 1
                await self.backend.add_batch_jobs(batch.id, chunk)
                del chunk  # not held while the next one is built
            final = replace(
                batch,
                total=sum(counts.values()),
                processing=counts["processing"],
                succeeded=counts["succeeded"],
                errored=counts["errored"],
                canceled=counts["canceled"],
                expired=0,
            )
            return await self.backend.commit_batch(final)
        except BaseException:
            await self._abort_batch(batch, idempotency_key)
            raise

    async def _abort_batch(self, batch: Batch, idempotency_key: str | None) -> None:
        try:
            await self.backend.abort_batch(batch, idempotency_key)
        except Exception as exc:  # the store is down: what it holds expires, never visible
            logger.warning(
                "batch %s: could not remove its partly stored jobs (%s); they expire unseen",
                batch.id,
                exc,
                extra={"event": "batch_abort_failed"},
            )

    async def batch(self, batch_id: str, *, tenant: Any = ANY_TENANT) -> Batch:
        """The batch, or :class:`NotFoundError` (also for another tenant's)."""
        batch = await self.backend.get_batch(batch_id)
        if batch is None or (tenant is not ANY_TENANT and batch.tenant != tenant):
            raise NotFoundError(f"no message batch with id {batch_id!r}")
        return batch

    async def batches(
        self, tenant: str | None, limit: int, after_id: str | None, before_id: str | None
    ) -> tuple[builtins.list[Batch], bool]:
        return await self.backend.list_batches(tenant, limit, after_id, before_id)

    async def batch_jobs(self, batch_id: str, start: int, stop: int) -> builtins.list[Job]:
        return await self.backend.batch_jobs(batch_id, start, stop)

    async def cancel_batch(self, batch_id: str) -> Batch:
        canceled = await self.backend.cancel_batch(batch_id, self.now_ms())
        if canceled is None:
            raise NotFoundError(f"no message batch with id {batch_id!r}")
        return canceled

    async def delete_batch(self, batch_id: str) -> None:
        await self.backend.delete_batch(batch_id)


async def _one(jobs: Sequence[Job]) -> AsyncIterator[Sequence[Job]]:
    yield jobs
