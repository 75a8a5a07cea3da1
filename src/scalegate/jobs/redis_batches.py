"""Batches in the Redis job queue: stored whole (:meth:`RedisBatches.create_batch`) or in
chunks that stay invisible, and expire, until their commit; listed, canceled and deleted.
The keys are :mod:`.redis_queue`'s layout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from scalegate.errors import StateBackendError
from scalegate.jobs.backend import batch_in_progress
from scalegate.jobs.model import Batch, Job, JobState
from scalegate.jobs.redis_store import STAGING_TTL_MS, RedisJobStore, compact, jobs_key, translated


class RedisBatches(RedisJobStore):
    """The batch half of :class:`.redis_queue.RedisQueue`."""

    @translated
    async def create_batch(
        self,
        batch: Batch,
        jobs: Sequence[Job],
        idempotency_key: str | None = None,
        idempotency_ttl_ms: int = 0,
    ) -> tuple[Batch, bool]:
        if idempotency_key is not None:
            idem = jobs_key("idem", "batch", batch.tenant or "", idempotency_key)
            claimed = await self.client.set(idem, batch.id, nx=True, px=max(1, idempotency_ttl_ms))
            if not claimed:
                existing_id = await self.client.get(idem)
                existing = await self.get_batch(existing_id.decode()) if existing_id else None
                if existing is not None:
                    return existing, False
                await self.client.set(idem, batch.id, px=max(1, idempotency_ttl_ms))
        bkey = self._batch(batch.id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(bkey, mapping=batch.to_fields())
        if batch.processing <= 0:
            pipe.hset(bkey, "ended_at", batch.created_at)
            pipe.zadd(self.batches_finished, {batch.id: batch.created_at})
        ids = [job.id for job in jobs]
        for start in range(0, len(ids), 1000):
            pipe.rpush(bkey + ":jobs", *ids[start : start + 1000])
        pipe.zadd(self._tenant(batch.tenant), {batch.id: batch.created_at})
        for job in jobs:  # queued in the transaction (a pipeline's evalsha only queues)
            await self._enqueue_call(job, None, 0, client=pipe)
        await pipe.execute()
        return batch, True

    def _staging_keys(self, batch_id: str) -> list[str]:
        bkey = self._batch(batch_id)
        return [bkey, bkey + ":jobs", bkey + ":staged", bkey + ":staging"]

    @translated
    async def begin_batch(
        self, batch: Batch, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> Batch | None:
        keys = [self._batch(batch.id) + ":staging"]
        if idempotency_key is not None:
            keys.append(jobs_key("idem", "batch", batch.tenant or "", idempotency_key))
        answer = await self._s["begin_batch"](
            keys=keys,
            args=[batch.id, STAGING_TTL_MS, max(1, idempotency_ttl_ms), self.batch_prefix],
        )
        kind = answer[0].decode()
        if kind == "existing":
            flat = answer[1]
            return Batch.from_fields(dict(zip(flat[::2], flat[1::2], strict=True)))
        if kind == "staging":
            raise batch_in_progress()
        return None

    @translated
    async def add_batch_jobs(self, batch_id: str, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        _, list_key, staged_key, _ = self._staging_keys(batch_id)
        staged: dict[str, float] = {}
        pipe = self.client.pipeline(transaction=True)  # a chunk is stored whole or not at all
        for job in jobs:
            job_key = self._job(job.id)
            pipe.hset(job_key, mapping=compact(job.to_fields()))
            pipe.pexpire(job_key, STAGING_TTL_MS)
            if job.state is JobState.PENDING:
                staged[job.id] = job.score
        pipe.rpush(list_key, *(job.id for job in jobs))
        pipe.pexpire(list_key, STAGING_TTL_MS)
        if staged:
            pipe.zadd(staged_key, staged)
            pipe.pexpire(staged_key, STAGING_TTL_MS)
        await pipe.execute()

    @translated
    async def commit_batch(self, batch: Batch) -> Batch:
        args: list[Any] = [
            self.job_prefix,
            batch.id,
            batch.created_at,
            self.channel,
            batch.processing,
        ]
        for name, value in batch.to_fields().items():
            args += [name, value]
        keys = [
            *self._staging_keys(batch.id),
            self.ready,
            self.stats,
            self._tenant(batch.tenant),
            self.batches_finished,
        ]
        if not await self._s["commit_batch"](keys=keys, args=args):
            raise StateBackendError(
                f"job queue: batch {batch.id} was not being stored (its staging expired)"
            )
        stored = replace(batch)
        if stored.processing <= 0:
            stored.ended_at = batch.created_at
        return stored

    @translated
    async def abort_batch(self, batch: Batch, idempotency_key: str | None = None) -> None:
        keys = self._staging_keys(batch.id)
        if idempotency_key is not None:
            keys.append(jobs_key("idem", "batch", batch.tenant or "", idempotency_key))
        await self._s["abort_batch"](keys=keys, args=[self.job_prefix, batch.id])

    @translated
    async def list_batches(
        self, tenant: str | None, limit: int, after_id: str | None, before_id: str | None
    ) -> tuple[list[Batch], bool]:
        key = self._tenant(tenant)
        total = await self.client.zcard(key)
        if after_id is not None:
            rank = await self.client.zrevrank(key, after_id)
            start = total if rank is None else rank + 1
            end = start + limit
            has_more = end < total
        elif before_id is not None:
            rank = await self.client.zrevrank(key, before_id)
            end = 0 if rank is None else rank
            start = max(0, end - limit)
            has_more = start > 0
        else:
            start, end = 0, limit
            has_more = limit < total
        if end <= start:
            return [], has_more
        ids = await self.client.zrevrange(key, start, end - 1)
        pipe = self.client.pipeline(transaction=False)
        for batch_id in ids:
            pipe.hgetall(self._batch(batch_id.decode()))
        return [Batch.from_fields(raw) for raw in await pipe.execute() if raw], has_more

    @translated
    async def batch_jobs(self, batch_id: str, start: int, stop: int) -> list[Job]:
        ids = await self.client.lrange(self._batch(batch_id) + ":jobs", start, stop - 1)
        return await self._jobs(ids)

    @translated
    async def cancel_batch(self, batch_id: str, now_ms: int) -> Batch | None:
        bkey = self._batch(batch_id)
        batch = await self.get_batch(batch_id)
        if batch is None:
            return None
        if batch.processing > 0:
            await self.client.hsetnx(bkey, "cancel_initiated_at", now_ms)
        ids = await self.client.lrange(bkey + ":jobs", 0, -1)
        for start in range(0, len(ids), 1000):
            pipe = self.client.pipeline(transaction=False)
            for raw_id in ids[start : start + 1000]:
                await self._finish_call(
                    raw_id.decode(),
                    JobState.CANCELED,
                    now_ms,
                    "cancel_pending",
                    None,
                    0,
                    None,
                    None,
                    client=pipe,
                )
            await pipe.execute()
        return await self.get_batch(batch_id)

    @translated
    async def delete_batch(self, batch_id: str) -> bool:
        bkey = self._batch(batch_id)
        batch = await self.get_batch(batch_id)
        if batch is None:
            return False
        ids = [i.decode() for i in await self.client.lrange(bkey + ":jobs", 0, -1)]
        pipe = self.client.pipeline(transaction=True)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            pipe.delete(*(self._job(i) for i in chunk))
            for zset in (self.ready, self.delayed, self.leased, self.dead):
                pipe.zrem(zset, *chunk)
        pipe.delete(bkey, bkey + ":jobs")
        pipe.zrem(self._tenant(batch.tenant), batch_id)
        pipe.zrem(self.batches_finished, batch_id)
        await pipe.execute()
        return True
