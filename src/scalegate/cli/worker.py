"""``scalegate worker``: a job worker process for shared mode (``REDIS_URL`` required).

It builds the same :class:`~scalegate.gateway.Gateway` as ``scalegate serve`` (key pool,
upstream client, pipeline) without the HTTP server, and runs a worker pool on the shared
queue until SIGTERM or SIGINT; then it stops leasing, finishes or releases what it holds
within ``queue.shutdown_grace_seconds`` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from scalegate.config import Settings, load_settings
from scalegate.errors import ConfigError

logger = logging.getLogger("scalegate.cli")


async def run_worker(settings: Settings) -> int:
    from scalegate.gateway import Gateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gateway = Gateway(settings, workers=True)
    await gateway.start()
    assert gateway.workers is not None
    logger.info(
        "worker %s ready: %d task(s), between %d and %d",
        gateway.workers.owner,
        gateway.workers.target,
        settings.queue.min_concurrency,
        settings.queue.max_concurrency,
    )
    try:
        await stop.wait()
        logger.info("stopping: finishing or releasing held jobs")
    finally:
        await gateway.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    import uvloop

    overrides = {}
    if args.concurrency is not None:
        overrides["queue.worker_concurrency"] = args.concurrency
    settings = load_settings(args.config, **overrides)
    if not settings.redis_url:
        raise ConfigError(
            "scalegate worker needs REDIS_URL (shared mode); without it the queue lives "
            "inside `scalegate serve`, which runs its own workers"
        )
    return uvloop.run(run_worker(settings))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="run job workers on the shared (Redis) queue")
    worker.add_argument("--config", help="YAML configuration file (or SCALEGATE_CONFIG)")
    worker.add_argument("--concurrency", type=int, help="initial worker tasks (WORKER_CONCURRENCY)")
    worker.set_defaults(func=_worker)
