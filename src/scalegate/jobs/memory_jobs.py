"""The jobs half of the in-process queue backend (embedded mode): the same state machine as
the Redis one. Batches are :mod:`.memory` (:class:`~.memory.MemoryQueue`, built on this).

Heaps with lazy deletion stand in for the sorted sets: an entry is live only while it still
matches the job's current membership, so removing a job (cancel) is O(1) and popping skips
stale entries. Everything runs on one event loop, so each method is atomic as long as it
does not await — none of them awaits in the middle of a state change.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import heapq
from collections.abc import Sequence
from typing import Any, Literal

from scalegate.jobs.backend import FinishMode, Leased
from scalegate.jobs.model import BATCH_OUTCOME, TERMINAL, Batch, Job, JobState, effective_priority


class MemoryJobs:
    """Jobs in process memory; nothing survives the process."""

    shared = False

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._ready: dict[str, float] = {}
        self._ready_heap: list[tuple[float, str]] = []
        self._delayed: dict[str, int] = {}
        self._delayed_heap: list[tuple[int, str]] = []
        self._leased: dict[str, int] = {}
        self._dead: dict[str, int] = {}
        self._finished: dict[str, int] = {}
        self._idem: dict[str, tuple[str, int]] = {}
        self._batches: dict[str, Batch] = {}
        self._batch_jobs: dict[str, list[str]] = {}
        self._batches_finished: dict[str, int] = {}
        self._staging: dict[str, list[Job]] = {}  # batches begun, not yet committed
        self._workers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._stats: dict[str, int] = {}
        self._wake = asyncio.Event()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._wake.set()

    # -- helpers -----------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        self._stats[name] = self._stats.get(name, 0) + n

    def _make_ready(self, job: Job, now_ms: int) -> None:
        job.ready_at = now_ms
        self._ready[job.id] = job.score
        heapq.heappush(self._ready_heap, (job.score, job.id))

    def _unlink(self, job_id: str) -> None:
        self._ready.pop(job_id, None)
        self._delayed.pop(job_id, None)
        self._leased.pop(job_id, None)

    def _notify(self) -> None:
        self._wake.set()

    @staticmethod
    def _copy(job: Job) -> Job:
        return copy.deepcopy(job)

    # -- producers ---------------------------------------------------------------------------

    async def enqueue(
        self, job: Job, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> tuple[Job, bool]:
        if idempotency_key is not None:
            slot = f"{job.tenant or ''}\x00{idempotency_key}"
            found = self._idem.get(slot)
            if found is not None and found[1] > job.created_at and found[0] in self._jobs:
                return self._copy(self._jobs[found[0]]), False
            self._idem[slot] = (job.id, job.created_at + idempotency_ttl_ms)
        self._store(job)
        self._notify()
        return self._copy(job), True

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._store(job)
        self._notify()

    def _store(self, job: Job) -> None:
        self._keep(self._copy(job))

    def _keep(self, stored: Job) -> None:
        self._jobs[stored.id] = stored
        self._count("enqueued")
        if stored.state is JobState.PENDING:
            self._make_ready(stored, stored.ready_at or stored.enqueued_at)
        elif stored.batch_id is None:  # a batch's jobs go with their batch
            self._finished[stored.id] = stored.updated_at

    async def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return None if job is None else self._copy(job)

    # -- workers -----------------------------------------------------------------------------

    async def lease(self, owner: str, n: int, now_ms: int, visibility_ms: int) -> Leased:
        self._promote(now_ms)
        self._reclaim(now_ms)
        out: list[Job] = []
        wait_sum = 0
        while len(out) < n and self._ready_heap:
            score, job_id = heapq.heappop(self._ready_heap)
            if self._ready.get(job_id) != score:
                continue  # stale entry
            del self._ready[job_id]
            job = self._jobs[job_id]
            job.attempts += 1
            job.state = JobState.PROCESSING
            job.owner = owner
            job.updated_at = now_ms
            wait_sum += max(0, now_ms - job.ready_at)
            self._leased[job_id] = now_ms + visibility_ms
            out.append(self._copy(job))
        if out:
            self._count("leased", len(out))
            self._count("wait_ms", wait_sum)
        return Leased(out, self._next_due())

    def _promote(self, now_ms: int) -> None:
        heap = self._delayed_heap
        while heap and heap[0][0] <= now_ms:
            run_at, job_id = heapq.heappop(heap)
            if self._delayed.get(job_id) != run_at:
                continue
            del self._delayed[job_id]
            self._make_ready(self._jobs[job_id], now_ms)

    def _reclaim(self, now_ms: int) -> None:
        expired = [job_id for job_id, until in self._leased.items() if until <= now_ms]
        for job_id in expired:
            del self._leased[job_id]
            job = self._jobs[job_id]
            if job.state is JobState.PROCESSING:
                job.state = JobState.PENDING
                job.updated_at = now_ms
                self._make_ready(job, now_ms)
                self._count("reclaimed")

    def _next_due(self) -> int | None:
        while self._delayed_heap and (
            self._delayed.get(self._delayed_heap[0][1]) != self._delayed_heap[0][0]
        ):
            heapq.heappop(self._delayed_heap)
        candidates = [self._delayed_heap[0][0]] if self._delayed_heap else []
        if self._leased:
            candidates.append(min(self._leased.values()))
        return min(candidates) if candidates else None

    def _holds(self, job: Job | None, owner: str, attempt: int) -> bool:
        return (
            job is not None
            and job.state is JobState.PROCESSING
            and job.owner == owner
            and job.attempts == attempt
        )

    async def renew(
        self, owner: str, held: Sequence[tuple[str, int]], now_ms: int, visibility_ms: int
    ) -> list[str]:
        lost = []
        for job_id, attempt in held:
            if self._holds(self._jobs.get(job_id), owner, attempt):
                self._leased[job_id] = now_ms + visibility_ms
            else:
                lost.append(job_id)
        return lost

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
        job = self._jobs.get(job_id)
        if job is None:
            return False
        if mode == "token":
            if job.owner != owner or job.attempts != attempt:
                return False
            if job.state not in (JobState.PROCESSING, JobState.PENDING):
                return False
        elif mode == "cancel":
            if job.state in TERMINAL:
                return False
        elif job.state is not JobState.PENDING:
            return False
        self._unlink(job_id)
        job.state = state
        job.updated_at = now_ms
        if result is not None:
            job.result = result
        if error is not None:
            job.error = error
        if job.batch_id is None:
            self._finished[job_id] = now_ms
        if state is JobState.DEAD:
            self._dead[job_id] = now_ms
        self._count(state.value.lower())
        self._batch_finished(job, now_ms)
        return True

    def _batch_finished(self, job: Job, now_ms: int) -> None:
        batch = self._batches.get(job.batch_id or "")
        if batch is None:
            return
        batch.processing -= 1
        outcome = BATCH_OUTCOME[job.state]
        setattr(batch, outcome, getattr(batch, outcome) + 1)
        if batch.processing <= 0 and batch.ended_at is None:
            batch.ended_at = now_ms
            self._batches_finished[batch.id] = now_ms

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
        job = self._jobs.get(job_id)
        if not self._holds(job, owner, attempt):
            return "stale"
        assert job is not None
        batch = self._batches.get(job.batch_id or "")
        if batch is not None and batch.cancel_initiated_at is not None:
            return "batch_canceled"
        self._leased.pop(job_id, None)
        job.state = JobState.PENDING
        job.error = error
        job.updated_at = now_ms
        self._delayed[job_id] = run_at_ms
        heapq.heappush(self._delayed_heap, (run_at_ms, job_id))
        if counted:
            self._count("retried")
        else:
            job.attempts -= 1
            self._count("deferred")
        return "retrying"

    async def release(self, job_id: str, owner: str, attempt: int, now_ms: int) -> bool:
        job = self._jobs.get(job_id)
        if not self._holds(job, owner, attempt):
            return False
        assert job is not None
        self._leased.pop(job_id, None)
        job.state = JobState.PENDING
        job.attempts -= 1
        job.updated_at = now_ms
        self._make_ready(job, now_ms)
        self._count("released")
        self._notify()
        return True

    async def wait_for_work(self, max_seconds: float) -> None:
        if not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max_seconds):
                    await self._wake.wait()
        self._wake.clear()

    async def heartbeat(self, owner: str, info: dict[str, Any], now_ms: int) -> None:
        self._workers[owner] = (now_ms, dict(info))

    async def forget_worker(self, owner: str) -> None:
        self._workers.pop(owner, None)

    async def workers(self, now_ms: int, max_age_ms: int) -> list[dict[str, Any]]:
        return [
            {**info, "owner": owner, "heartbeat_age_ms": now_ms - seen}
            for owner, (seen, info) in sorted(self._workers.items())
            if now_ms - seen <= max_age_ms
        ]

    async def annotate(self, job_id: str, fields: dict[str, str]) -> None:
        job = self._jobs.get(job_id)
        if job is not None and "callback_status" in fields:
            job.callback_status = fields["callback_status"]

    # -- operators ---------------------------------------------------------------------------

    async def requeue(self, job_id: str, score: float, now_ms: int) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.state not in (JobState.DEAD, JobState.FAILED):
            return None
        batch = self._batches.get(job.batch_id or "")
        if batch is not None:
            batch.processing += 1
            batch.errored -= 1
            batch.ended_at = None
            self._batches_finished.pop(batch.id, None)
        self._dead.pop(job_id, None)
        self._finished.pop(job_id, None)
        job.state = JobState.PENDING
        job.attempts = 0
        job.result = None
        job.error = None
        job.score = score
        job.enqueued_at = now_ms
        job.updated_at = now_ms
        self._make_ready(job, now_ms)
        self._count("requeued")
        self._notify()
        return self._copy(job)

    async def list_jobs(self, state: JobState, limit: int, offset: int) -> list[Job]:
        if state is JobState.DEAD:
            ids = sorted(self._dead, key=lambda i: (self._dead[i], i))
        elif state is JobState.PENDING:
            ids = sorted(self._ready, key=lambda i: (self._ready[i], i)) + sorted(self._delayed)
        elif state is JobState.PROCESSING:
            ids = sorted(self._leased)
        else:
            ids = [i for i, j in self._jobs.items() if j.state is state]
        return [self._copy(self._jobs[i]) for i in ids[offset : offset + limit]]

    async def counts(self, now_ms: int, aging_ms: int) -> dict[str, Any]:
        depth = {"critical": 0, "high": 0, "normal": 0, "low": 0}
        for score in self._ready.values():
            depth[effective_priority(score, now_ms, aging_ms).label] += 1
        return {
            "depth": depth,
            "ready": len(self._ready),
            "delayed": len(self._delayed),
            "in_flight": len(self._leased),
            "dead": len(self._dead),
            "totals": dict(self._stats),
        }

    async def ready_depth(self) -> int:
        return len(self._ready)
