"""Shared fixtures: a real simulator and a real gateway on 127.0.0.1, official SDKs as clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from scalegate.app import create_app
from scalegate.config import Settings, load_settings
from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorThread
from tests.redis_server import RedisServer
from tests.servers import ServerThread

# Obviously fake secrets; long enough that a leak scan can look for any 12-character run.
KEY_A = "sk-test-alpha-0123456789abcdefghij"
KEY_B = "sk-test-bravo-0123456789abcdefghij"
KEY_C = "sk-test-charlie-0123456789abcdefgh"
MODEL = "claude-sonnet-4-6"


def sim_config(limits: dict[str, dict[str, int | None]], **extra: Any) -> SimulatorConfig:
    return SimulatorConfig.model_validate(
        {"keys": {k: SimKeyLimits(**v) for k, v in limits.items()}, **extra}
    )


def gateway_settings(sim_url: str, keys: list[dict[str, Any]], **tree: Any) -> Settings:
    """Settings for a gateway in front of ``sim_url`` (no environment is read)."""
    overrides = {"upstream.base_url": sim_url, "keys": keys}
    for dotted, value in tree.items():
        overrides[dotted.replace("__", ".")] = value
    return load_settings(None, {}, **overrides)


@pytest.fixture
def start_sim() -> Iterator[Callable[[SimulatorConfig], SimulatorThread]]:
    started: list[SimulatorThread] = []

    def start(config: SimulatorConfig) -> SimulatorThread:
        sim = SimulatorThread(config)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def start_gateway() -> Iterator[Callable[[Settings], ServerThread]]:
    started: list[ServerThread] = []

    def start(settings: Settings) -> ServerThread:
        server = ServerThread(create_app(settings)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sim(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    """A simulator with three keys and generous limits."""
    limits = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
    return start_sim(sim_config({KEY_A: limits, KEY_B: limits, KEY_C: limits}))


@pytest.fixture
def gateway(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> ServerThread:
    """A gateway in front of ``sim`` holding its three keys."""
    limits = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
    keys = [{"secret": k, "limits": limits} for k in (KEY_A, KEY_B, KEY_C)]
    return start_gateway(gateway_settings(sim.url, keys))


@pytest.fixture
def make_client() -> Iterator[Callable[..., anthropic.Anthropic]]:
    """Official SDK clients (no SDK-side retries: the gateway's own behaviour is under test)."""
    clients: list[anthropic.Anthropic] = []

    def make(base_url: str, api_key: str = "client-key", **kw: Any) -> anthropic.Anthropic:
        kw.setdefault("max_retries", 0)
        client = anthropic.Anthropic(api_key=api_key, base_url=base_url, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session; ``redis_url`` flushes it for each test."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if not redis_server.ping():  # a test stopped it to simulate an outage
        redis_server.start()
    assert redis_server.command("FLUSHALL").startswith(b"+OK")
    return redis_server.url
