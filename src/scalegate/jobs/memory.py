"""The in-process queue backend (embedded mode): :class:`MemoryQueue`, the jobs of
:mod:`.memory_jobs` and their batches — stored whole or staged until their commit, listed,
canceled and deleted, as :mod:`.redis_batches` does in Redis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scalegate.errors import StateBackendError
from scalegate.jobs.backend import batch_in_progress
from scalegate.jobs.memory_jobs import MemoryJobs
from scalegate.jobs.model import Batch, Job, JobState


class MemoryQueue(MemoryJobs):
    """Jobs and batches in process memory; nothing survives the process."""

    async def cleanup(self, before_ms: int, limit: int = 500) -> int:
        """Drop finished jobs and batches older than ``before_ms``, and expired idempotency
        keys: at most ``limit`` of each."""
        removed = 0
        for job_id in [i for i, t in self._finished.items() if t < before_ms][:limit]:
            self._finished.pop(job_id, None)
            self._dead.pop(job_id, None)
            self._jobs.pop(job_id, None)
            removed += 1
        for batch_id in [b for b, t in self._batches_finished.items() if t < before_ms][:limit]:
            await self.delete_batch(batch_id)
            removed += 1
        self._idem = {k: v for k, v in self._idem.items() if v[1] > before_ms}
        return removed

    async def create_batch(
        self,
        batch: Batch,
        jobs: Sequence[Job],
        idempotency_key: str | None = None,
        idempotency_ttl_ms: int = 0,
    ) -> tuple[Batch, bool]:
        existing = await self.begin_batch(batch, idempotency_key, idempotency_ttl_ms)
        if existing is not None:
            return existing, False
        await self.add_batch_jobs(batch.id, jobs)
        return await self.commit_batch(batch), True

    def _idem_slot(self, batch: Batch, idempotency_key: str) -> str:
        return f"batch\x00{batch.tenant or ''}\x00{idempotency_key}"

    async def begin_batch(
        self, batch: Batch, idempotency_key: str | None = None, idempotency_ttl_ms: int = 0
    ) -> Batch | None:
        if idempotency_key is not None:
            slot = self._idem_slot(batch, idempotency_key)
            found = self._idem.get(slot)
            if found is not None and found[0] in self._batches:
                return replace(self._batches[found[0]])
            if found is not None and found[0] in self._staging:
                raise batch_in_progress()
            self._idem[slot] = (batch.id, batch.created_at + idempotency_ttl_ms)
        self._staging[batch.id] = []
        return None

    async def add_batch_jobs(self, batch_id: str, jobs: Sequence[Job]) -> None:
        staged = self._staging.get(batch_id)
        if staged is None:
            raise StateBackendError(f"job queue: batch {batch_id} is not being stored")
        staged.extend(self._copy(job) for job in jobs)

    async def commit_batch(self, batch: Batch) -> Batch:
        jobs = self._staging.pop(batch.id, None)
        if jobs is None:
            raise StateBackendError(f"job queue: batch {batch.id} is not being stored")
        stored = replace(batch)
        self._batches[batch.id] = stored
        self._batch_jobs[batch.id] = [job.id for job in jobs]
        for job in jobs:
            self._keep(job)
        if stored.processing <= 0:
            stored.ended_at = batch.created_at
            self._batches_finished[batch.id] = batch.created_at
        self._notify()
        return replace(stored)

    async def abort_batch(self, batch: Batch, idempotency_key: str | None = None) -> None:
        if self._staging.pop(batch.id, None) is None:
            return  # committed (kept) or never begun
        if idempotency_key is not None:
            slot = self._idem_slot(batch, idempotency_key)
            found = self._idem.get(slot)
            if found is not None and found[0] == batch.id:
                del self._idem[slot]

    async def get_batch(self, batch_id: str) -> Batch | None:
        batch = self._batches.get(batch_id)
        return None if batch is None else replace(batch)

    async def list_batches(
        self, tenant: str | None, limit: int, after_id: str | None, before_id: str | None
    ) -> tuple[list[Batch], bool]:
        mine = sorted(
            (b for b in self._batches.values() if b.tenant == tenant),
            key=lambda b: (b.created_at, b.id),
            reverse=True,
        )
        ids = [b.id for b in mine]
        if after_id is not None:
            start = ids.index(after_id) + 1 if after_id in ids else len(ids)
            page = mine[start : start + limit]
            return [replace(b) for b in page], start + limit < len(mine)
        if before_id is not None:
            end = ids.index(before_id) if before_id in ids else 0
            start = max(0, end - limit)
            return [replace(b) for b in mine[start:end]], start > 0
        return [replace(b) for b in mine[:limit]], limit < len(mine)

    async def batch_jobs(self, batch_id: str, start: int, stop: int) -> list[Job]:
        ids = self._batch_jobs.get(batch_id, [])[start:stop]
        return [self._copy(self._jobs[i]) for i in ids if i in self._jobs]

    async def cancel_batch(self, batch_id: str, now_ms: int) -> Batch | None:
        batch = self._batches.get(batch_id)
        if batch is None:
            return None
        if batch.cancel_initiated_at is None and batch.processing > 0:
            batch.cancel_initiated_at = now_ms
        for job_id in list(self._batch_jobs.get(batch_id, [])):
            await self.finish(job_id, JobState.CANCELED, now_ms, mode="cancel_pending")
        return replace(batch)

    async def delete_batch(self, batch_id: str) -> bool:
        batch = self._batches.pop(batch_id, None)
        if batch is None:
            return False
        for job_id in self._batch_jobs.pop(batch_id, []):
            self._unlink(job_id)
            self._dead.pop(job_id, None)
            self._finished.pop(job_id, None)
            self._jobs.pop(job_id, None)
        self._batches_finished.pop(batch_id, None)
        return True
