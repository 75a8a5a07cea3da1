"""The QueueBackend outage case (tests/test_jobs_contract.py is the behaviour suite, on memory
and Redis): with Redis down every operation raises StateBackendError within the bound, and
the same backend object (its wake-up subscription included) works once Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import time

from scalegate.errors import StateBackendError
from scalegate.jobs.model import Batch, Job, JobState, new_id
from scalegate.jobs.redis_queue import RedisQueue
from scalegate.priority import Priority
from tests.contracts.outage import BOUND_SECONDS, HANG_SECONDS, Outage, all_succeed, fails_typed

NOW = 1_700_000_000_000
VIS = 30_000
REQUEST = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "hi"}],
}


def job(batch_id: str | None = None) -> Job:
    return Job(
        id=new_id("job_", NOW),
        tenant="t",
        priority=Priority.NORMAL,
        payload=REQUEST,
        created_at=NOW,
        updated_at=NOW,
        enqueued_at=NOW,
        ready_at=NOW,
        score=float(NOW),
        batch_id=batch_id,
    )


async def test_outage_raises_typed_errors_promptly_then_recovers(outage: Outage) -> None:
    queue = outage.stores.queue_backend()
    assert isinstance(queue, RedisQueue)
    assert queue.shared
    await queue.start()
    held = job()
    await queue.enqueue(held)
    (leased,) = (await queue.lease("w1", 1, NOW, VIS)).jobs
    batch = Batch(new_id("msgbatch_", NOW), "t", NOW, NOW + 86_400_000, 1, 1)
    outage.stop()
    jid, attempt = leased.id, leased.attempts
    await outage.expect_down(
        {
            "enqueue": lambda: queue.enqueue(job(), "idem-1", 60_000),
            "enqueue_many": lambda: queue.enqueue_many([job(), job()]),
            "get": lambda: queue.get(jid),
            "lease": lambda: queue.lease("w1", 5, NOW, VIS),
            "renew": lambda: queue.renew("w1", [(jid, attempt)], NOW, VIS),
            "finish": lambda: queue.finish(
                jid, JobState.COMPLETED, NOW, owner="w1", attempt=attempt, result={}
            ),
            "retry": lambda: queue.retry(jid, "w1", attempt, NOW + 1000, NOW, {"type": "x"}),
            "release": lambda: queue.release(jid, "w1", attempt, NOW),
            "heartbeat": lambda: queue.heartbeat("w1", {"slots": 1}, NOW),
            "forget_worker": lambda: queue.forget_worker("w1"),
            "workers": lambda: queue.workers(NOW, 60_000),
            "annotate": lambda: queue.annotate(jid, {"callback_status": "sent"}),
            "requeue": lambda: queue.requeue(jid, float(NOW), NOW),
            "list_jobs": lambda: queue.list_jobs(JobState.PENDING, 10, 0),
            "counts": lambda: queue.counts(NOW, 60_000),
            "ready_depth": queue.ready_depth,
            "cleanup": lambda: queue.cleanup(NOW),
            "create_batch": lambda: queue.create_batch(batch, [job(batch.id)]),
            "begin_batch": lambda: queue.begin_batch(batch, "idem-2", 60_000),
            "add_batch_jobs": lambda: queue.add_batch_jobs(batch.id, [job(batch.id)]),
            "commit_batch": lambda: queue.commit_batch(batch),
            "abort_batch": lambda: queue.abort_batch(batch, "idem-2"),
            "get_batch": lambda: queue.get_batch(batch.id),
            "list_batches": lambda: queue.list_batches("t", 10, None, None),
            "batch_jobs": lambda: queue.batch_jobs(batch.id, 0, 10),
            "cancel_batch": lambda: queue.cancel_batch(batch.id, NOW),
            "delete_batch": lambda: queue.delete_batch(batch.id),
        }
    )
    # The wake subscription has its own connection: its first read after the server went
    # away sees the disconnect and returns (a spurious wake, which the protocol allows);
    # from then on it fails like every other operation.
    with contextlib.suppress(StateBackendError):
        await asyncio.wait_for(queue.wait_for_work(0.5), HANG_SECONDS)
    await fails_typed("wait_for_work", lambda: queue.wait_for_work(0.5))

    outage.restart()  # an empty Redis: what was stored is gone; the same object works again
    fresh = job()
    await all_succeed([("enqueue", lambda: queue.enqueue(fresh))])
    assert await queue.ready_depth() == 1
    (again,) = (await queue.lease("w2", 5, NOW, VIS)).jobs
    assert (again.id, again.state, again.attempts) == (fresh.id, JobState.PROCESSING, 1)
    assert await queue.finish(
        again.id, JobState.COMPLETED, NOW, owner="w2", attempt=1, result={"ok": True}
    )
    # the subscription is back: an enqueue wakes a waiting worker long before its timeout
    await all_succeed([("wait_for_work", lambda: queue.wait_for_work(0.05))])
    waiting = asyncio.ensure_future(queue.wait_for_work(HANG_SECONDS))
    await asyncio.sleep(0)  # let it block on the channel
    started = time.monotonic()
    await queue.enqueue(job())
    await asyncio.wait_for(waiting, HANG_SECONDS)
    assert time.monotonic() - started < BOUND_SECONDS
    await queue.close()
