"""The worker pool: lease jobs, run them, settle them; scale, renew, restart, shut down.

One pool per process. Its tasks, all owned and awaited by :meth:`WorkerPool.stop`:

* **fetcher** — leases up to (target − held) jobs in one call and hands them to workers
  through an in-process queue; with nothing to lease it blocks on the backend's wake-up
  signal (bounded by the next retry or lease expiry), never spinning.
* **workers** — ``target`` tasks; each runs one job at a time through the runner and
  settles it with the lease token (complete, fail, retry with full-jitter backoff, or
  dead-letter after ``max_attempts``: :mod:`scalegate.jobs.attempts`). A crashed worker
  task (the backend failed while settling) is restarted when ``auto_restart`` is set; its
  job's lease simply expires and the job runs again elsewhere.
* **renewer** — every third of the visibility timeout extends every held lease in one call
  and publishes a heartbeat; a job it reports lost (canceled, or taken over after an
  expiry) has its attempt canceled.
* **scaler** — sets the target from queue depth and free key capacity
  (:mod:`scalegate.jobs.autoscale`) and runs retention cleanup now and then.

``stop()`` (SIGTERM): stop leasing, give back jobs not yet started, let running ones finish
within the grace period, then cancel and *release* the rest (back to ready at once, the
interrupted attempt not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from scalegate.errors import StateBackendError
from scalegate.jobs.attempts import AttemptSettler
from scalegate.jobs.autoscale import desired_concurrency
from scalegate.jobs.callbacks import CallbackSender
from scalegate.jobs.counters import PoolCounters
from scalegate.jobs.model import Job
from scalegate.jobs.queue import JobQueue
from scalegate.jobs.runner import Outcome, Runner
from scalegate.state.outage import Outages

logger = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0  # longest blind wait of an idle fetcher (the wake-up signal is faster)
CLEANUP_EVERY_SECONDS = 60.0
SCALE_DOWN_TICKS = 3


@dataclass(eq=False, slots=True)
class _Held:
    job: Job
    task: asyncio.Task[Outcome] | None = None
    lost: bool = False  # the renewer found the lease gone: drop the answer
    release: bool = False  # shutdown: give the job back instead of settling it


class WorkerPool:
    """Workers for one process around a :class:`JobQueue` and a runner."""

    def __init__(
        self,
        queue: JobQueue,
        runner: Runner,
        *,
        capacity: Callable[[], Awaitable[int | None]] | None = None,
        concurrency: int | None = None,
        rng: random.Random | None = None,
        outages: Outages | None = None,
    ) -> None:
        self.outages = outages or Outages.from_settings()
        self.queue = queue
        self.backend = queue.backend
        self.config = queue.config
        self.runner = runner
        self.capacity = capacity
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        start = self.config.worker_concurrency if concurrency is None else concurrency
        self.target = self._clamp(start)
        self.counters = PoolCounters()
        self.callbacks = CallbackSender(self.config, self.backend.annotate, clock=queue.clock)
        self.outcomes = AttemptSettler(
            queue,
            self.owner,
            self.callbacks,
            self.counters,
            rng or random.Random(),  # noqa: S311 - jitter
        )
        self._inbox: asyncio.Queue[Job] = asyncio.Queue()
        self._held: dict[str, _Held] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()
        self._service: list[asyncio.Task[None]] = []
        self._space = asyncio.Event()
        self._waiter: asyncio.Task[None] | None = None
        self._stopping = False
        self._started = False
        self._low_ticks = 0
        self.started_at = time.time()

    def _clamp(self, n: int) -> int:
        return max(self.config.min_concurrency, min(self.config.max_concurrency, n))

    @property
    def visibility_ms(self) -> int:
        return int(self.config.visibility_timeout_seconds * 1000)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.callbacks.start()
        self._started = True
        for _ in range(self.target):
            self._spawn_worker()
        self._service = [
            asyncio.ensure_future(self._fetch_loop()),
            asyncio.ensure_future(self._renew_loop()),
            asyncio.ensure_future(self._scale_loop()),
        ]
        logger.info("worker pool %s started with %d task(s)", self.owner, self.target)

    async def stop(self, grace: float | None = None) -> None:
        """Stop leasing; finish held jobs within ``grace`` seconds, release the rest."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        grace = self.config.shutdown_grace_seconds if grace is None else grace
        self._space.set()
        if self._waiter is not None:
            self._waiter.cancel()
        fetcher = self._service[0]
        with contextlib.suppress(asyncio.CancelledError):
            await fetcher
        for task in list(self._idle):  # idle workers: nothing to finish
            task.cancel()
        while not self._inbox.empty():  # leased but never started: give back now
            job = self._inbox.get_nowait()
            self._held.pop(job.id, None)
            await self.outcomes.release(job)
        await self._finish_within(grace)
        if self._workers:
            await asyncio.wait(set(self._workers))
        for task in self._service[1:]:
            task.cancel()
        await asyncio.gather(*self._service[1:], return_exceptions=True)
        await self.callbacks.close(grace=max(1.0, grace))
        with contextlib.suppress(Exception):
            await self.backend.forget_worker(self.owner)
        logger.info("worker pool %s stopped", self.owner)

    async def _finish_within(self, grace: float) -> None:
        """Let running attempts end until the deadline; then cancel and release the rest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while running := [
            h.task for h in self._held.values() if h.task is not None and not h.task.done()
        ]:
            remaining = deadline - loop.time()
            if remaining <= 0:
                for held in list(self._held.values()):
                    if held.task is not None and not held.task.done():
                        held.release = True
                        held.task.cancel()
                return
            await asyncio.wait(running, timeout=remaining)

    # -- workers -----------------------------------------------------------------------------

    def _spawn_worker(self, restarted: bool = False) -> None:
        task = asyncio.ensure_future(self._work(restarted))
        self._workers.add(task)
        task.add_done_callback(self._worker_done)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        self._workers.discard(task)
        self._idle.discard(task)
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is None:
            return  # scaled down
        self.counters.restarts += 1
        logger.error("worker task crashed: %r", exc, exc_info=exc)
        if self.config.auto_restart:
            self._spawn_worker(restarted=True)

    async def _work(self, restarted: bool) -> None:
        if restarted:
            await asyncio.sleep(0.1)  # do not spin if the backend is down
        me = asyncio.current_task()
        assert me is not None
        while not self._stopping:
            if len(self._workers) > self.target and self._inbox.empty():
                self._workers.discard(me)  # at once, so that two tasks cannot both leave
                return  # scaled down
            self._idle.add(me)
            try:
                job = await self._inbox.get()
            finally:
                self._idle.discard(me)
            await self._process(job)

    async def _process(self, job: Job) -> None:
        held = self._held.get(job.id)
        if held is None or held.lost:
            self._held.pop(job.id, None)
            return
        if self._stopping:  # taken from the inbox as shutdown began: not started, give back
            self._held.pop(job.id, None)
            await self.outcomes.release(job)
            return
        started = time.perf_counter()
        try:
            outcome: Outcome | None
            if job.attempts > job.max_attempts:
                # Leased again after its lease expired on every attempt (workers killed).
                outcome = Outcome.retry(500, "the job's lease expired on every attempt")
            else:
                outcome = await self._run(held)
            if outcome is None:
                return
            self.counters.max_active = max(self.counters.max_active, self.active)
            await self.outcomes.settle(job, outcome, time.perf_counter() - started)
        finally:
            self._held.pop(job.id, None)
            self._space.set()

    async def _run(self, held: _Held) -> Outcome | None:
        """The runner's outcome; ``None`` when the attempt was dropped (lost or released)."""
        held.task = asyncio.ensure_future(self.runner(held.job))
        self.counters.max_active = max(self.counters.max_active, self.active)
        try:
            return await held.task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise
            if held.release:
                await self.outcomes.release(held.job)
                self.counters.outcome("released")
            else:
                self.counters.outcome("lost")
            return None
        except Exception as exc:  # a bad job must never take the worker down
            logger.exception("job %s: unexpected error in the runner", held.job.id)
            return Outcome.retry(500, f"internal error while running the job: {exc!r}")

    # -- fetcher -----------------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        while not self._stopping:
            try:
                await self._fetch_once()
            except asyncio.CancelledError:
                if self.stopping:
                    return
                raise
            except StateBackendError as exc:  # the queue's policy: pause, resume by itself
                self.outages.failed("queue", exc)
                await asyncio.sleep(1.0)
                continue
            except Exception:
                logger.exception("job fetcher: backend failed; retrying in 1s")
                await asyncio.sleep(1.0)
                continue
            if self.outages.down:
                self.outages.recovered("queue")

    async def _fetch_once(self) -> None:
        free = self.target - len(self._held)
        if free <= 0:
            self._space.clear()
            await self._space.wait()
            return
        asked = min(free, self.config.lease_batch)
        now = self.queue.now_ms()
        leased = await self.backend.lease(self.owner, asked, now, self.visibility_ms)
        for job in leased.jobs:
            self._held[job.id] = _Held(job)
            self._inbox.put_nowait(job)
        self.counters.leased += len(leased.jobs)
        if len(leased.jobs) < asked and not self._stopping:
            timeout = IDLE_POLL_SECONDS
            if leased.next_due_ms is not None:
                timeout = min(timeout, max(0.005, (leased.next_due_ms - now) / 1000))
            self._waiter = asyncio.ensure_future(self.backend.wait_for_work(timeout))
            try:
                await self._waiter
            except asyncio.CancelledError:
                if not self.stopping:
                    raise
            finally:
                self._waiter = None

    # -- renewer and heartbeat ---------------------------------------------------------------

    async def _renew_loop(self) -> None:
        interval = self.config.visibility_timeout_seconds / 3
        while True:
            try:
                await self._renew_once()
            except Exception:
                logger.warning("lease renewal failed; retrying", exc_info=True)
            await asyncio.sleep(interval)

    async def _renew_once(self) -> None:
        now = self.queue.now_ms()
        held = [(h.job.id, h.job.attempts) for h in list(self._held.values())]
        lost = await self.backend.renew(self.owner, held, now, self.visibility_ms)
        for job_id in lost:
            h = self._held.get(job_id)
            if h is None:
                continue
            h.lost = True
            if h.task is not None and not h.task.done():
                logger.info("job %s was canceled or taken over; dropping its attempt", job_id)
                h.task.cancel()
        await self.backend.heartbeat(self.owner, self.heartbeat_info(), now)

    def heartbeat_info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "concurrency": self.target,
            "active": self.active,
            "idle": self.idle,
            "restarts": self.counters.restarts,
            "started_at": int(self.started_at),
            # Attempt count and seconds by outcome: the gateway's metrics sum the live pools'.
            "durations": {
                k: [d.count, round(d.total, 6)] for k, d in self.counters.durations.items()
            },
        }

    # -- scaler ------------------------------------------------------------------------------

    async def _scale_loop(self) -> None:
        last_cleanup = 0.0
        while True:
            try:
                await self.rescale()
                if time.monotonic() - last_cleanup > CLEANUP_EVERY_SECONDS:
                    last_cleanup = time.monotonic()
                    await self.queue.cleanup()
            except Exception:
                logger.warning("autoscaling step failed", exc_info=True)
            await asyncio.sleep(self.config.scale_interval_seconds)

    async def rescale(self) -> int:
        """One autoscaling step; returns the new target."""
        ready = await self.backend.ready_depth()
        free = await self.capacity() if self.capacity is not None else None
        target = desired_concurrency(
            self.active,
            ready,
            free,
            self.config.min_concurrency,
            self.config.max_concurrency,
        )
        # Grow at once; shrink only after SCALE_DOWN_TICKS steps in a row wanted less, so a
        # short gap between bursts does not tear tasks down and build them up again.
        self._low_ticks = self._low_ticks + 1 if target < self.target else 0
        if target > self.target or self._low_ticks >= SCALE_DOWN_TICKS:
            self._low_ticks = 0
            self.resize(target)
        return self.target

    def resize(self, target: int) -> None:
        target = self._clamp(target)
        if self._stopping or target == self.target:
            return
        if target > self.target:
            self.counters.scale_ups += 1
        else:
            self.counters.scale_downs += 1
        self.target = target
        while len(self._workers) < target:
            self._spawn_worker()
        surplus = len(self._workers) - target
        for task in list(self._idle)[: max(0, surplus)]:
            task.cancel()
        self._space.set()

    # -- state -------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def active(self) -> int:
        return sum(1 for h in self._held.values() if h.task is not None and not h.task.done())

    @property
    def idle(self) -> int:
        return len(self._idle)

    def stats(self) -> dict[str, Any]:
        """Plain numbers for metrics, health and the CLI."""
        c = self.counters
        return {
            "owner": self.owner,
            "concurrency": self.target,
            "min_concurrency": self.config.min_concurrency,
            "max_concurrency": self.config.max_concurrency,
            "workers": len(self._workers),
            "active": self.active,
            "idle": self.idle,
            "held": len(self._held),
            "max_active": c.max_active,
            "leased": c.leased,
            "restarts": c.restarts,
            "scale_ups": c.scale_ups,
            "scale_downs": c.scale_downs,
            "outcomes": dict(c.outcomes),
            "durations": {
                k: {"count": d.count, "sum_seconds": round(d.total, 6), "max_seconds": d.max}
                for k, d in c.durations.items()
            },
            "callbacks": dict(self.callbacks.counts),
            "stopping": self._stopping,
        }
