"""Serving the simulator: inside a running loop (as ``serve`` demo mode does) and as a process."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import orjson

from scalegate.clock import ManualClock
from scalegate.simulator import SimKeyLimits, SimulatorConfig, SimulatorServer
from scalegate.sse import SSEParser

MODEL = "claude-haiku-4-5-20251001"
KEY = "sk-sim-server"
OLD_STYLE = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


def body(prompt: str = "hi", *, stream: bool = False, max_tokens: int = 20) -> bytes:
    return orjson.dumps(
        {
            "model": MODEL,
            "max_tokens": max_tokens,
            "stream": stream,
            "messages": [{"role": "user", "content": prompt}],
        }
    )


async def test_in_loop_server_streams_to_an_aiohttp_client() -> None:
    config = SimulatorConfig(keys={KEY: SimKeyLimits(rpm=10)})
    async with (
        SimulatorServer(config) as server,
        aiohttp.ClientSession(base_url=server.url) as session,
    ):
        assert server.url.startswith("http://127.0.0.1:")
        assert not server.url.endswith(":0")
        async with session.post(
            "/v1/messages", data=body("[sim:tokens=9]", stream=True), headers=OLD_STYLE
        ) as response:
            assert response.status == 200
            parser = SSEParser()
            names = [
                e.event async for chunk in response.content.iter_any() for e in parser.feed(chunk)
            ]
        assert names[:3] == ["message_start", "ping", "content_block_start"]
        assert names[-2:] == ["message_delta", "message_stop"]
        assert server.simulator.stats.keys[KEY].streams_completed == 1
        assert server.simulator.stats.keys[KEY].output_tokens == 9


async def test_concurrent_clients_never_exceed_the_quota() -> None:
    # 40 requests at one frozen instant against rpm=10: exactly 10 admitted, none lost.
    config = SimulatorConfig(keys={KEY: SimKeyLimits(rpm=10, otpm=1000)})
    async with (
        SimulatorServer(config, clock=ManualClock()) as server,
        aiohttp.ClientSession(base_url=server.url) as session,
    ):

        async def one(i: int) -> int:
            async with session.post(
                "/v1/messages", data=body(f"question {i}", max_tokens=50), headers=OLD_STYLE
            ) as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(one(i) for i in range(40)))
        stats = server.simulator.stats.keys[KEY]
    assert sorted(statuses) == [200] * 10 + [429] * 30
    assert stats.requests == 40
    assert stats.accepted == 10
    assert stats.quota_429 == 30
    assert stats.in_flight == 0
    assert stats.max_in_flight >= 1
    assert len(stats.events) == 40


async def test_oversized_request_is_a_413() -> None:
    config = SimulatorConfig(keys={KEY: SimKeyLimits()})
    async with (
        SimulatorServer(config) as server,
        aiohttp.ClientSession(base_url=server.url) as session,
    ):
        huge = io.BytesIO(body("x" * (33 * 1024 * 1024)))
        async with session.post("/v1/messages", data=huge, headers=OLD_STYLE) as response:
            assert response.status == 413
            error = orjson.loads(await response.read())
        assert error["error"]["type"] == "request_too_large"
        assert server.simulator.stats.keys[KEY].status_counts == {"413": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_run_simulator_exits_cleanly_on_sigterm() -> None:
    port = _free_port()
    script = (
        "from scalegate.simulator import SimulatorConfig, run_simulator\n"
        f"run_simulator(SimulatorConfig(accept_unknown_keys=True), '127.0.0.1', {port})\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "simulator process did not start"
                time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
