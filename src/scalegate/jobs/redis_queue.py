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
import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, Literal, ParamSpec, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.errors import StateBackendError
from scalegate.jobs.backend import FinishMode, Leased, batch_in_progress
from scalegate.jobs.model import BATCH_OUTCOME, Batch, Job, JobState
from scalegate.state import names, scripts

P = ParamSpec("P")
T = TypeVar("T")

_SCRIPTS = (
    "enqueue",
    "lease",
    "renew",
    "finish",
    "retry",
    "release",
    "requeue",
    "cleanup",
    "annotate",
    "begin_batch",
    "commit_batch",
    "abort_batch",
)

#: How long a batch being stored in chunks may take from its start to its commit; what it
#: stored expires then unless committed (a gateway that died mid-upload, a Redis outage that
#: kept the rollback from running).
STAGING_TTL_MS = 3600 * 1000


def _translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise StateBackendError(f"job queue: redis failed: {exc}") from exc

    return wrapper


def _k(*parts: str) -> str:
    return names.key("jobs", *parts)


def _compact(fields: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """``fields`` with each JSON document copied to a bytes object of its own size: orjson's
    output keeps its whole working buffer (4 KiB at least, ~16 KiB for a 2 KB request), which
    a chunk of a batch holds hundreds of until they are sent."""
    return {k: bytes(memoryview(v)) if isinstance(v, bytes) else v for k, v in fields.items()}


class RedisQueue:
    """The job queue in Redis, shared by every gateway and worker process."""

    shared = True

    def __init__(self, client: Redis) -> None:
        # Any: redis-py types every async command's result as a union of its sync and async
        # shapes (``Awaitable[X] | X``); the values are bytes, ints and lists as documented.
        self.client: Any = client
        self._s = {name: scripts.load(client, "scalegate.jobs", name) for name in _SCRIPTS}
        self.job_prefix = _k("job", "")
        self.batch_prefix = _k("batch", "")
        self.ready, self.leased, self.delayed = _k("ready"), _k("leased"), _k("delayed")
        self.dead, self.finished, self.stats = _k("dead"), _k("finished"), _k("stats")
        self.channel = _k("wake")
        self.batches_finished = _k("batches", "finished")
        self.tenant_batches = _k("batches", "t", "")
        self.workers_key = _k("workers")
        self._pubsub: Any = None  # a PubSub (untyped in redis-py)

    def _job(self, job_id: str) -> str:
        return self.job_prefix + job_id

    def _batch(self, batch_id: str) -> str:
        return self.batch_prefix + batch_id

    def _tenant(self, tenant: str | None) -> str:
        return self.tenant_batches + (tenant or "")

    @_translated
    async def start(self) -> None:
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel)

    async def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None

    # -- producers ---------------------------------------------------------------------------

    def _enqueue_call(
        self, job: Job, idem: str | None, ttl_ms: int, client: Any = None
    ) -> Awaitable[Any]:
        keys = [self._job(job.id), self.ready, self.stats, self.finished]
        if idem is not None:
            keys.append(_k("idem", job.tenant or "", idem))
        args: list[Any] = [
            job.id,
            repr(job.score),
            max(1, ttl_ms),
            self.channel,
            self.job_prefix,
            job.state.value,
            job.updated_at,
        ]
        for name, value in job.to_fields().items():
            args += [name, value]
        result: Awaitable[Any] = self._s["enqueue"](keys=keys, args=args, client=client)
        return result

    @_translated
    async def enqueue(
        self, job: Job, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> tuple[Job, bool]:
        stored = (await self._enqueue_call(job, idempotency_key, idempotency_ttl_ms)).decode()
        if stored == job.id:
            return job, True
        existing = await self.get(stored)
        assert existing is not None
        return existing, False

    @_translated
    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            await self._enqueue_call(job, None, 0, client=pipe)
        await pipe.execute()

    @_translated
    async def get(self, job_id: str) -> Job | None:
        raw = await self.client.hgetall(self._job(job_id))
        return Job.from_fields(raw) if raw else None

    # -- workers -----------------------------------------------------------------------------

    @_translated
    async def lease(self, owner: str, n: int, now_ms: int, visibility_ms: int) -> Leased:
        raw_jobs, next_due = await self._s["lease"](
            keys=[self.ready, self.leased, self.delayed, self.stats],
            args=[self.job_prefix, owner, n, now_ms, visibility_ms],
        )
        jobs = [Job.from_fields(dict(zip(flat[::2], flat[1::2], strict=True))) for flat in raw_jobs]
        return Leased(jobs, int(float(next_due)) if next_due else None)

    @_translated
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

    def _finish_call(
        self,
        job_id: str,
        state: JobState,
        now_ms: int,
        mode: FinishMode,
        owner: str | None,
        attempt: int,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        client: Any = None,
    ) -> Awaitable[Any]:
        keys = [
            self._job(job_id),
            self.ready,
            self.leased,
            self.delayed,
            self.finished,
            self.dead,
            self.stats,
            self.batches_finished,
        ]
        args = [
            job_id,
            state.value,
            mode,
            owner or "",
            attempt,
            now_ms,
            orjson.dumps(result) if result is not None else "",
            orjson.dumps(error) if error is not None else "",
            self.batch_prefix,
            BATCH_OUTCOME[state],
        ]
        call: Awaitable[Any] = self._s["finish"](keys=keys, args=args, client=client)
        return call

    @_translated
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

    @_translated
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

    @_translated
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

    @_translated
    async def heartbeat(self, owner: str, info: dict[str, Any], now_ms: int) -> None:
        await self.client.hset(self.workers_key, owner, orjson.dumps({**info, "seen_ms": now_ms}))

    @_translated
    async def forget_worker(self, owner: str) -> None:
        await self.client.hdel(self.workers_key, owner)

    @_translated
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

    @_translated
    async def annotate(self, job_id: str, fields: dict[str, str]) -> None:
        args: list[str] = []
        for name, value in fields.items():
            args += [name, value]
        await self._s["annotate"](keys=[self._job(job_id)], args=args)

    # -- operators ---------------------------------------------------------------------------

    @_translated
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

    async def _jobs(self, ids: Sequence[bytes | str]) -> list[Job]:
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self._job(job_id.decode() if isinstance(job_id, bytes) else job_id))
        return [Job.from_fields(raw) for raw in await pipe.execute() if raw]

    @_translated
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

    @_translated
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

    @_translated
    async def ready_depth(self) -> int:
        return int(await self.client.zcard(self.ready))

    @_translated
    async def cleanup(self, before_ms: int, limit: int = 500) -> int:
        removed = await self._s["cleanup"](
            keys=[self.finished, self.dead, self.batches_finished],
            args=[self.job_prefix, self.batch_prefix, self.tenant_batches, before_ms, limit],
        )
        return int(removed)

    # -- batches -----------------------------------------------------------------------------

    @_translated
    async def create_batch(
        self,
        batch: Batch,
        jobs: Sequence[Job],
        idempotency_key: str | None = None,
        idempotency_ttl_ms: int = 0,
    ) -> tuple[Batch, bool]:
        if idempotency_key is not None:
            idem = _k("idem", "batch", batch.tenant or "", idempotency_key)
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

    @_translated
    async def begin_batch(
        self, batch: Batch, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> Batch | None:
        keys = [self._batch(batch.id) + ":staging"]
        if idempotency_key is not None:
            keys.append(_k("idem", "batch", batch.tenant or "", idempotency_key))
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

    @_translated
    async def add_batch_jobs(self, batch_id: str, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        _, jobs_key, staged_key, _ = self._staging_keys(batch_id)
        staged: dict[str, float] = {}
        pipe = self.client.pipeline(transaction=True)  # a chunk is stored whole or not at all
        for job in jobs:
            key = self._job(job.id)
            pipe.hset(key, mapping=_compact(job.to_fields()))
            pipe.pexpire(key, STAGING_TTL_MS)
            if job.state is JobState.PENDING:
                staged[job.id] = job.score
        pipe.rpush(jobs_key, *(job.id for job in jobs))
        pipe.pexpire(jobs_key, STAGING_TTL_MS)
        if staged:
            pipe.zadd(staged_key, staged)
            pipe.pexpire(staged_key, STAGING_TTL_MS)
        await pipe.execute()

    @_translated
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

    @_translated
    async def abort_batch(self, batch: Batch, idempotency_key: str | None = None) -> None:
        keys = self._staging_keys(batch.id)
        if idempotency_key is not None:
            keys.append(_k("idem", "batch", batch.tenant or "", idempotency_key))
        await self._s["abort_batch"](keys=keys, args=[self.job_prefix, batch.id])

    @_translated
    async def get_batch(self, batch_id: str) -> Batch | None:
        raw = await self.client.hgetall(self._batch(batch_id))
        return Batch.from_fields(raw) if raw else None

    @_translated
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

    @_translated
    async def batch_jobs(self, batch_id: str, start: int, stop: int) -> list[Job]:
        ids = await self.client.lrange(self._batch(batch_id) + ":jobs", start, stop - 1)
        return await self._jobs(ids)

    @_translated
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

    @_translated
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
