"""What becomes of one attempt of a job: the runner's :class:`~.runner.Outcome` settled with
the lease token — completed, failed, retried after a full-jitter backoff (the provider's
``retry-after`` as its floor), deferred until a tenant's limit has room (not an attempt),
dead-lettered after ``max_attempts`` — or the job given back (released) at shutdown. A
terminal state sends the job's callback."""

from __future__ import annotations

import logging
import random

from scalegate.jobs.callbacks import CallbackSender
from scalegate.jobs.counters import PoolCounters
from scalegate.jobs.model import Job, JobState, error_doc
from scalegate.jobs.queue import JobQueue
from scalegate.jobs.runner import Outcome
from scalegate.retry import full_jitter

logger = logging.getLogger(__name__)

_EVENTS = {JobState.COMPLETED: "job.completed", JobState.FAILED: "job.failed"}


class AttemptSettler:
    """Settles the attempts of one worker pool (``owner``) on ``queue``'s backend."""

    def __init__(
        self,
        queue: JobQueue,
        owner: str,
        callbacks: CallbackSender,
        counters: PoolCounters,
        rng: random.Random,
    ) -> None:
        self._queue = queue
        self._backend = queue.backend
        self._config = queue.config
        self._owner = owner
        self._callbacks = callbacks
        self._counters = counters
        self._rng = rng

    async def release(self, job: Job) -> None:
        """Give the job back (ready at once, the attempt not counted); on failure its lease
        expires instead."""
        try:
            await self._backend.release(job.id, self._owner, job.attempts, self._queue.now_ms())
        except Exception:  # the lease will expire and the job will be reclaimed
            logger.warning("could not release job %s", job.id, exc_info=True)

    async def settle(self, job: Job, outcome: Outcome, seconds: float) -> None:
        """Settle the attempt that took ``seconds``; a terminal state sends the callback."""
        now = self._queue.now_ms()
        if outcome.kind == "defer":  # deferred work (a tenant over its rate): not an attempt
            state, ok = await self._retry(job, outcome, now, counted=False)
        elif outcome.kind == "retry" and job.attempts < job.max_attempts:
            state, ok = await self._retry(job, outcome, now)
        else:
            state = {"completed": JobState.COMPLETED, "failed": JobState.FAILED}.get(
                outcome.kind, JobState.DEAD
            )
            ok = await self._backend.finish(
                job.id,
                state,
                now,
                owner=self._owner,
                attempt=job.attempts,
                result=outcome.result,
                error=outcome.error,
            )
        kind = state.value.lower()
        if state is JobState.PENDING:
            kind = "deferred" if outcome.kind == "defer" else "retried"
        self._counters.outcome(kind if ok else "stale", seconds)
        if ok and state.terminal and job.callback_url:
            job.state, job.updated_at = state, now
            job.result, job.error = outcome.result, outcome.error
            event = _EVENTS.get(state, "job.dead" if state is JobState.DEAD else "job.canceled")
            self._callbacks.submit(job.callback_url, event, job.public())

    async def _retry(
        self, job: Job, outcome: Outcome, now: int, *, counted: bool = True
    ) -> tuple[JobState, bool]:
        c = self._config
        delay = full_jitter(
            job.attempts, c.retry_base_seconds, c.retry_cap_seconds, self._rng, outcome.retry_after
        )
        if not counted:  # the limit says when there is room again: come back then
            delay = outcome.retry_after or self._config.retry_base_seconds
        error = outcome.error or error_doc(500, "api_error", "retryable failure")
        result = await self._backend.retry(
            job.id, self._owner, job.attempts, now + int(delay * 1000), now, error, counted
        )
        if result == "batch_canceled":
            ok = await self._backend.finish(
                job.id, JobState.CANCELED, now, owner=self._owner, attempt=job.attempts
            )
            return JobState.CANCELED, ok
        return JobState.PENDING, result == "retrying"
