"""Prompt-cache affinity: a cached prefix goes back to the key that cached it, across replicas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.keys import fingerprint
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, KEY_C, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, sim_stats
from tests.helpers import request as http
from tests.servers import ServerThread

KEYS = (KEY_A, KEY_B, KEY_C)
SYSTEM = "You are a meticulous assistant for a large retailer. " * 40


def cached_body(question: str) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": f"{question} [sim:tokens=3]"}],
    }


def plain_body(question: str) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": f"{question} [sim:tokens=3]"}],
    }


def post(gw: ServerThread, body: dict[str, Any]) -> str:
    resp = http(gw.url, "POST", "/v1/messages", body, dict(OLD_STYLE))
    assert resp.status == 200, resp.body
    return resp.headers["x-scalegate-key"]


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_a_cached_prefix_returns_to_its_key_on_every_replica(
    shared: bool,
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    request: pytest.FixtureRequest,
) -> None:
    sim = start_sim(sim_config({k: {"rpm": 1000} for k in KEYS}))
    extra: dict[str, Any] = {}
    if shared:
        extra["redis_url"] = request.getfixturevalue("redis_url")
    settings = gateway_settings(
        sim.url, [{"secret": k, "limits": {"rpm": 1000}} for k in KEYS], **extra
    )
    replicas = [start_gateway(settings) for _ in range(2 if shared else 1)]
    first = post(replicas[0], cached_body("first"))
    used = [post(replicas[i % len(replicas)], cached_body(f"q{i}")) for i in range(12)]
    assert set(used) == {first}  # every later request with the prefix went back to that key
    stats = sim_stats(sim.url)["keys"]
    by_fp = {fingerprint(k): k for k in KEYS}
    assert stats[by_fp[first]]["cache_read_input_tokens"] > 0
    assert sum(stats[k]["cache_creation_input_tokens"] > 0 for k in KEYS) == 1  # paid once
    # requests without a breakpoint still spread over the keys
    spread = {post(replicas[0], plain_body(f"p{i}")) for i in range(9)}
    assert len(spread) >= 2


def test_affinity_never_costs_a_quota(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    sim = start_sim(sim_config({KEY_A: {"rpm": 1000}, KEY_B: {"rpm": 1000}}))
    keys = [{"secret": KEY_A, "limits": {"rpm": 3}}, {"secret": KEY_B, "limits": {"rpm": 1000}}]
    gw = start_gateway(gateway_settings(sim.url, keys, admission={"skew_seconds": 0}))
    used = [post(gw, cached_body(f"q{i}")) for i in range(8)]
    # Whichever key first cached the prefix, no request waited for an exhausted one.
    assert used.count(fingerprint(KEY_A)) <= 3
    assert used.count(fingerprint(KEY_B)) >= 5


def test_an_agents_consecutive_turns_keep_one_stable_prefix() -> None:
    # An agent marks its tools and system prompt, and moves a second breakpoint to its
    # latest turn every time: the affinity (and the expected cache reads) follow the stable
    # part, so consecutive turns stay on the key that holds its cache.
    from scalegate.affinity import prefix_hash

    tools = [{"name": "read_file", "description": "Read a file", "input_schema": {}}]
    system = [
        {"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}
    ]

    def turn(n: int) -> dict[str, object]:
        messages: list[dict[str, object]] = []
        for i in range(n):
            messages.append({"role": "user", "content": f"step {i}"})
            messages.append({"role": "assistant", "content": f"done {i}"})
        last = {"type": "text", "text": f"step {n}", "cache_control": {"type": "ephemeral"}}
        messages.append({"role": "user", "content": [last]})
        return {"model": "m", "tools": tools, "system": system, "messages": messages}

    hashes = {prefix_hash("m", b"cache_control", turn(n)) for n in range(5)}
    assert len(hashes) == 1
    assert None not in hashes
    other = {**turn(1), "system": [{**system[0], "text": "You are a poet."}]}
    assert prefix_hash("m", b"cache_control", other) not in hashes  # another prefix
    assert prefix_hash("other-model", b"cache_control", turn(1)) not in hashes
