"""A simulated Anthropic provider that behaves like the real one where it matters for scaling.

An Anthropic-Messages-compatible HTTP server (on ``aiohttp.web``) with per-key token buckets
for RPM/ITPM/OTPM, real ``anthropic-ratelimit-*`` headers and 429 + ``retry-after``,
streaming with the provider's event sequence, prompt caching, deterministic answers, fault
injection, and a ``/_sim`` control API with usage statistics. The official SDKs work against
it unchanged. It speaks today's API: ``system`` messages inside ``messages``, unknown block
types accepted, structured outputs (``output_config.format``), thinking blocks with
signatures, each model's own ``max_tokens`` ceiling, rate limits pooled per model class with
cache reads free for ITPM, and ``HEAD /``. With ``record_requests`` set it keeps what arrived
byte for byte (``GET /_sim/requests``), so tests can check a proxy forwarded it untouched.
Sources for the provider facts: ``docs/provider-facts.md``.

It never imports the gateway's estimator, key pool or config: it counts tokens
by its own rule (:mod:`scalegate.simulator.tokens`) so tests comparing the two mean something.

Entry points:

* :func:`create_simulator_app` — the aiohttp app (state at ``app[SIMULATOR_KEY]``);
* :class:`SimulatorServer` — serve it inside a running event loop (``async with``);
* :class:`SimulatorThread` — serve it from a background thread, for synchronous callers;
* :func:`run_simulator` — blocking, for ``scalegate simulate``;
* :func:`load_simulator_config` — YAML/JSON file → :class:`SimulatorConfig`.

Request headers the simulator understands besides the provider's: ``x-sim-fault``
(``500|529|429|overloaded_first|overloaded_midstream|drop|drop_midstream|slow``),
``x-sim-hold: <id>``, ``x-sim-latency-ms`` and ``x-sim-tag`` (recorded with the request's
event in the statistics, so a test can follow one request's retries). Directives in the last
user message:
``[sim:tokens=N]`` and ``[sim:tool]`` (see :mod:`scalegate.simulator.answers`).
"""

from __future__ import annotations

from scalegate.simulator.config import (
    FaultConfig,
    KeyFaultRates,
    LatencyConfig,
    SimKeyLimits,
    SimulatorConfig,
    load_simulator_config,
)
from scalegate.simulator.server import SimulatorServer, create_simulator_app, run_simulator
from scalegate.simulator.state import SIMULATOR_KEY, Simulator
from scalegate.simulator.thread import SimulatorThread

__all__ = [
    "SIMULATOR_KEY",
    "FaultConfig",
    "KeyFaultRates",
    "LatencyConfig",
    "SimKeyLimits",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "SimulatorThread",
    "create_simulator_app",
    "load_simulator_config",
    "run_simulator",
]
