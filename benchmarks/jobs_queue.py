"""Job queue throughput on Redis: enqueue and drain of no-op jobs, side by side with saq, and
end-to-end jobs/s through the simulated provider.

Measures, on a redis-server this script starts on a free 127.0.0.1 port (flushed between
runs):

1. **enqueue** — N jobs, (a) one ``JobQueue.enqueue`` call per job with 64 concurrent
   producers, (b) ``enqueue_many`` in chunks of 500 (one pipelined round trip per chunk);
   saq's ``Queue.enqueue`` with the same 64 producers.
2. **drain** — N queued no-op jobs run by a real ``WorkerPool`` (50 tasks, leasing in
   batches of up to 50 with one Lua call) until every job is COMPLETED; saq's ``Worker``
   with ``concurrency=50`` on the same N no-op jobs.
3. **end to end** — a ``Gateway`` in shared mode (Redis queue, embedded worker pool of 50)
   in front of the simulated provider (zero latency, generous limits, in a thread): jobs
   enqueued, run through the key pool and the pipeline, results stored.

saq is a benchmark-only comparison and not a project dependency::

    .venv/bin/pip install saq          # arq would downgrade redis-py below 6, so not arq

Usage: ``.venv/bin/python benchmarks/jobs_queue.py [--jobs 20000] [--e2e-jobs 2000]``.
The script prints a table and never asserts; the target is ≥ 5,000 jobs/s for enqueue and
drain. The machine has two cores shared with Redis and, for end to end, the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

from scalegate.clock import SystemClock
from scalegate.config import QueueConfig, load_settings
from scalegate.jobs import Job, JobQueue, JobState, Outcome, RedisQueue, WorkerPool
from scalegate.state import RedisBackend

TARGET = 5_000.0
STAGE_TIMEOUT = 300.0  # no stage may hang the run
REQUEST = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 8,
    "messages": [{"role": "user", "content": "x"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found (apt-get install redis-server)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("redis-server did not start")


async def flush(url: str) -> None:
    state = RedisBackend(url)
    await state.client.flushall()
    await state.close()


async def gather_limited(n: int, concurrency: int, make: Any) -> None:
    it = iter(range(n))

    async def producer() -> None:
        for i in it:
            await make(i)

    await asyncio.gather(*(producer() for _ in range(concurrency)))


def config(**extra: Any) -> QueueConfig:
    return QueueConfig(
        **{
            "worker_concurrency": 50,
            "min_concurrency": 50,
            "max_concurrency": 50,
            "lease_batch": 50,
            **extra,
        }
    )


async def scalegate_enqueue(url: str, n: int, bulk: bool) -> float:
    await flush(url)
    state = RedisBackend(url)
    queue = JobQueue(RedisQueue(state.client), config(), clock=SystemClock())
    await queue.start()
    started = time.perf_counter()
    if bulk:
        for start in range(0, n, 500):
            await queue.enqueue_many([REQUEST] * min(500, n - start))
    else:
        await gather_limited(n, 64, lambda _: queue.enqueue(REQUEST))
    seconds = time.perf_counter() - started
    assert (await queue.stats())["ready"] == n
    await queue.close()
    await state.close()
    return n / seconds


async def completed(pool: WorkerPool, n: int) -> None:
    """Until the pool has completed ``n`` jobs (its counters have no event to wait on)."""
    async with asyncio.timeout(STAGE_TIMEOUT):
        while pool.counters.outcomes.get("completed", 0) < n:  # noqa: ASYNC110 - see above
            await asyncio.sleep(0.005)


async def noop(job: Job) -> Outcome:
    return Outcome("completed", result={"ok": True})


async def scalegate_drain(url: str, n: int) -> float:
    await flush(url)
    state = RedisBackend(url)
    queue = JobQueue(RedisQueue(state.client), config(), clock=SystemClock())
    await queue.start()
    for start in range(0, n, 500):
        await queue.enqueue_many([REQUEST] * min(500, n - start))
    pool = WorkerPool(queue, noop)
    started = time.perf_counter()
    await pool.start()
    await completed(pool, n)
    seconds = time.perf_counter() - started
    await pool.stop(grace=1)
    totals = (await queue.stats())["totals"]
    assert totals["completed"] == n, totals
    await queue.close()
    await state.close()
    return n / seconds


async def saq_runs(url: str, n: int) -> tuple[float, float] | None:
    try:
        from saq import Queue, Worker
    except ImportError:
        return None
    await flush(url)
    queue = Queue.from_url(url)
    await queue.connect()
    started = time.perf_counter()
    await gather_limited(n, 64, lambda _: queue.enqueue("noop"))
    enqueue_rate = n / (time.perf_counter() - started)
    done = 0
    finished = asyncio.Event()

    async def noop_task(ctx: Any) -> None:
        nonlocal done
        done += 1
        if done >= n:
            finished.set()

    noop_task.__qualname__ = "noop"  # saq looks functions up by qualified name
    worker = Worker(queue, functions=[noop_task], concurrency=50)
    started = time.perf_counter()
    task = asyncio.ensure_future(worker.start())
    async with asyncio.timeout(STAGE_TIMEOUT):
        await finished.wait()
    drain_rate = n / (time.perf_counter() - started)
    await worker.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await queue.disconnect()
    return enqueue_rate, drain_rate


async def end_to_end(url: str, n: int) -> tuple[float, dict[str, Any]]:
    from scalegate.gateway import Gateway
    from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorThread

    await flush(url)
    limits = {"rpm": 1_000_000, "itpm": 1_000_000_000, "otpm": 1_000_000_000}
    secrets_ = [f"sk-bench-{i}-0123456789abcdef" for i in range(4)]
    sim = SimulatorThread(SimulatorConfig(keys={s: SimKeyLimits(**limits) for s in secrets_}))
    sim.start()
    try:
        settings = load_settings(
            None,
            {},
            **{
                "upstream.base_url": sim.url,
                "keys": [{"secret": s, "limits": limits} for s in secrets_],
                "redis_url": url,
                "queue.worker_concurrency": 50,
                "queue.min_concurrency": 50,
                "queue.max_concurrency": 50,
                "queue.lease_batch": 50,
            },
        )
        async with Gateway(settings) as gw:
            assert gw.workers is not None
            started = time.perf_counter()
            jobs: list[Job] = []
            for start in range(0, n, 500):
                jobs += await gw.jobs.enqueue_many([REQUEST] * min(500, n - start))
            await completed(gw.workers, n)
            seconds = time.perf_counter() - started
            sample = await gw.jobs.get(jobs[-1].id)
            assert sample.state is JobState.COMPLETED
            assert sample.result is not None
            stats = gw.workers.stats()
    finally:
        sim.stop()
    return n / seconds, stats


def verdict(rate: float) -> str:
    return "met" if rate >= TARGET else "MISSED"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--e2e-jobs", type=int, default=2_000)
    args = parser.parse_args()
    proc, url = start_redis()
    try:
        n = args.jobs
        print(f"redis at {url}; {n} no-op jobs per run; target {TARGET:,.0f} jobs/s\n")
        enq = await scalegate_enqueue(url, n, bulk=False)
        bulk = await scalegate_enqueue(url, n, bulk=True)
        drain = await scalegate_drain(url, n)
        saq = await saq_runs(url, n)
        print(f"{'':36}{'scalegate':>12}{'saq':>12}")
        saq_enq = f"{saq[0]:>12,.0f}" if saq else f"{'(not installed)':>12}"
        saq_drain = f"{saq[1]:>12,.0f}" if saq else ""
        print(f"{'enqueue, 64 producers (jobs/s)':36}{enq:>12,.0f}{saq_enq}  {verdict(enq)}")
        print(f"{'enqueue_many, chunks of 500 (jobs/s)':36}{bulk:>12,.0f}{'':>12}  {verdict(bulk)}")
        print(f"{'drain, 50 workers (jobs/s)':36}{drain:>12,.0f}{saq_drain}  {verdict(drain)}")
        e2e, stats = await end_to_end(url, args.e2e_jobs)
        print(
            f"\nend to end through the simulator: {args.e2e_jobs} jobs, {e2e:,.0f} jobs/s "
            f"(pipeline + key pool + Redis queue; max active workers {stats['max_active']})"
        )
        print("note: saq ignores priorities on Redis; scalegate's numbers include strict")
        print("priority with aging, leases with renewal, and per-job Lua state changes.")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
