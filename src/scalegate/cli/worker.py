"""``scalegate worker``: a job worker process for shared mode (``REDIS_URL`` required).

It builds the same :class:`~scalegate.gateway.Gateway` as ``scalegate serve`` (key pool,
upstream client, pipeline) without the HTTP server, and runs a worker pool on the shared
queue until SIGTERM or SIGINT; then it stops leasing, finishes or releases what it holds
within ``queue.shutdown_grace_seconds`` and exits 0.

With ``--port`` it also answers ``/healthz``, ``/readyz``, ``/api/monitoring/health`` and
``/metrics`` (its own job outcomes, durations, retries and key use) on that port, for
orchestrators' probes and Prometheus; nothing else is served there. The probe server starts
before the workers do and stops after they finished, so ``/readyz`` answers 503 while the
process is still starting and while it drains.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scalegate.config import Settings, load_settings
from scalegate.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn

    from scalegate.gateway import Gateway

logger = logging.getLogger("scalegate.cli")


async def run_worker(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> int:
    from scalegate.gateway import Gateway

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gateway = Gateway(settings, workers=True)
    probes = None if port is None else await _start_probes(gateway, host, port)
    try:
        await gateway.start()
        assert gateway.workers is not None
        logger.info(
            "worker %s ready: %d task(s), between %d and %d",
            gateway.workers.owner,
            gateway.workers.target,
            settings.queue.min_concurrency,
            settings.queue.max_concurrency,
        )
        await stop.wait()
        logger.info("stopping: finishing or releasing held jobs")
    finally:
        await gateway.stop()
        if probes is not None:
            server, task = probes
            server.should_exit = True
            await task
    return 0


async def _start_probes(
    gateway: Gateway, host: str, port: int
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    import uvicorn
    from starlette.applications import Starlette

    from scalegate.routes.monitoring import probe_routes

    class ProbeServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the worker's own handlers decide when to stop

    app = Starlette(routes=probe_routes(gateway))
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", access_log=False, log_level="warning"
    )
    server = ProbeServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(), name="scalegate-probes")
    while not server.started:
        if task.done():  # the port was taken, say: its error, not a hang
            await task
            raise ConfigError(f"scalegate worker: cannot listen on {host}:{port}")
        await asyncio.sleep(0.01)
    logger.info("worker probes on http://%s:%d (/healthz, /readyz, /metrics)", host, port)
    return server, task


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
    return uvloop.run(run_worker(settings, args.host, args.port))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="run job workers on the shared (Redis) queue")
    worker.add_argument("--config", help="YAML configuration file (or SCALEGATE_CONFIG)")
    worker.add_argument("--concurrency", type=int, help="initial worker tasks (WORKER_CONCURRENCY)")
    worker.add_argument(
        "--port",
        type=int,
        help="serve /healthz, /readyz and /metrics on this port (default: no HTTP at all)",
    )
    worker.add_argument(
        "--host", default="127.0.0.1", help="address of the --port server (default 127.0.0.1)"
    )
    worker.set_defaults(func=_worker)
