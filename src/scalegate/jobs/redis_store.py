"""The Redis job store under :class:`.redis_queue.RedisQueue` (its data layout is described
there): the keys and scripts, and the calls the queue and its batches both make — store a
job, finish one, read jobs, read a batch. Redis errors become
:class:`~scalegate.errors.StateBackendError` (:func:`translated`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from scalegate.errors import StateBackendError
from scalegate.jobs.backend import FinishMode
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


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise StateBackendError(f"job queue: redis failed: {exc}") from exc

    return wrapper


def jobs_key(*parts: str) -> str:
    return names.key("jobs", *parts)


def compact(fields: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """``fields`` with each JSON document copied to a bytes object of its own size: orjson's
    output keeps its whole working buffer (4 KiB at least, ~16 KiB for a 2 KB request), which
    a chunk of a batch holds hundreds of until they are sent."""
    return {k: bytes(memoryview(v)) if isinstance(v, bytes) else v for k, v in fields.items()}


class RedisJobStore:
    """The queue's keys and scripts in one Redis; what its parts share."""

    def __init__(self, client: Redis) -> None:
        # Any: redis-py types every async command's result as a union of its sync and async
        # shapes (``Awaitable[X] | X``); the values are bytes, ints and lists as documented.
        self.client: Any = client
        self._s = {name: scripts.load(client, "scalegate.jobs", name) for name in _SCRIPTS}
        self.job_prefix = jobs_key("job", "")
        self.batch_prefix = jobs_key("batch", "")
        self.ready, self.leased, self.delayed = (
            jobs_key("ready"),
            jobs_key("leased"),
            jobs_key("delayed"),
        )
        self.dead, self.finished, self.stats = (
            jobs_key("dead"),
            jobs_key("finished"),
            jobs_key("stats"),
        )
        self.channel = jobs_key("wake")
        self.batches_finished = jobs_key("batches", "finished")
        self.tenant_batches = jobs_key("batches", "t", "")
        self.workers_key = jobs_key("workers")

    def _job(self, job_id: str) -> str:
        return self.job_prefix + job_id

    def _batch(self, batch_id: str) -> str:
        return self.batch_prefix + batch_id

    def _tenant(self, tenant: str | None) -> str:
        return self.tenant_batches + (tenant or "")

    def _enqueue_call(
        self, job: Job, idem: str | None, ttl_ms: int, client: Any = None
    ) -> Awaitable[Any]:
        keys = [self._job(job.id), self.ready, self.stats, self.finished]
        if idem is not None:
            keys.append(jobs_key("idem", job.tenant or "", idem))
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

    async def _jobs(self, ids: Sequence[bytes | str]) -> list[Job]:
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self._job(job_id.decode() if isinstance(job_id, bytes) else job_id))
        return [Job.from_fields(raw) for raw in await pipe.execute() if raw]

    @translated
    async def get_batch(self, batch_id: str) -> Batch | None:
        raw = await self.client.hgetall(self._batch(batch_id))
        return Batch.from_fields(raw) if raw else None
