"""``Pipeline.message()``, the in-process entry point: answers and the provider's errors."""

from __future__ import annotations

from typing import Any

import pytest

from scalegate import Gateway
from scalegate.errors import ApiError, NotFoundError, OverloadedError, ProviderError
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings
from tests.helpers import sim_stats

LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}


def ask(text: str) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": text}]}


async def test_message_returns_the_answer_and_raises_the_providers_error_class(
    sim: SimulatorThread,
) -> None:
    settings = gateway_settings(
        sim.url,
        [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)],
        retry={"max_attempts": 2, "base_seconds": 0.01, "cap_seconds": 0.02},
    )
    async with Gateway(settings) as gateway:
        message = await gateway.pipeline.message(ask("Hello [sim:tokens=5]"))
        assert message["type"] == "message"
        assert message["usage"]["output_tokens"] == 5
        for fault, cls in (("529", OverloadedError), ("500", ApiError)):
            with pytest.raises(ProviderError) as info:
                await gateway.pipeline.message(ask("Fail"), headers={"x-sim-fault": fault})
            assert type(info.value) is cls  # catchable by its class, like the SDK's errors
            assert info.value.status == int(fault)
            assert "after 2 attempts" in info.value.message
        # The provider's own refusal (not retried): its class, its words.
        with pytest.raises(NotFoundError) as missing:
            await gateway.pipeline.message({**ask("Hi"), "model": "claude-nonexistent-9"})
        assert missing.value.status == 404
        assert "claude-nonexistent-9" in missing.value.message
        for error in (info.value, missing.value):
            assert KEY_A not in str(error)
            assert KEY_B not in str(error)
    keys = sim_stats(sim.url)["keys"]
    # One answer, two attempts per failing call (retry.max_attempts), one refusal.
    assert sum(k["requests"] for k in keys.values()) == 1 + 2 + 2 + 1


async def test_message_uses_the_gateways_cache_when_asked(sim: SimulatorThread) -> None:
    settings = gateway_settings(sim.url, [{"secret": KEY_A, "limits": LIMITS}])

    def requests() -> int:
        return sum(k["requests"] for k in sim_stats(sim.url)["keys"].values())

    async with Gateway(settings) as gateway:
        question = ask("Cache me [sim:tokens=6]")
        first = await gateway.pipeline.message(question, cache="exact")
        again = await gateway.pipeline.message(question, cache="exact")
        assert again == first
        assert requests() == 1
        fresh = await gateway.pipeline.message(question)  # the configured mode: off
        assert fresh["id"] != first["id"]
        assert requests() == 2
        assert gateway.cache.outcomes["hit"] == 1
