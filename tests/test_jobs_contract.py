"""The queue backend contract, run against the memory backend and a real redis-server.

Time is a ManualClock wherever it matters (aging, retries, lease expiry, retention).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from scalegate.clock import ManualClock, SystemClock
from scalegate.config import QueueConfig
from scalegate.errors import NotFoundError, ProviderError
from scalegate.jobs import JobQueue, JobState, MemoryQueue, RedisQueue
from scalegate.jobs.model import Batch, new_id
from scalegate.priority import Priority
from scalegate.state import RedisBackend

CONFIG = QueueConfig(aging_seconds=60, max_attempts=3, retention_seconds=3600)
VIS = 30_000


def request(text: str = "hi") -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": text}],
    }


@pytest.fixture(params=["memory", "redis"])
async def make_queue(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A factory: ``make_queue(clock)`` → a started JobQueue on the parametrized backend."""
    made: list[JobQueue] = []
    owned: list[RedisBackend] = []

    async def make(clock: Any = None, config: QueueConfig = CONFIG) -> JobQueue:
        if request.param == "memory":
            queue = JobQueue(MemoryQueue(), config, clock=clock)
        else:
            state = RedisBackend(request.getfixturevalue("redis_url"))
            owned.append(state)
            queue = JobQueue(RedisQueue(state.client), config, clock=clock)
        await queue.start()
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.close()
    for state in owned:
        await state.close()


async def lease_all(queue: JobQueue, owner: str = "w1", n: int = 1000) -> list[Any]:
    return (await queue.backend.lease(owner, n, queue.now_ms(), VIS)).jobs


async def test_enqueue_get_and_public_shape(make_queue: Any) -> None:
    queue = await make_queue()
    job = await queue.enqueue(request(), priority=Priority.HIGH, tenant="t1")
    doc = (await queue.get(job.id)).public()
    assert set(doc) >= {"id", "state", "priority", "attempts", "created_at", "updated_at"}
    assert (doc["state"], doc["priority"], doc["attempts"]) == ("PENDING", "high", 0)
    assert doc["result"] is None
    assert doc["error"] is None
    with pytest.raises(NotFoundError):
        await queue.get(job.id, tenant="t2")
    with pytest.raises(NotFoundError):
        await queue.get("job_missing")


async def test_strict_priority_and_fifo_under_concurrent_producers(make_queue: Any) -> None:
    queue = await make_queue(SystemClock())
    rng = random.Random(7)
    plans = [[rng.choice(list(Priority)) for _ in range(60)] for _ in range(8)]

    async def produce(p: int) -> list[tuple[str, Priority]]:
        made = []
        for i, priority in enumerate(plans[p]):
            job = await queue.enqueue(request(f"{p}-{i}"), priority=priority)
            made.append((job.id, priority))
            await asyncio.sleep(0)
        return made

    produced = await asyncio.gather(*(produce(p) for p in range(8)))
    leased = []
    while batch := await lease_all(queue, n=17):  # leased in batches, as workers do
        leased += batch
    assert len(leased) == 480
    assert len({j.id for j in leased}) == 480
    ranks = [int(j.priority) for j in leased]
    assert ranks == sorted(ranks), "strict priority"
    position = {j.id: i for i, j in enumerate(leased)}
    for made in produced:
        for level in Priority:
            ids = [job_id for job_id, p in made if p is level]
            assert [position[i] for i in ids] == sorted(position[i] for i in ids), "FIFO"


async def test_aging_lifts_a_waiting_job_one_level_per_period_but_never_above_high(
    make_queue: Any,
) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    low = await queue.enqueue(request("low"), priority=Priority.LOW)
    clock.advance(59)
    normal = await queue.enqueue(request("normal"), priority=Priority.NORMAL)
    first = await lease_all(queue)
    assert [j.id for j in first] == [normal.id, low.id]  # not aged yet
    for job in first:
        await queue.backend.finish(
            job.id, JobState.COMPLETED, queue.now_ms(), owner="w1", attempt=1
        )

    old_low = await queue.enqueue(request("old low"), priority=Priority.LOW)
    clock.advance(130)  # waited more than two periods: competes as HIGH from then on
    high = await queue.enqueue(request("high"), priority=Priority.HIGH)
    fresh_normal = await queue.enqueue(request("fresh normal"), priority=Priority.NORMAL)
    clock.advance(10_000)  # however long it waits...
    critical = await queue.enqueue(request("critical"), priority=Priority.CRITICAL)
    counts = await queue.stats()
    assert counts["depth"] == {"critical": 1, "high": 3, "normal": 0, "low": 0}
    order = [j.id for j in await lease_all(queue)]
    # ...a LOW job never overtakes CRITICAL; among HIGH it is served by when it got there.
    assert order == [critical.id, old_low.id, high.id, fresh_normal.id]


async def test_depth_by_effective_priority(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    for priority in (Priority.CRITICAL, Priority.HIGH, Priority.NORMAL, Priority.LOW):
        await queue.enqueue(request(), priority=priority)
    stats = await queue.stats()
    assert stats["depth"] == {"critical": 1, "high": 1, "normal": 1, "low": 1}
    clock.advance(61)
    assert (await queue.stats())["depth"] == {"critical": 1, "high": 2, "normal": 1, "low": 0}


async def test_lease_expiry_returns_the_job_and_a_late_completion_is_refused(
    make_queue: Any,
) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    job = await queue.enqueue(request())
    (first,) = await lease_all(queue, "dead-worker")
    assert (first.state, first.attempts, first.owner) == (JobState.PROCESSING, 1, "dead-worker")
    assert await lease_all(queue, "w2") == []
    clock.advance(VIS / 1000 + 1)  # the first worker never renewed
    (second,) = await lease_all(queue, "w2")
    assert (second.id, second.attempts, second.owner) == (job.id, 2, "w2")
    backend = queue.backend
    now = queue.now_ms()
    late = await backend.finish(
        job.id, JobState.COMPLETED, now, owner="dead-worker", attempt=1, result={"late": True}
    )
    assert late is False
    assert await backend.renew("dead-worker", [(job.id, 1)], now, VIS) == [job.id]
    assert await backend.renew("w2", [(job.id, 2)], now, VIS) == []
    ok = await backend.finish(
        job.id, JobState.COMPLETED, now, owner="w2", attempt=2, result={"n": 2}
    )
    assert ok is True
    again = await backend.finish(
        job.id, JobState.COMPLETED, now, owner="w2", attempt=2, result={"n": 3}
    )
    assert again is False  # completion is idempotent: one result
    done = await queue.get(job.id)
    assert (done.state, done.result) == (JobState.COMPLETED, {"n": 2})
    assert (await queue.stats())["totals"]["completed"] == 1


async def test_renewal_keeps_a_lease_alive(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    job = await queue.enqueue(request())
    await lease_all(queue, "w1")
    for _ in range(5):
        clock.advance(20)
        assert await queue.backend.renew("w1", [(job.id, 1)], queue.now_ms(), VIS) == []
        assert await lease_all(queue, "w2") == []
    assert (await queue.get(job.id)).state is JobState.PROCESSING


async def test_a_completion_after_an_unnoticed_expiry_is_kept(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    job = await queue.enqueue(request())
    await lease_all(queue, "slow")
    clock.advance(31)
    assert await lease_all(queue, "other", n=0) == []  # reclaims it to ready, leases nothing
    assert (await queue.get(job.id)).state is JobState.PENDING
    now = queue.now_ms()
    ok = await queue.backend.finish(
        job.id, JobState.COMPLETED, now, owner="slow", attempt=1, result={"ok": 1}
    )
    assert ok is True  # the work was done; running it again would only duplicate it
    assert await lease_all(queue, "other") == []
    assert (await queue.get(job.id)).state is JobState.COMPLETED


async def test_retry_waits_in_the_delayed_set_then_dead_letter_then_requeue(
    make_queue: Any,
) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    job = await queue.enqueue(request())
    backend = queue.backend
    for attempt in (1, 2):
        (held,) = await lease_all(queue)
        assert held.attempts == attempt
        now = queue.now_ms()
        error = {"type": "overloaded_error", "message": "busy", "status": 529}
        assert await backend.retry(job.id, "w1", attempt, now + 5_000, now, error) == "retrying"
        assert (await queue.get(job.id)).state is JobState.PENDING
        assert (await queue.stats())["delayed"] == 1
        assert await lease_all(queue) == []  # not due yet
        clock.advance(5)
    (held,) = await lease_all(queue)
    assert held.attempts == 3
    error = {"type": "overloaded_error", "message": "still busy", "status": 529}
    assert await backend.finish(
        job.id, JobState.DEAD, queue.now_ms(), owner="w1", attempt=3, error=error
    )
    dead = await queue.list(JobState.DEAD)
    assert [j.id for j in dead] == [job.id]
    assert dead[0].error == error
    assert (await queue.stats())["dead"] == 1
    requeued = await queue.requeue(job.id)
    assert (requeued.state, requeued.attempts, requeued.error) == (JobState.PENDING, 0, None)
    assert await queue.list(JobState.DEAD) == []
    (held,) = await lease_all(queue)
    assert held.attempts == 1
    with pytest.raises(ProviderError) as info:
        await queue.requeue(job.id)
    assert info.value.status == 409


async def test_release_returns_a_job_uncounted(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    job = await queue.enqueue(request())
    await lease_all(queue)
    assert await queue.backend.release(job.id, "w1", 1, queue.now_ms())
    assert not await queue.backend.release(job.id, "w1", 1, queue.now_ms())
    again = await queue.get(job.id)
    assert (again.state, again.attempts) == (JobState.PENDING, 0)
    (held,) = await lease_all(queue, "w2")
    assert held.attempts == 1


async def test_cancel_pending_and_processing(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    pending = await queue.enqueue(request())
    running = await queue.enqueue(request())
    canceled = await queue.cancel(pending.id)
    assert canceled.state is JobState.CANCELED
    assert (await queue.cancel(pending.id)).state is JobState.CANCELED  # idempotent
    (held,) = await lease_all(queue)
    assert held.id == running.id
    await queue.cancel(running.id)
    assert await queue.backend.renew("w1", [(running.id, 1)], queue.now_ms(), VIS) == [running.id]
    assert not await queue.backend.finish(
        running.id, JobState.COMPLETED, queue.now_ms(), owner="w1", attempt=1, result={}
    )
    done = await queue.enqueue(request())
    await lease_all(queue)
    await queue.backend.finish(done.id, JobState.COMPLETED, queue.now_ms(), owner="w1", attempt=1)
    with pytest.raises(ProviderError) as info:
        await queue.cancel(done.id)
    assert info.value.status == 409


async def test_idempotency_key_is_per_tenant(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    a, created = await queue.submit(request("a"), tenant="t1", idempotency_key="k")
    b, again = await queue.submit(request("b"), tenant="t1", idempotency_key="k")
    c, other = await queue.submit(request("c"), tenant="t2", idempotency_key="k")
    assert (created, again, other) == (True, False, True)
    assert a.id == b.id != c.id
    assert (await queue.stats())["ready"] == 2


async def test_retention_removes_finished_jobs(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    old = await queue.enqueue(request())
    keep = await queue.enqueue(request())
    await lease_all(queue)
    await queue.backend.finish(old.id, JobState.COMPLETED, queue.now_ms(), owner="w1", attempt=1)
    clock.advance(3601)
    assert await queue.cleanup() == 1
    with pytest.raises(NotFoundError):
        await queue.get(old.id)
    assert (await queue.get(keep.id)).state is JobState.PROCESSING


async def make_batch(queue: JobQueue, tenant: str | None, n: int, failed: int = 0) -> Batch:
    now = queue.now_ms()
    batch_id = new_id("msgbatch_", now)
    jobs = [
        queue.new_job(request(str(i)), tenant=tenant, batch_id=batch_id, custom_id=f"r{i}")
        for i in range(n)
    ]
    for job in jobs[:failed]:
        job.state = JobState.FAILED
        job.error = {"type": "invalid_request_error", "message": "bad", "status": 400}
    batch = Batch(batch_id, tenant, now, now + 86_400_000, n, n - failed, errored=failed)
    stored, created = await queue.backend.create_batch(batch, jobs)
    assert created
    return stored


async def test_batch_counts_follow_their_jobs(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    batch = await make_batch(queue, "t1", 4, failed=1)
    backend = queue.backend
    held = await lease_all(queue)
    assert len(held) == 3
    now = queue.now_ms()
    await backend.finish(held[0].id, JobState.COMPLETED, now, owner="w1", attempt=1, result={})
    mid = await backend.get_batch(batch.id)
    assert mid is not None
    assert (mid.processing, mid.succeeded, mid.errored, mid.processing_status()) == (
        2,
        1,
        1,
        "in_progress",
    )
    canceled = await backend.cancel_batch(batch.id, now)
    assert canceled is not None
    assert canceled.processing_status() == "canceling"
    # a running request of a canceled batch finishes; a retry of one is canceled instead
    assert await backend.retry(held[1].id, "w1", 1, now, now, {}) == "batch_canceled"
    await backend.finish(held[1].id, JobState.CANCELED, now, owner="w1", attempt=1)
    await backend.finish(held[2].id, JobState.FAILED, now, owner="w1", attempt=1, error={})
    ended = await backend.get_batch(batch.id)
    assert ended is not None
    counts = (ended.succeeded, ended.errored, ended.canceled, ended.processing)
    assert counts == (1, 2, 1, 0)
    assert ended.processing_status() == "ended"
    assert ended.ended_at == now
    jobs = await backend.batch_jobs(batch.id, 0, 10)
    assert [j.custom_id for j in jobs] == ["r0", "r1", "r2", "r3"]
    clock.advance(3601)
    assert await queue.cleanup() >= 1
    assert await backend.get_batch(batch.id) is None
    assert await backend.batch_jobs(batch.id, 0, 10) == []


async def test_batch_listing_pages_newest_first_per_tenant(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    ids = []
    for _ in range(5):
        ids.append((await make_batch(queue, "t1", 1)).id)
        clock.advance(1)
    await make_batch(queue, "t2", 1)
    newest = list(reversed(ids))
    backend = queue.backend
    page, more = await backend.list_batches("t1", 2, None, None)
    assert [b.id for b in page] == newest[:2]
    assert more
    page, more = await backend.list_batches("t1", 2, newest[1], None)
    assert [b.id for b in page] == newest[2:4]
    assert more
    page, more = await backend.list_batches("t1", 2, newest[3], None)
    assert [b.id for b in page] == newest[4:]
    assert not more
    page, more = await backend.list_batches("t1", 2, None, newest[3])
    assert [b.id for b in page] == newest[1:3]
    assert more
    assert await backend.delete_batch(ids[0])
    page, _ = await backend.list_batches("t1", 10, None, None)
    assert [b.id for b in page] == newest[:4]


def batch_of(queue: JobQueue, tenant: str | None = "t1") -> Batch:
    """A batch record with no counts: submit_batch_chunks fills them in."""
    now = queue.now_ms()
    return Batch(new_id("msgbatch_", now), tenant, now, now + 86_400_000, 0, 0)


def jobs_of(queue: JobQueue, batch: Batch, start: int, n: int, failed: int = 0) -> list[Any]:
    jobs = [
        queue.new_job(request(str(i)), tenant=batch.tenant, batch_id=batch.id, custom_id=f"r{i}")
        for i in range(start, start + n)
    ]
    for job in jobs[:failed]:
        job.state = JobState.FAILED
        job.error = {"type": "invalid_request_error", "message": "bad", "status": 400}
    return jobs


async def test_a_batch_in_chunks_is_invisible_until_its_last_chunk(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    backend = queue.backend
    batch = batch_of(queue)
    stored_ids: list[str] = []

    async def chunks() -> AsyncIterator[list[Any]]:
        for start, failed in ((0, 1), (3, 0), (6, 0)):
            if start:  # what the previous chunks stored can be neither seen nor leased
                assert await backend.get_batch(batch.id) is None
                assert await backend.list_batches("t1", 10, None, None) == ([], False)
                assert await backend.ready_depth() == 0
                assert await lease_all(queue) == []
                if isinstance(backend, RedisQueue):  # and it expires unless committed
                    assert await backend.client.pttl(backend._job(stored_ids[0])) > 0
            chunk = jobs_of(queue, batch, start, 3, failed)
            stored_ids.extend(j.id for j in chunk)
            yield chunk

    made = await queue.submit_batch_chunks(batch, chunks())
    counts = (made.total, made.processing, made.errored, made.succeeded, made.canceled)
    assert counts == (9, 8, 1, 0, 0)  # from the jobs, not from the record passed in
    assert made.processing_status() == "in_progress"
    assert await backend.get_batch(batch.id) == made
    assert [b.id for b in (await backend.list_batches("t1", 10, None, None))[0]] == [batch.id]
    listed = await backend.batch_jobs(batch.id, 0, 100)
    assert [j.custom_id for j in listed] == [f"r{i}" for i in range(9)]
    assert [j.id for j in listed] == stored_ids
    assert [j.id for j in await lease_all(queue)] == stored_ids[1:]  # the refused one is not
    if isinstance(backend, RedisQueue):
        assert await backend.client.pttl(backend._job(stored_ids[0])) == -1  # kept now
        assert await backend.client.exists(backend._batch(batch.id) + ":staging") == 0
    assert (await queue.stats())["totals"]["enqueued"] == 9


async def test_a_batch_whose_chunks_fail_leaves_nothing_behind(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    backend = queue.backend
    batch = batch_of(queue)
    stored: list[str] = []

    async def chunks() -> AsyncIterator[list[Any]]:
        for start in (0, 3):
            chunk = jobs_of(queue, batch, start, 3)
            stored.extend(j.id for j in chunk)
            yield chunk
        raise RuntimeError("the upload broke")

    with pytest.raises(RuntimeError, match="the upload broke"):
        await queue.submit_batch_chunks(batch, chunks(), "key-1")
    assert len(stored) == 6
    for job_id in stored:
        assert await backend.get(job_id) is None
    assert await backend.get_batch(batch.id) is None
    assert await backend.batch_jobs(batch.id, 0, 100) == []
    assert await lease_all(queue) == []
    if isinstance(backend, RedisQueue):
        assert await backend.client.keys(backend._batch(batch.id) + "*") == []
    # the idempotency key was freed with it: the retry creates the batch
    again = batch_of(queue)
    made = await queue.submit_batch(again, jobs_of(queue, again, 0, 2), "key-1")
    assert (made.id, made.total, made.processing) == (again.id, 2, 2)


async def test_batch_idempotency_keys_with_chunks(make_queue: Any) -> None:
    queue = await make_queue(ManualClock())
    first = batch_of(queue)
    made = await queue.submit_batch(first, jobs_of(queue, first, 0, 2), "k")

    async def unread() -> AsyncIterator[list[Any]]:
        raise AssertionError("a replayed batch's requests are not read")
        yield []

    other = batch_of(queue)
    assert await queue.submit_batch_chunks(other, unread(), "k") == made
    assert await queue.backend.get_batch(other.id) is None
    # another tenant's key is its own
    theirs = batch_of(queue, "t2")
    assert (await queue.submit_batch(theirs, jobs_of(queue, theirs, 0, 1), "k")).id == theirs.id

    # while a batch is being stored, its key is taken: a 409, and nothing of the second
    slow = batch_of(queue)
    second = batch_of(queue)
    answers: list[Any] = []

    async def chunks() -> AsyncIterator[list[Any]]:
        yield jobs_of(queue, slow, 0, 2)
        with pytest.raises(ProviderError) as refused:
            await queue.submit_batch(second, jobs_of(queue, second, 0, 1), "k2")
        answers.append(refused.value.status)
        yield jobs_of(queue, slow, 2, 2)

    assert (await queue.submit_batch_chunks(slow, chunks(), "k2")).total == 4
    assert answers == [409]
    assert await queue.backend.get_batch(second.id) is None
    replay = batch_of(queue)
    assert (await queue.submit_batch(replay, [], "k2")).id == slow.id


async def test_workers_heartbeats(make_queue: Any) -> None:
    clock = ManualClock()
    queue = await make_queue(clock)
    await queue.backend.heartbeat("w1", {"active": 2}, queue.now_ms())
    clock.advance(5)
    (seen,) = await queue.backend.workers(queue.now_ms(), 10_000)
    assert (seen["owner"], seen["active"], seen["heartbeat_age_ms"]) == ("w1", 2, 5000)
    clock.advance(20)
    assert await queue.backend.workers(queue.now_ms(), 10_000) == []
