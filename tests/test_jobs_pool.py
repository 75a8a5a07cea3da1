"""The worker pool in-process: outcomes, poison jobs, restarts, shutdown, scaling, wake-ups.

Runners and backends are injected (a runner is any ``async (job) -> Outcome``; the backend a
``MemoryQueue`` subclass where a failure is needed). Conditions are polled with deadlines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from scalegate.config import QueueConfig
from scalegate.jobs import Job, JobQueue, JobState, MemoryQueue, Outcome, WorkerPool
from scalegate.jobs.autoscale import desired_concurrency
from scalegate.jobs.backend import Leased
from scalegate.priority import Priority

FAST = {
    "retry_base_seconds": 0.01,
    "retry_cap_seconds": 0.02,
    "visibility_timeout_seconds": 5,
    "scale_interval_seconds": 0.02,
    "max_attempts": 3,
}


def request(text: str) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": text}]}


def text_of(job: Job) -> str:
    return str(job.payload["messages"][0]["content"])


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def scripted(job: Job) -> Outcome:
    text = text_of(job)
    if text.startswith("ok"):
        return Outcome("completed", result={"echo": text, "attempt": job.attempts})
    if text.startswith("bad"):
        return Outcome.failed(400, "messages.0: invalid")
    if text.startswith("flaky") and job.attempts < 2:
        return Outcome.retry(529, "overloaded")
    if text.startswith("flaky"):
        return Outcome("completed", result={"attempt": job.attempts})
    if text.startswith("boom"):
        raise RuntimeError("a bug in the runner")
    return Outcome.retry(500, "always failing")


async def start_pool(
    runner: Any, backend: MemoryQueue | None = None, **config: Any
) -> tuple[JobQueue, WorkerPool]:
    queue = JobQueue(backend or MemoryQueue(), QueueConfig(**{**FAST, **config}))
    await queue.start()
    pool = WorkerPool(queue, runner)
    await pool.start()
    return queue, pool


async def test_outcomes_map_to_states() -> None:
    queue, pool = await start_pool(scripted)
    try:
        jobs = {
            name: await queue.enqueue(request(name))
            for name in ("ok-1", "bad-1", "flaky-1", "doomed-1", "boom-1", "ok-2")
        }
        done = {name: await queue.wait(job.id, timeout=10) for name, job in jobs.items()}
        assert done["ok-1"].state is JobState.COMPLETED
        assert done["ok-1"].result == {"echo": "ok-1", "attempt": 1}
        assert (done["bad-1"].state, done["bad-1"].attempts) == (JobState.FAILED, 1)
        assert done["bad-1"].error == {
            "type": "invalid_request_error",
            "message": "messages.0: invalid",
            "status": 400,
        }
        assert (done["flaky-1"].state, done["flaky-1"].result) == (
            JobState.COMPLETED,
            {"attempt": 2},
        )
        assert (done["doomed-1"].state, done["doomed-1"].attempts) == (JobState.DEAD, 3)
        # a runner that raises is a poison job for the dead-letter set, not a dead worker
        assert (done["boom-1"].state, done["boom-1"].attempts) == (JobState.DEAD, 3)
        assert "a bug in the runner" in done["boom-1"].error["message"]  # type: ignore[index]  # Job.error is typed Optional
        assert done["ok-2"].state is JobState.COMPLETED
        stats = pool.stats()
        assert stats["restarts"] == 0
        assert stats["outcomes"]["completed"] == 3
        assert stats["outcomes"]["dead"] == 2
        assert stats["outcomes"]["retried"] == 5  # 1 flaky + 2 doomed + 2 boom
    finally:
        await pool.stop(grace=1)
        await queue.close()


class FlakyBackend(MemoryQueue):
    """Fails the first settle (as a Redis blip would), crashing that worker task."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def finish(self, *args: Any, **kwargs: Any) -> bool:
        if self.failures and kwargs.get("mode", "token") == "token":
            self.failures -= 1
            raise ConnectionError("backend blip")
        return await super().finish(*args, **kwargs)


async def test_a_crashed_worker_task_is_restarted_and_its_job_is_not_lost() -> None:
    queue, pool = await start_pool(
        scripted, FlakyBackend(), worker_concurrency=2, visibility_timeout_seconds=0.3
    )
    try:
        job = await queue.enqueue(request("ok-crash"))
        done = await queue.wait(job.id, timeout=10)  # re-run once its lease expired
        assert (done.state, done.attempts) == (JobState.COMPLETED, 2)
        assert pool.stats()["restarts"] == 1
        await until(lambda: pool.stats()["workers"] == pool.target)
        second = await queue.enqueue(request("ok-after"))
        assert (await queue.wait(second.id, timeout=10)).state is JobState.COMPLETED
    finally:
        await pool.stop(grace=1)
        await queue.close()


async def test_graceful_stop_finishes_quick_jobs_and_releases_slow_ones() -> None:
    gate = asyncio.Event()
    started: list[str] = []

    async def runner(job: Job) -> Outcome:
        started.append(text_of(job))
        if text_of(job).startswith("slow"):
            await gate.wait()  # never set: stuck upstream
        else:
            await asyncio.sleep(0.05)
        return Outcome("completed", result={})

    queue, pool = await start_pool(runner, worker_concurrency=4, min_concurrency=4)
    try:
        quick = [await queue.enqueue(request(f"quick-{i}")) for i in range(2)]
        slow = [await queue.enqueue(request(f"slow-{i}")) for i in range(2)]
        await until(lambda: pool.active == 4)
        waiting = await queue.enqueue(request("never-started"))
        await pool.stop(grace=0.5)
        for job in quick:
            assert (await queue.get(job.id)).state is JobState.COMPLETED
        for job in slow:
            released = await queue.get(job.id)
            assert (released.state, released.attempts) == (JobState.PENDING, 0)
        assert (await queue.get(waiting.id)).state is JobState.PENDING
        assert "never-started" not in started
        stats = await queue.stats()
        assert (stats["in_flight"], stats["ready"]) == (0, 3)
        assert pool.stats()["outcomes"]["released"] == 2
    finally:
        await queue.close()


def test_desired_concurrency() -> None:
    assert desired_concurrency(0, 0, None, 1, 20) == 1  # idle: the minimum
    assert desired_concurrency(2, 100, None, 1, 20) == 20  # deep queue: the maximum
    assert desired_concurrency(3, 4, None, 1, 20) == 7  # one task per job
    assert desired_concurrency(3, 100, 2, 1, 20) == 5  # keys full: no point waiting
    assert desired_concurrency(0, 100, 0, 2, 20) == 2


async def test_pool_scales_up_with_depth_and_down_when_idle() -> None:
    gate = asyncio.Event()

    async def runner(job: Job) -> Outcome:
        await gate.wait()
        return Outcome("completed", result={})

    queue, pool = await start_pool(
        runner, worker_concurrency=1, min_concurrency=1, max_concurrency=6
    )
    try:
        jobs = [await queue.enqueue(request(f"ok-{i}")) for i in range(10)]
        await until(lambda: pool.active == 6)
        assert pool.target == 6
        assert pool.stats()["max_active"] == 6
        gate.set()
        for job in jobs:
            await queue.wait(job.id, timeout=10)
        await until(lambda: pool.target == 1 and pool.stats()["workers"] == 1)
        assert pool.stats()["scale_downs"] >= 1
    finally:
        await pool.stop(grace=1)
        await queue.close()


async def test_scaling_is_bounded_by_free_key_capacity() -> None:
    gate = asyncio.Event()

    async def runner(job: Job) -> Outcome:
        await gate.wait()
        return Outcome("completed", result={})

    queue = JobQueue(MemoryQueue(), QueueConfig(**{**FAST, "worker_concurrency": 1}))
    await queue.start()

    async def capacity() -> int:  # keys that admit three requests at a time
        return max(0, 3 - pool.active)

    pool = WorkerPool(queue, runner, capacity=capacity)
    await pool.start()
    try:
        for i in range(10):
            await queue.enqueue(request(f"ok-{i}"))
        await until(lambda: pool.active == 3)
        for _ in range(10):
            await pool.rescale()
            await asyncio.sleep(0.01)
        assert (pool.target, pool.active) == (3, 3)
    finally:
        gate.set()
        await pool.stop(grace=1)
        await queue.close()


class CountingBackend(MemoryQueue):
    def __init__(self) -> None:
        super().__init__()
        self.lease_calls = 0
        self.blocked = asyncio.Event()  # set while the fetcher waits for the wake-up signal
        self.leases_when_blocked = -1

    async def lease(self, owner: str, n: int, now_ms: int, visibility_ms: int) -> Leased:
        self.lease_calls += 1
        return await super().lease(owner, n, now_ms, visibility_ms)

    async def wait_for_work(self, max_seconds: float) -> None:
        self.leases_when_blocked = self.lease_calls
        self.blocked.set()
        try:
            await super().wait_for_work(max_seconds)
        finally:
            self.blocked.clear()


async def test_idle_workers_block_on_the_wake_up_signal() -> None:
    backend = CountingBackend()
    queue, pool = await start_pool(scripted, backend)
    try:
        # With nothing to do, the fetcher leased once and is now blocked on the wake-up
        # signal: no lease call happens while it waits (an idle pool does not poll).
        await asyncio.wait_for(backend.blocked.wait(), 10)
        assert backend.leases_when_blocked == backend.lease_calls
        assert backend.lease_calls <= 2
        job = await queue.enqueue(request("ok-wake"), priority=Priority.LOW)
        assert (await queue.wait(job.id, timeout=5)).state is JobState.COMPLETED
    finally:
        await pool.stop(grace=1)
        await queue.close()


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_every_job_completes_exactly_once(concurrency: int) -> None:
    seen: list[str] = []

    async def runner(job: Job) -> Outcome:
        seen.append(job.id)
        await asyncio.sleep(0)
        return Outcome("completed", result={"id": job.id})

    queue, pool = await start_pool(
        runner, worker_concurrency=concurrency, min_concurrency=concurrency
    )
    try:
        jobs = await asyncio.gather(*(queue.enqueue(request(f"ok-{i}")) for i in range(200)))
        done = [await queue.wait(j.id, timeout=10) for j in jobs]
        assert all(d.state is JobState.COMPLETED for d in done)
        assert sorted(seen) == sorted(j.id for j in jobs)
    finally:
        await pool.stop(grace=1)
        await queue.close()
