"""The Redis queue backend (shared mode): sorted sets, job hashes, one Lua script per change.

Data layout (every key under ``scalegate:jobs:``)::

    job:<id>            hash   the job (model.Job.to_fields): state, attempts, owner, score, …
    ready               zset   PENDING jobs that may run now, by score (priority + aging)
    leased              zset   PROCESSING jobs, by lease expiry (ms)
    delayed             zset   PENDING jobs waiting for a retry, by due time (ms)
    dead                zset   DEAD jobs (the dead-letter set), by time of death
    finished            zset   terminal jobs outside batches, by finish time (retention)
    idem:<tenant>:<key> string job id for an Idempotency-Key (expires with retention)
    stats               hash   lifetime counters (enqueued, leased, completed, retried, …)
    wake                pubsub a message per enqueue / release / requeue: idle workers wake
    batch:<id>          hash   a batch and its live counts
    batch:<id>:jobs     list   its job ids in request order
    batch:<id>:staging  string a batch being stored in chunks, not yet visible (expires)
    batch:<id>:staged   zset   its PENDING jobs so far, by score: made ready at the commit
    batches:<tenant>    zset   a tenant's batches by creation time (listing)
    batches:finished    zset   ended batches by end time (retention)
    workers             hash   worker pool → last heartbeat document (JSON)

Scripts (``*.lua`` beside this module): ``enqueue``, ``lease`` (promote due retries, reclaim
expired leases, lease a batch of jobs: one round trip), ``renew``, ``finish`` (every terminal
transition, batch counts included), ``retry``, ``release``, ``requeue``, ``cleanup``,
``annotate``; ``begin_batch``, ``commit_batch`` and ``abort_batch`` for a batch stored in
chunks (its job hashes, list and staged set expire until the commit makes them permanent,
so a gateway that dies mid-upload leaves nothing behind for long). Scripts derive job keys
from ids, so the layout assumes one Redis (or one cluster slot), not a sharded cluster.

Redis errors become :class:`~scalegate.errors.StateBackendError` here: the queue fails
closed (a job is never accepted unless it was stored).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.errors import StateBackendError
from scalegate.jobs.backend import FinishMode, Leased
from scalegate.jobs.model import Job, JobState
from scalegate.jobs.redis_batches import RedisBatches
from scalegate.jobs.redis_store import translated


class RedisQueue(RedisBatches):
    """The job queue in Redis, shared by every gateway and worker process."""

    shared = True

    def __init__(self, client: Redis) -> None:
        super().__init__(client)
        self._pubsub: Any = None  # a PubSub (untyped in redis-py)

    @translated
    async def start(self) -> None:
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel)

    async def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None

    # -- producers ---------------------------------------------------------------------------

    @translated
    async def enqueue(
        self, job: Job, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> tuple[Job, bool]:
        stored = (await self._enqueue_call(job, idempotency_key, idempotency_ttl_ms)).decode()
        if stored == job.id:
            return job, True
        existing = await self.get(stored)
        assert existing is not None
        return existing, False

    @translated
    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            await self._enqueue_call(job, None, 0, client=pipe)
        await pipe.execute()

    @translated
    async def get(self, job_id: str) -> Job | None:
        raw = await self.client.hgetall(self._job(job_id))
        return Job.from_fields(raw) if raw else None

    # -- workers -----------------------------------------------------------------------------

    @translated
    async def lease(self, owner: str, n: int, now_ms: int, visibility_ms: int) -> Leased:
        raw_jobs, next_due = await self._s["lease"](
            keys=[self.ready, self.leased, self.delayed, self.stats],
            args=[self.job_prefix, owner, n, now_ms, visibility_ms],
        )
        jobs = [Job.from_fields(dict(zip(flat[::2], flat[1::2], strict=True))) for flat in raw_jobs]
        return Leased(jobs, int(float(next_due)) if next_due else None)

    @translated
    async def renew(
        self, owner: str, held: Sequence[tuple[str, int]], now_ms: int, visibility_ms: int
    ) -> list[str]:
        if not held:
            return []
        args: list[Any] = [self.job_prefix, owner, now_ms, visibility_ms]
        for job_id, attempt in held:
            args += [job_id, attempt]
        lost = await self._s["renew"](keys=[self.leased], args=args)
        return [i.decode() for i in lost]

    @translated
    async def finish(
        self,
        job_id: str,
        state: JobState,
        now_ms: int,
        *,
        mode: FinishMode = "token",
        owner: str | None = None,
        attempt: int = 0,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        done = await self._finish_call(job_id, state, now_ms, mode, owner, attempt, result, error)
        return bool(done)

    @translated
    async def retry(
        self,
        job_id: str,
        owner: str,
        attempt: int,
        run_at_ms: int,
        now_ms: int,
        error: dict[str, Any],
        counted: bool = True,
    ) -> Literal["retrying", "stale", "batch_canceled"]:
        job_key = self._job(job_id)
        keys = [job_key, self.leased, self.delayed, self.stats]
        batch = await self.client.hget(job_key, "batch")
        if batch:
            keys.append(self._batch(batch.decode()))
        code = await self._s["retry"](
            keys=keys,
            args=[job_id, owner, attempt, run_at_ms, now_ms, orjson.dumps(error), int(counted)],
        )
        return {0: "stale", 1: "retrying", 2: "batch_canceled"}[int(code)]  # type: ignore[return-value]  # the table's values are exactly the Literal's members

    @translated
    async def release(self, job_id: str, owner: str, attempt: int, now_ms: int) -> bool:
        done = await self._s["release"](
            keys=[self._job(job_id), self.leased, self.ready, self.stats],
            args=[job_id, owner, attempt, now_ms, self.channel],
        )
        return bool(done)

    async def wait_for_work(self, max_seconds: float) -> None:
        """Block on the wake channel (one subscription per process), then drain it."""
        pubsub = self._pubsub
        if pubsub is None:
            await asyncio.sleep(max_seconds)
            return
        try:
            message = await pubsub.get_message(timeout=max_seconds)
            while message is not None:
                message = await pubsub.get_message(timeout=0)
        except (RedisError, OSError) as exc:
            raise StateBackendError(f"job queue: redis failed: {exc}") from exc

    @translated
    async def heartbeat(self, owner: str, info: dict[str, Any], now_ms: int) -> None:
        await self.client.hset(self.workers_key, owner, orjson.dumps({**info, "seen_ms": now_ms}))

    @translated
    async def forget_worker(self, owner: str) -> None:
        await self.client.hdel(self.workers_key, owner)

    @translated
    async def workers(self, now_ms: int, max_age_ms: int) -> list[dict[str, Any]]:
        out, stale = [], []
        for owner, raw in sorted((await self.client.hgetall(self.workers_key)).items()):
            info = orjson.loads(raw)
            age = now_ms - int(info.pop("seen_ms", 0))
            if age > max_age_ms:
                stale.append(owner)
                continue
            out.append({**info, "owner": owner.decode(), "heartbeat_age_ms": age})
        if stale:  # pools that died without saying goodbye
            await self.client.hdel(self.workers_key, *stale)
        return out

    @translated
    async def annotate(self, job_id: str, fields: dict[str, str]) -> None:
        args: list[str] = []
        for name, value in fields.items():
            args += [name, value]
        await self._s["annotate"](keys=[self._job(job_id)], args=args)

    # -- operators ---------------------------------------------------------------------------

    @translated
    async def requeue(self, job_id: str, score: float, now_ms: int) -> Job | None:
        done = await self._s["requeue"](
            keys=[
                self._job(job_id),
                self.ready,
                self.dead,
                self.finished,
                self.stats,
                self.batches_finished,
            ],
            args=[job_id, repr(score), now_ms, self.channel, self.batch_prefix],
        )
        return await self.get(job_id) if done else None

    @translated
    async def list_jobs(self, state: JobState, limit: int, offset: int) -> list[Job]:
        end = offset + limit - 1
        if state is JobState.DEAD:
            return await self._jobs(await self.client.zrange(self.dead, offset, end))
        if state is JobState.PROCESSING:
            return await self._jobs(await self.client.zrange(self.leased, offset, end))
        if state is JobState.PENDING:
            ids = await self.client.zrange(self.ready, 0, end)
            ids += await self.client.zrange(self.delayed, 0, end)
            return await self._jobs(ids[offset : offset + limit])
        # Terminal states other than DEAD: newest finished first, filtered (bounded scan).
        found: list[Job] = []
        skipped = 0
        cursor = 0
        while len(found) < limit and cursor < 50_000:
            ids = await self.client.zrevrange(self.finished, cursor, cursor + 499)
            if not ids:
                break
            cursor += len(ids)
            for job in await self._jobs(ids):
                if job.state is state:
                    if skipped < offset:
                        skipped += 1
                    elif len(found) < limit:
                        found.append(job)
        return found

    @translated
    async def counts(self, now_ms: int, aging_ms: int) -> dict[str, Any]:
        pipe = self.client.pipeline(transaction=False)
        pipe.zcount(self.ready, "-inf", "(0")
        pipe.zcount(self.ready, 0, now_ms)
        pipe.zcount(self.ready, f"({now_ms}", now_ms + aging_ms)
        pipe.zcount(self.ready, f"({now_ms + aging_ms}", "+inf")
        pipe.zcard(self.delayed)
        pipe.zcard(self.leased)
        pipe.zcard(self.dead)
        pipe.hgetall(self.stats)
        crit, high, normal, low, delayed, leased, dead, totals = await pipe.execute()
        return {
            "depth": {"critical": crit, "high": high, "normal": normal, "low": low},
            "ready": crit + high + normal + low,
            "delayed": delayed,
            "in_flight": leased,
            "dead": dead,
            "totals": {k.decode(): int(v) for k, v in totals.items()},
        }

    @translated
    async def ready_depth(self) -> int:
        return int(await self.client.zcard(self.ready))

    @translated
    async def cleanup(self, before_ms: int, limit: int = 500) -> int:
        removed = await self._s["cleanup"](
            keys=[self.finished, self.dead, self.batches_finished],
            args=[self.job_prefix, self.batch_prefix, self.tenant_batches, before_ms, limit],
        )
        return int(removed)
