"""Jobs: a priority queue with leases, retries and dead letters, and the workers that run it.

* :mod:`~scalegate.jobs.model` — ``Job``, ``JobState``, ``Batch``, ids and the ready score;
* :mod:`~scalegate.jobs.backend` — the ``QueueBackend`` protocol; :mod:`.memory` and
  :mod:`.redis_queue` implement it (the Redis one with a Lua script per state change);
* :mod:`~scalegate.jobs.queue` — ``JobQueue``, the producer API (library and HTTP routes);
* :mod:`~scalegate.jobs.runner` — how a job runs through the pipeline, outcome mapping;
* :mod:`~scalegate.jobs.pool` — ``WorkerPool``: leasing, renewal, autoscaling, restarts,
  graceful shutdown; :mod:`.autoscale` and :mod:`.callbacks` beside it.
"""

from scalegate.jobs.backend import Leased, QueueBackend
from scalegate.jobs.callbacks import verify_signature
from scalegate.jobs.memory import MemoryQueue
from scalegate.jobs.model import Batch, Job, JobState
from scalegate.jobs.pool import WorkerPool
from scalegate.jobs.queue import ANY_TENANT, JobQueue
from scalegate.jobs.redis_queue import RedisQueue
from scalegate.jobs.runner import Outcome, PipelineRunner, Runner

__all__ = [
    "ANY_TENANT",
    "Batch",
    "Job",
    "JobQueue",
    "JobState",
    "Leased",
    "MemoryQueue",
    "Outcome",
    "PipelineRunner",
    "QueueBackend",
    "RedisQueue",
    "Runner",
    "WorkerPool",
    "verify_signature",
]
