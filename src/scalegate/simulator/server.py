"""Building and serving the simulator: the aiohttp app, an in-loop server, the blocking runner.

The simulator runs on ``aiohttp.web`` — a different stack from the gateway's — with
``handler_cancellation=True``, so a client that disconnects cancels its handler and the
stream's accounting (output sent, OTPM refund, ``streams_cancelled``) happens at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from types import TracebackType

from aiohttp import web

from scalegate.clock import Clock
from scalegate.simulator.config import SimulatorConfig
from scalegate.simulator.control import add_control_routes
from scalegate.simulator.messages import post_messages
from scalegate.simulator.recorder import recording_middleware
from scalegate.simulator.responses import MAX_REQUEST_BYTES, envelope_middleware
from scalegate.simulator.routes import get_model, get_models, head_root, post_count_tokens
from scalegate.simulator.state import SIMULATOR_KEY, Simulator

logger = logging.getLogger(__name__)


def create_simulator_app(config: SimulatorConfig, clock: Clock | None = None) -> web.Application:
    """A fresh simulator app; its live state is ``app[SIMULATOR_KEY]``.

    Serve it with ``AppRunner(app, handler_cancellation=True)`` (as :class:`SimulatorServer`
    does) or client disconnects are only noticed at the next write.
    """
    sim = Simulator(config, clock)
    app = web.Application(
        middlewares=[envelope_middleware, recording_middleware(sim.requests)],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[SIMULATOR_KEY] = sim
    app.router.add_route("HEAD", "/", head_root)  # clients (Claude Code) probe connectivity
    app.router.add_post("/v1/messages", post_messages)
    app.router.add_post("/v1/messages/count_tokens", post_count_tokens)
    app.router.add_get("/v1/models", get_models)
    app.router.add_get("/v1/models/{model_id}", get_model)
    add_control_routes(app)

    async def release_holds(app: web.Application) -> None:
        app[SIMULATOR_KEY].holds.release_all()

    app.on_shutdown.append(release_holds)
    return app


class SimulatorServer:
    """The simulator on a real port inside an already running event loop.

    ``port=0`` picks a free port; :attr:`url` gives the one bound. Usable as
    ``async with SimulatorServer(config) as server: ...``.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.app = create_simulator_app(config, clock)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def simulator(self) -> Simulator:
        return self.app[SIMULATOR_KEY]

    @property
    def url(self) -> str:
        """``http://host:port`` with the port actually bound (after :meth:`start`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        logger.info(
            "simulated provider listening on %s (%d keys, unknown keys %s)",
            self.url,
            len(self.simulator.config.keys),
            "accepted" if self.simulator.config.accept_unknown_keys else "refused",
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_until_signalled(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible outside the main thread or on Windows: Ctrl-C still ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with SimulatorServer(config, host, port):
        await stop.wait()
    logger.info("simulated provider stopped")


def run_simulator(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Serve the simulator in the foreground (``scalegate simulate``) until SIGINT/SIGTERM."""
    # A Ctrl-C that arrives before the handlers are installed is still a clean exit.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_until_signalled(config, host, port))
