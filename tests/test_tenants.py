"""Tenants: their own limits and monthly budgets (also across replicas), aliases, allowlists."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, gateway_settings, sim_config
from tests.helpers import messages_body
from tests.helpers import request as http
from tests.servers import ServerThread

ROOMY = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
TOKEN = "admin-token-for-tests"
WEB, BATCH = "tenant-web-secret-1", "tenant-batch-secret-1"


def tenants(**web: Any) -> list[dict[str, Any]]:
    return [
        {"name": "web", "keys": [WEB], **web},
        {"name": "batch", "keys": [BATCH]},
    ]


def call(gw: ServerThread, key: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    hdrs = {"x-api-key": key, "anthropic-version": "2023-06-01", **headers}
    return http(gw.url, "POST", "/v1/messages", body or messages_body(), hdrs)


@pytest.fixture
def gateway_for(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> Callable[..., ServerThread]:
    sim = start_sim(sim_config({KEY_A: ROOMY, KEY_B: ROOMY}))

    def make(
        tenant_list: list[dict[str, Any]], keys: list[dict[str, Any]] | None = None, **extra: Any
    ) -> ServerThread:
        keys = keys or [{"secret": KEY_A, "limits": ROOMY}]
        return start_gateway(
            gateway_settings(sim.url, keys, tenants=tenant_list, admin_token=TOKEN, **extra)
        )

    return make


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_a_tenant_over_its_request_limit_gets_429_others_do_not(
    shared: bool, gateway_for: Callable[..., ServerThread], request: pytest.FixtureRequest
) -> None:
    extra = {"redis_url": request.getfixturevalue("redis_url")} if shared else {}
    replicas = [gateway_for(tenants(limits={"rpm": 4}), **extra) for _ in range(2 if shared else 1)]
    answers = [call(replicas[i % len(replicas)], WEB) for i in range(6)]
    assert [a.status for a in answers] == [200] * 4 + [429] * 2  # one limit for all replicas
    refused = answers[-1]
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert "rpm" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 15
    assert refused.headers["x-should-retry"] == "true"
    assert call(replicas[0], BATCH).status == 200  # another tenant is not affected


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_tokens_per_minute_count_what_was_used(
    shared: bool, gateway_for: Callable[..., ServerThread], request: pytest.FixtureRequest
) -> None:
    extra = {"redis_url": request.getfixturevalue("redis_url")} if shared else {}
    gw = gateway_for(tenants(limits={"tpm": 300}), **extra)
    big = messages_body("x [sim:tokens=5]", max_tokens=400)
    refused = call(gw, WEB, big)
    assert refused.status == 429  # 400 output tokens could never fit in 300 a minute
    assert refused.headers["x-should-retry"] == "false"
    small = messages_body("hi [sim:tokens=5]", max_tokens=100)
    # Each answer really uses ~20 tokens: far more than 300 / (100 + input) requests fit.
    statuses = [call(gw, WEB, small).status for _ in range(8)]
    assert statuses == [200] * 8


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_the_monthly_budget_is_a_402(
    shared: bool, gateway_for: Callable[..., ServerThread], request: pytest.FixtureRequest
) -> None:
    extra: dict[str, Any] = {"prices": {"claude-*": {"input": 1000, "output": 1000}}}
    if shared:
        extra["redis_url"] = request.getfixturevalue("redis_url")
    gw = gateway_for(tenants(monthly_budget_usd=0.01), **extra)
    first = call(gw, WEB, messages_body("hello [sim:tokens=10]"))
    assert first.status == 200
    usage = first.json()["usage"]
    cost = (usage["input_tokens"] + usage["output_tokens"]) * 1000 / 1_000_000
    assert cost > 0.01  # one answer spends the whole budget
    over = call(gw, WEB)
    assert over.status == 402
    assert over.json()["error"]["type"] == "billing_error"
    assert "budget" in over.json()["error"]["message"]
    assert call(gw, BATCH).status == 200
    report = http(gw.url, "GET", "/admin/tenants", headers={"authorization": f"Bearer {TOKEN}"})
    web = next(t for t in report.json()["tenants"] if t["name"] == "web")
    assert web["spend_usd_this_month"] == pytest.approx(cost)
    assert web["refused"] == {"budget": 1}
    env = {**os.environ, "SCALEGATE_URL": gw.url, "SCALEGATE_ADMIN_TOKEN": TOKEN}
    out = subprocess.run(
        [sys.executable, "-m", "scalegate.cli", "tenants", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "web" in out.stdout
    assert "of $0.01" in out.stdout


def test_cache_hits_count_as_requests(gateway_for: Callable[..., ServerThread]) -> None:
    gw = gateway_for(tenants(limits={"rpm": 2}, cache_mode="exact"))
    body = messages_body("same question [sim:tokens=3]")
    first, second = call(gw, WEB, body), call(gw, WEB, body)
    assert (first.status, second.status) == (200, 200)
    assert second.headers["x-scalegate-cache"] == "hit"
    assert call(gw, WEB, body).status == 429  # even a hit is a request


def test_alias_falls_back_when_the_first_model_is_saturated(
    gateway_for: Callable[..., ServerThread],
) -> None:
    keys = [
        {"secret": KEY_A, "models": ["claude-haiku-*"], "limits": {"rpm": 2}},
        {"secret": KEY_B, "models": ["claude-sonnet-*"], "limits": ROOMY},
    ]
    aliases = {"claude-fast": ["claude-haiku-4-5", "claude-sonnet-4-6"]}
    gw = gateway_for([], keys=keys, models={"aliases": aliases}, admission={"skew_seconds": 0})
    body = {**messages_body("q [sim:tokens=2]"), "model": "claude-fast"}
    used = []
    for _ in range(4):
        resp = call(gw, "c", body)
        assert resp.status == 200, resp.body
        used.append((resp.headers["x-scalegate-model"], resp.json()["model"]))
    assert [u[0] for u in used] == ["claude-haiku-4-5"] * 2 + ["claude-sonnet-4-6"] * 2
    assert used[-1][1].startswith("claude-sonnet-4-6")


def test_a_tenant_may_use_only_its_models(gateway_for: Callable[..., ServerThread]) -> None:
    gw = gateway_for(tenants(models=["claude-haiku-*"]))
    denied = call(gw, WEB, {**messages_body(), "model": "claude-sonnet-4-6"})
    assert denied.status == 403
    assert denied.json()["error"]["type"] == "permission_error"
    assert call(gw, WEB, {**messages_body(), "model": "claude-haiku-4-5"}).status == 200
    assert call(gw, BATCH, {**messages_body(), "model": "claude-sonnet-4-6"}).status == 200


def test_the_month_turns_at_utc_midnight_on_the_first_and_back() -> None:
    """``month_of`` keeps its last answer for the span it holds: asked across a month's end,
    and then for an earlier time again, it is right each time."""
    from datetime import UTC, datetime

    from scalegate.tenants.limits import month_of

    end = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert month_of(end - 0.5) == "2026-12"
    assert month_of(end - 0.5) == "2026-12"  # the kept answer
    assert month_of(end) == "2027-01"
    assert month_of(datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC).timestamp()) == "2027-01"
    assert month_of(datetime(2027, 2, 1, tzinfo=UTC).timestamp()) == "2027-02"
    assert month_of(datetime(2024, 2, 29, 12, tzinfo=UTC).timestamp()) == "2024-02"
    assert month_of(end - 0.5) == "2026-12"
