"""The simulator in a background thread with its own event loop, for synchronous callers.

Tests use it to put a real simulator on 127.0.0.1 next to synchronous SDK clients::

    with SimulatorThread(config, clock=ManualClock()) as sim:
        client = anthropic.Anthropic(api_key="sk-a", base_url=sim.url, max_retries=0)
        ...
        sim.simulator.stats  # live objects: read them between requests, or via sim.call()
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from scalegate.clock import Clock
from scalegate.simulator.config import SimulatorConfig
from scalegate.simulator.server import SimulatorServer
from scalegate.simulator.state import Simulator

T = TypeVar("T")


class SimulatorThread:
    """Run a :class:`SimulatorServer` in a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.server = SimulatorServer(config, host, port, clock)
        self._start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="scalegate-simulator", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await self.server.stop()

    def start(self) -> SimulatorThread:
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError(f"simulator did not start within {self._start_timeout} s")
        if self._error is not None:
            raise RuntimeError(f"simulator failed to start: {self._error}") from self._error
        return self

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        """Run a coroutine in the simulator's loop (to touch its live state safely)."""
        if self._loop is None:
            raise RuntimeError("the simulator thread is not running")
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive() and self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
