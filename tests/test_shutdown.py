"""SIGTERM drains: in-flight requests finish, new connections are refused, exit code 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anthropic

from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, MODEL, sim_config
from tests.helpers import request, sim_post


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_sigterm_drains_in_flight_requests_and_exits_0(
    start_sim: Callable[[SimulatorConfig], SimulatorThread], tmp_path: Path
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 1000}}))
    port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(f"upstream: {{base_url: '{sim.url}'}}\nkeys: [{{secret: {KEY_A}}}]\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scalegate.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until(lambda: accepting(port))
        url = f"http://127.0.0.1:{port}"
        results: dict[str, object] = {}

        def stream(name: str) -> None:
            client = anthropic.Anthropic(api_key="c", base_url=url, max_retries=0)
            try:
                with client.messages.stream(
                    model=MODEL,
                    max_tokens=50,
                    messages=[{"role": "user", "content": f"{name} [sim:tokens=9]"}],
                    extra_headers={"x-sim-hold": name},
                ) as s:
                    results[name] = s.get_final_message().usage.output_tokens
            except Exception as exc:  # recorded and asserted below
                results[name] = exc
            finally:
                client.close()

        def plain() -> None:
            client = anthropic.Anthropic(api_key="c", base_url=url, max_retries=0)
            try:
                message = client.messages.create(
                    model=MODEL,
                    max_tokens=50,
                    messages=[{"role": "user", "content": "plain [sim:tokens=4]"}],
                    extra_headers={"x-sim-hold": "plain"},
                )
                results["plain"] = message.usage.output_tokens
            except Exception as exc:
                results["plain"] = exc
            finally:
                client.close()

        threads = [threading.Thread(target=stream, args=(f"s{i}",)) for i in range(3)]
        threads.append(threading.Thread(target=plain))
        for t in threads:
            t.start()
        wait_until(lambda: len(request(sim.url, "GET", "/_sim/holds").json()["holds"]) == 4)

        proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not accepting(port))  # new connections are refused while draining
        assert proc.poll() is None  # ...but the process is still finishing its requests

        for name in ("s0", "s1", "s2", "plain"):
            sim_post(sim.url, f"/_sim/release/{name}")
        for t in threads:
            t.join(timeout=30)
        assert results == {"s0": 9, "s1": 9, "s2": 9, "plain": 4}
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0].decode()
    assert KEY_A not in output
    assert "Traceback" not in output
