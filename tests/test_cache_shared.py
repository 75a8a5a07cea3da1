"""Semantic caching through the gateway with MiniLM, and both caches shared by replicas.

The semantic tests use the real all-MiniLM-L6-v2 embedder (loaded once per process); the
shared-mode tests run two gateways on one real redis-server (exact) or Redis Stack server
(semantic, through redisvl) and check that one replica's answer serves the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.errors import ConfigError
from scalegate.gateway import Gateway
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings
from tests.helpers import sim_stats
from tests.redis_stack import RedisStackServer, stack_available
from tests.servers import ServerThread

Client = Callable[..., anthropic.Anthropic]
LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
KEYS = [{"secret": KEY_A, "limits": LIMITS}, {"secret": KEY_B, "limits": LIMITS}]
SEMANTIC = {"cache__mode": "semantic", "cache__semantic__enabled": True}


def accepted(sim: SimulatorThread) -> int:
    stats = sim_stats(sim.url)["keys"]
    return sum(stats[k]["accepted"] for k in (KEY_A, KEY_B) if k in stats)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def redis_stack() -> Iterator[RedisStackServer]:
    if not stack_available():
        pytest.fail("Redis Stack is not installed: run `make test` (scripts/extras-cache.sh)")
    server = RedisStackServer().start()
    yield server
    server.stop()


@pytest.fixture
def stack_url(redis_stack: RedisStackServer) -> str:
    assert redis_stack.command("FLUSHALL").startswith(b"+OK")
    return redis_stack.url


def test_semantic_hit_through_the_sdk(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    gw = start_gateway(gateway_settings(sim.url, KEYS, **SEMANTIC))
    client = make_client(gw.url)
    first = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=200, messages=user("What is the capital of France?")
    )
    assert first.headers["x-scalegate-cache"] == "miss"
    calls = accepted(sim)
    second = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=200, messages=user("what's the capital of france")
    )
    assert second.headers["x-scalegate-cache"] == "semantic-hit"
    similarity = float(second.headers["x-scalegate-cache-similarity"])
    assert 0.92 <= similarity <= 1.0
    assert second.http_response.content == first.http_response.content
    assert accepted(sim) == calls
    # The same words again are an exact hit; the streamed paraphrase is replayed.
    again = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=200, messages=user("What is the capital of France?")
    )
    assert again.headers["x-scalegate-cache"] == "hit"
    with client.messages.stream(
        model=MODEL, max_tokens=200, messages=user("What's the capital of France")
    ) as stream:
        final = stream.get_final_message()
        assert stream.response.headers["x-scalegate-cache"] == "semantic-hit"
    assert final.content[0].text == first.parse().content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert accepted(sim) == calls

    # A near-miss the embedding scores above the threshold is refused by the guard.
    client.messages.create(model=MODEL, max_tokens=200, messages=user("Convert 100 F to C"))
    swapped = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=200, messages=user("Convert 100 C to F")
    )
    assert swapped.headers["x-scalegate-cache"] == "miss"
    # Another system prompt is another partition.
    other = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=200,
        system="Answer in French.",
        messages=user("What is the capital of France?"),
    )
    assert other.headers["x-scalegate-cache"] == "miss"
    gateway: Gateway = gw.config.app.state.gateway  # type: ignore[attr-defined]  # Starlette's app.state is untyped
    stats = gateway.cache.stats()
    assert stats["semantic"]["hits"] == 2
    # "100 F" and "100 C" are two values: the numbers rule refuses the swap
    assert stats["semantic"]["guard_refusals_by_reason"] == {"numbers": 1}


def test_tool_result_turns_are_never_matched_semantically(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
) -> None:
    gw = start_gateway(gateway_settings(sim.url, KEYS, **SEMANTIC))
    client = make_client(gw.url)

    def turn(result: str) -> Any:
        return client.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=100,
            messages=[
                {"role": "user", "content": "What's the weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": result}
                    ],
                },
            ],
        )

    assert turn("It is 21 degrees and sunny.").headers["x-scalegate-cache"] == "miss"
    assert turn("It is 21 degrees and sunny!").headers["x-scalegate-cache"] == "miss"
    assert turn("It is 21 degrees and sunny.").headers["x-scalegate-cache"] == "hit"


def test_exact_entries_are_shared_by_replicas_in_redis(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
    redis_url: str,
) -> None:
    one = start_gateway(gateway_settings(sim.url, KEYS, cache__mode="exact", redis_url=redis_url))
    two = start_gateway(gateway_settings(sim.url, KEYS, cache__mode="exact", redis_url=redis_url))
    prompt = user("Shared between replicas [sim:tokens=6]")
    a = make_client(one.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=prompt
    )
    assert a.headers["x-scalegate-cache"] == "miss"
    b = make_client(two.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=prompt
    )
    assert b.headers["x-scalegate-cache"] == "hit"
    assert b.http_response.content == a.http_response.content
    with make_client(two.url).messages.stream(model=MODEL, max_tokens=50, messages=prompt) as s:
        assert s.get_final_message().id == a.parse().id


def test_semantic_entries_are_shared_by_replicas_in_redis_stack(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    make_client: Client,
    stack_url: str,
) -> None:
    settings = gateway_settings(sim.url, KEYS, redis_url=stack_url, **SEMANTIC)
    one, two = start_gateway(settings), start_gateway(settings)
    first = make_client(one.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=100, messages=user("How do I reverse a list in Python?")
    )
    assert first.headers["x-scalegate-cache"] == "miss"
    hit = make_client(two.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=100, messages=user("How can I reverse a list in Python?")
    )
    assert hit.headers["x-scalegate-cache"] == "semantic-hit"
    assert hit.http_response.content == first.http_response.content
    other = make_client(two.url).messages.with_raw_response.create(
        model=MODEL, max_tokens=100, messages=user("How do I reverse a list in Java?")
    )
    assert other.headers["x-scalegate-cache"] == "miss"


async def test_semantic_cache_needs_the_search_module(redis_url: str) -> None:
    settings = gateway_settings("http://127.0.0.1:9", KEYS, redis_url=redis_url, **SEMANTIC)
    gateway = Gateway(settings)
    with pytest.raises(ConfigError, match="search module"):
        await gateway.start()
    await gateway.stop()
