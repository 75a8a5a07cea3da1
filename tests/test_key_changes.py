"""Keys added, disabled and removed at run time — on every replica — and on SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
import yaml

from scalegate.config import Settings
from scalegate.keys import fingerprint
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, messages_body, sim_post
from tests.helpers import request as http
from tests.processes import GatewayProcess

TOKEN = "admin-token-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
ROOMY = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def listed(url: str) -> set[str]:
    return {k["key"] for k in http(url, "GET", "/admin/keys", headers=AUTH).json()["keys"]}


def used_keys(url: str, n: int = 6) -> set[str]:
    out = set()
    for _ in range(n):
        resp = http(url, "POST", "/v1/messages", messages_body(), dict(OLD_STYLE))
        assert resp.status == 200, resp.body
        out.add(resp.headers["x-scalegate-key"])
    return out


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_add_disable_remove_at_run_time(
    shared: bool,
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], Any],
    request: pytest.FixtureRequest,
) -> None:
    sim = start_sim(sim_config({KEY_A: ROOMY, KEY_B: ROOMY}))
    extra: dict[str, Any] = {"admin_token": TOKEN}
    if shared:
        extra["redis_url"] = request.getfixturevalue("redis_url")
    settings = gateway_settings(sim.url, [{"secret": KEY_A, "limits": ROOMY}], **extra)
    replicas = [start_gateway(settings) for _ in range(2 if shared else 1)]
    first, last = replicas[0].url, replicas[-1].url
    a, b = fingerprint(KEY_A), fingerprint(KEY_B, "added")

    new_key = {"secret": KEY_B, "name": "added", "limits": ROOMY}
    resp = http(first, "POST", "/admin/keys", new_key, AUTH)
    assert resp.status == 201
    assert resp.json() == {"key": b, "status": "added"}
    assert KEY_B not in resp.body.decode()
    wait_until(lambda: listed(last) == {a, b})  # every replica follows

    # disabling on one replica stops its use everywhere
    assert http(first, "POST", f"/admin/keys/{a}/disable", headers=AUTH).status == 200
    assert used_keys(last) == {b}
    assert http(last, "POST", f"/admin/keys/{a}/enable", headers=AUTH).status == 200
    assert used_keys(first, 10) == {a, b}

    assert http(last, "DELETE", f"/admin/keys/{b}", headers=AUTH).status == 200
    wait_until(lambda: listed(first) == {a})
    assert used_keys(first) == {a}
    assert http(first, "DELETE", "/admin/keys/key-00000000", headers=AUTH).status == 404

    bad = http(first, "POST", "/admin/keys", {"secret": KEY_B, "limits": {"rpm": -1}}, AUTH)
    assert bad.status == 400
    assert "limits.rpm" in bad.json()["error"]["message"]
    assert KEY_B not in bad.body.decode()


def test_cli_adds_a_key_with_the_secret_from_the_environment(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], Any],
) -> None:
    sim = start_sim(sim_config({KEY_A: ROOMY, KEY_B: ROOMY}))
    gw = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A}], admin_token=TOKEN))
    env = {
        **os.environ,
        "SCALEGATE_URL": gw.url,
        "SCALEGATE_ADMIN_TOKEN": TOKEN,
        "NEW_KEY": KEY_B,
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "scalegate.cli",
            "keys",
            "add",
            "--secret-env",
            "NEW_KEY",
            "--limits",
            "rpm=500,itpm=100000",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert fingerprint(KEY_B) in out.stdout
    assert KEY_B not in out.stdout + out.stderr
    assert listed(gw.url) == {fingerprint(KEY_A), fingerprint(KEY_B)}
    out = subprocess.run(
        [sys.executable, "-m", "scalegate.cli", "keys", "remove", fingerprint(KEY_B)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert listed(gw.url) == {fingerprint(KEY_A)}


def test_sighup_reloads_keys_without_dropping_requests(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: ROOMY, KEY_B: ROOMY}))
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": KEY_A, "limits": ROOMY}],
        "admin_token": TOKEN,
    }
    gw = GatewayProcess(config).start()
    try:
        result: dict[str, Any] = {}

        def held() -> None:
            client = anthropic.Anthropic(api_key="c", base_url=gw.url, max_retries=0)
            with (
                client,
                client.messages.stream(
                    model=MODEL,
                    max_tokens=20,
                    messages=[{"role": "user", "content": "x [sim:tokens=4]"}],
                    extra_headers={"x-sim-hold": "reload"},
                ) as s,
            ):
                result["tokens"] = s.get_final_message().usage.output_tokens

        thread = threading.Thread(target=held)
        thread.start()
        wait_until(lambda: http(sim.url, "GET", "/_sim/holds").json()["holds"] == ["reload"])

        config["keys"] = [{"secret": KEY_B, "limits": ROOMY}]
        gw.config_path.write_text(yaml.safe_dump(config))
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: listed(gw.url) == {fingerprint(KEY_B)})
        assert used_keys(gw.url) == {fingerprint(KEY_B)}

        sim_post(sim.url, "/_sim/release/reload")  # the request in flight on KEY_A finishes
        thread.join(timeout=30)
        assert result == {"tokens": 4}

        gw.config_path.write_text("keys: [{secret: x, limits: {rpm: -5}}]\n")
        gw.proc.send_signal(signal.SIGHUP)  # a broken file changes nothing, and says why
        wait_until(lambda: "configuration not reloaded" in gw.log())
        assert listed(gw.url) == {fingerprint(KEY_B)}
        assert gw.proc.poll() is None
    finally:
        gw.close()
