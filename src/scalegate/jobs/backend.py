"""What the job queue needs from its storage: :class:`QueueBackend`.

Two implementations: :class:`~scalegate.jobs.memory.MemoryQueue` (one process, embedded mode)
and :class:`~scalegate.jobs.redis.RedisQueue` (shared by every replica and worker process;
one Lua script per state change). One contract suite (``tests/test_jobs_contract.py``) runs
against both.

Every call that changes a job held by a worker carries its *lease token* — the worker's
``owner`` id and the ``attempt`` number the lease was granted for. A call whose token no
longer matches (the lease expired and another worker took the job, or the job was canceled)
changes nothing and returns ``False``: that is what makes completion idempotent.

Times are milliseconds of wall time, passed in by the caller (the injected clock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from scalegate.errors import ProviderError
from scalegate.jobs.model import Batch, Job, JobState

FinishMode = Literal["token", "cancel", "cancel_pending"]


def batch_in_progress() -> ProviderError:
    """The answer to a batch whose idempotency key names a batch still being stored."""
    return ProviderError(
        "a message batch with this Idempotency-Key is still being created; retry shortly",
        status=409,
        retry_after=1,
    )


@dataclass(slots=True)
class Leased:
    """What one ``lease`` call returned: jobs now held, and when to look again."""

    jobs: list[Job]
    next_due_ms: int | None  # earliest retry or lease expiry, if any


class QueueBackend(Protocol):
    """Job storage with atomic state changes."""

    shared: bool  # True when other processes see the same queue (Redis)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    # -- producers ---------------------------------------------------------------------------

    async def enqueue(
        self, job: Job, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> tuple[Job, bool]:
        """Store ``job`` as PENDING and ready; with an idempotency key already used by the
        same tenant, return that job instead (``created`` False)."""

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        """Store many new jobs in one round trip (no idempotency keys)."""

    async def get(self, job_id: str) -> Job | None: ...

    # -- workers -----------------------------------------------------------------------------

    async def lease(self, owner: str, n: int, now_ms: int, visibility_ms: int) -> Leased:
        """Promote due retries, return expired leases to ready, then lease up to ``n`` jobs
        in score order (attempts + 1, state PROCESSING, lease until now + visibility)."""

    async def renew(
        self, owner: str, held: Sequence[tuple[str, int]], now_ms: int, visibility_ms: int
    ) -> list[str]:
        """Extend the leases of ``held`` ((id, attempt) pairs); return the ids no longer
        held by ``owner`` (canceled, or taken over after an expiry)."""

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
        """Move a job to a terminal ``state``.

        ``token``: only if (owner, attempt) still holds it (PROCESSING, or PENDING again after
        an unnoticed lease expiry — the work is done, so it is kept rather than repeated).
        ``cancel``: any job not yet terminal. ``cancel_pending``: only a PENDING job.
        Updates the job's batch counts in the same step.
        """

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
        """Put a held job in the delayed set until ``run_at_ms`` (still PENDING).

        ``batch_canceled``: its batch is being canceled; the caller finishes it CANCELED.
        ``counted=False`` gives the attempt back (deferred work, not a failure).
        """

    async def release(self, job_id: str, owner: str, attempt: int, now_ms: int) -> bool:
        """Give a held job back to the ready set at once, uncounted (graceful shutdown)."""

    async def wait_for_work(self, max_seconds: float) -> None:
        """Return when work may have arrived (an enqueue or release), or after ``max_seconds``."""

    async def heartbeat(self, owner: str, info: dict[str, Any], now_ms: int) -> None: ...

    async def forget_worker(self, owner: str) -> None: ...

    async def workers(self, now_ms: int, max_age_ms: int) -> list[dict[str, Any]]:
        """Worker pools seen within ``max_age_ms``, each with its last heartbeat."""

    async def annotate(self, job_id: str, fields: dict[str, str]) -> None:
        """Set informational fields (callback delivery) on a job that still exists."""

    # -- operators ---------------------------------------------------------------------------

    async def requeue(self, job_id: str, score: float, now_ms: int) -> Job | None:
        """DEAD or FAILED → PENDING with attempts reset; ``None`` if it is in neither."""

    async def list_jobs(self, state: JobState, limit: int, offset: int) -> list[Job]: ...

    async def counts(self, now_ms: int, aging_ms: int) -> dict[str, Any]:
        """Depth by effective priority, delayed, in flight, dead, and lifetime counters."""

    async def ready_depth(self) -> int: ...

    async def cleanup(self, before_ms: int, limit: int = 500) -> int:
        """Remove finished jobs and ended batches that finished before ``before_ms``."""

    # -- batches -----------------------------------------------------------------------------

    async def create_batch(
        self,
        batch: Batch,
        jobs: Sequence[Job],
        idempotency_key: str | None = None,
        idempotency_ttl_ms: int = 0,
    ) -> tuple[Batch, bool]:
        """Store a batch and enqueue its jobs in one step (jobs already terminal — requests
        refused at creation — are stored finished and counted)."""

    async def begin_batch(
        self, batch: Batch, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> Batch | None:
        """Start storing a batch whose jobs arrive in chunks (:meth:`add_batch_jobs`, then
        :meth:`commit_batch` or :meth:`abort_batch`); nothing of it is visible yet.

        With an idempotency key the same tenant used before: the batch created then (nothing
        is started), or a 409 ``ProviderError`` while that batch is still being stored.
        """

    async def add_batch_jobs(self, batch_id: str, jobs: Sequence[Job]) -> None:
        """Store the next jobs of a begun batch, in request order: neither visible nor
        leasable until :meth:`commit_batch`."""

    async def commit_batch(self, batch: Batch) -> Batch:
        """Write the batch record (its final counts) and make it and every job added to it
        visible and leasable, in one step."""

    async def abort_batch(self, batch: Batch, idempotency_key: str | None = None) -> None:
        """Remove what :meth:`add_batch_jobs` stored for an uncommitted batch and free its
        idempotency key (a committed batch is left alone). What a store outage keeps this
        from removing is never visible and expires by itself (Redis: after an hour)."""

    async def get_batch(self, batch_id: str) -> Batch | None: ...

    async def list_batches(
        self, tenant: str | None, limit: int, after_id: str | None, before_id: str | None
    ) -> tuple[list[Batch], bool]:
        """Newest first; a page after (older than) or before (newer than) a cursor id."""

    async def batch_jobs(self, batch_id: str, start: int, stop: int) -> list[Job]:
        """Jobs ``start`` to ``stop`` - 1 of a batch, in request order."""

    async def cancel_batch(self, batch_id: str, now_ms: int) -> Batch | None: ...

    async def delete_batch(self, batch_id: str) -> bool: ...
