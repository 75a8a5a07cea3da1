"""The one request path: every entry point under one tenant policy, one cache lifecycle and
one outage policy (regressions of issue 12, each found by trying the gateway as a user)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scalegate.config import Settings
from scalegate.principal import Principal
from scalegate.simulator import SimulatorConfig, SimulatorThread
from scalegate.tenants import TenantDirectory
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body
from tests.helpers import request as http
from tests.redis_server import RedisServer
from tests.servers import ServerThread
from tests.test_jobs_http import wait_until

ROOMY = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
TOKEN = "admin-token-for-tests"
HAIKU_ONLY = "tenant-haiku-only-secret"
HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
TENANTS = [
    {
        "name": "small",
        "keys": [HAIKU_ONLY],
        "models": ["claude-haiku-*"],
        "limits": {"rpm": 2},
    }
]


def hdrs(key: str = HAIKU_ONLY) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01"}


def submit(url: str, model: str) -> str:
    body = {"request": messages_body("[sim:tokens=3]", model=model)}
    resp = http(url, "POST", "/v1/jobs", body, hdrs())
    assert resp.status == 202, resp.body
    job_id: str = resp.json()["id"]
    return job_id


def job(url: str, job_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = http(url, "GET", f"/v1/jobs/{job_id}", headers=hdrs()).json()
    return doc


@pytest.fixture
def sim(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    return start_sim(sim_config({KEY_A: ROOMY}))


@pytest.fixture(params=["memory", "redis"])
def gw(
    request: pytest.FixtureRequest,
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
) -> ServerThread:
    extra: dict[str, Any] = {"queue__retry_base_seconds": 0.01}
    if request.param == "redis":
        extra["redis_url"] = request.getfixturevalue("redis_url")
        extra["queue__embedded_workers"] = True
    keys = [{"secret": KEY_A, "limits": ROOMY}]
    return start_gateway(
        gateway_settings(sim.url, keys, tenants=TENANTS, admin_token=TOKEN, **extra)
    )


def test_jobs_for_a_forbidden_model_fail_with_the_permission_error(gw: ServerThread) -> None:
    ids = [submit(gw.url, SONNET) for _ in range(3)]
    wait_until(lambda: all(job(gw.url, i)["state"] == "FAILED" for i in ids), timeout=30)
    for i in ids:
        doc = job(gw.url, i)
        assert doc["error"]["type"] == "permission_error", doc
        assert doc["result"] is None


def test_jobs_over_the_tenants_rate_wait_instead_of_failing(gw: ServerThread) -> None:
    ids = [submit(gw.url, HAIKU) for _ in range(5)]
    # rpm 2: two complete now; the other three are deferred work, not failures.
    wait_until(lambda: sum(job(gw.url, i)["state"] == "COMPLETED" for i in ids) == 2, timeout=30)
    wait_until(
        lambda: (
            sum(
                job(gw.url, i)["state"] == "PENDING" and job(gw.url, i)["error"] is not None
                for i in ids
            )
            == 3
        ),
        timeout=30,
    )
    docs = [job(gw.url, i) for i in ids]
    assert sorted(d["state"] for d in docs) == ["COMPLETED"] * 2 + ["PENDING"] * 3
    for d in docs:
        if d["state"] == "PENDING":
            assert d["error"]["type"] == "rate_limit_error"
            assert d["attempts"] == 0  # deferral spends none of queue.max_attempts


def test_a_batch_for_a_forbidden_model_errors_every_request(gw: ServerThread) -> None:
    reqs = [{"custom_id": f"r{i}", "params": messages_body("hi", model=SONNET)} for i in range(3)]
    resp = http(gw.url, "POST", "/v1/messages/batches", {"requests": reqs}, hdrs())
    assert resp.status == 200, resp.body
    batch_id = resp.json()["id"]

    def ended() -> bool:
        doc = http(gw.url, "GET", f"/v1/messages/batches/{batch_id}", headers=hdrs()).json()
        return bool(doc["processing_status"] == "ended")

    wait_until(ended, timeout=30)
    doc = http(gw.url, "GET", f"/v1/messages/batches/{batch_id}", headers=hdrs()).json()
    assert doc["request_counts"]["errored"] == 3
    assert doc["request_counts"]["succeeded"] == 0


def test_a_failed_warm_releases_its_cache_slot_at_once(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    keys = [{"secret": KEY_A, "limits": ROOMY}]
    gw = start_gateway(
        gateway_settings(
            sim.url,
            keys,
            admin_token=TOKEN,
            cache__mode="exact",
            cache__exact__coalesce_wait_seconds=30.0,
        )
    )
    # The simulator answers an unknown model with a 404: the warm fails.
    body = messages_body("warm me", model="claude-no-such-model")
    admin = {"authorization": f"Bearer {TOKEN}"}
    warmed = http(gw.url, "POST", "/admin/cache/warm", {"requests": [body]}, admin)
    assert warmed.status == 200, warmed.body
    assert warmed.json()["failed"] == 1
    stats = http(gw.url, "GET", "/admin/cache/stats", headers=admin).json()
    assert stats["coalescing"] == {"leaders": 0, "waiting": 0}  # the slot was released
    started = time.monotonic()
    live = http(gw.url, "POST", "/v1/messages", body, hdrs("any"))
    assert live.status == 404
    assert live.headers["x-scalegate-cache"] == "miss"  # asked upstream itself, no wait
    assert time.monotonic() - started < 10  # far below the 30 s coalescing wait


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_a_redis_outage_with_tenants_answers_by_policy_never_500(
    policy: str,
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    own = RedisServer().start()  # stopped mid-test: not the session's server
    try:
        keys = [{"secret": KEY_A, "limits": ROOMY}]
        tenants = [{"name": "t", "keys": [HAIKU_ONLY], "limits": {"rpm": 1000}}]
        gw = start_gateway(
            gateway_settings(
                sim.url,
                keys,
                tenants=tenants,
                redis_url=own.url,
                shared__on_redis_failure=policy,
                shared__retry_after_seconds=3,
            )
        )
        assert http(gw.url, "POST", "/v1/messages", messages_body(), hdrs()).status == 200
        own.stop()
        answers = [http(gw.url, "POST", "/v1/messages", messages_body(), hdrs()) for _ in range(5)]
        statuses = [a.status for a in answers]
        if policy == "fail_closed":
            assert statuses == [529] * 5, [a.body for a in answers]
            assert all(a.json()["error"]["type"] == "overloaded_error" for a in answers)
            assert all(int(a.headers["retry-after"]) >= 1 for a in answers)
        else:
            assert statuses == [200] * 5, [a.body for a in answers]
        health = http(gw.url, "GET", "/api/monitoring/health").json()
        assert health["status"] != "ok"
        metrics = http(gw.url, "GET", "/metrics").body.decode()
        assert "scalegate_state_outages_total{" in metrics
    finally:
        own.stop()


def test_a_worker_in_another_process_enforces_the_tenant(
    sim: SimulatorThread,
    start_gateway: Callable[[Settings], ServerThread],
    redis_url: str,
    tmp_path: Path,
) -> None:
    keys = [{"secret": KEY_A, "limits": ROOMY}]
    gw = start_gateway(
        gateway_settings(
            sim.url, keys, tenants=TENANTS, redis_url=redis_url, queue__embedded_workers=False
        )
    )
    config = tmp_path / "worker.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "upstream": {"base_url": sim.url},
                "keys": keys,
                "tenants": TENANTS,
                "queue": {"retry_base_seconds": 0.01},
            }
        )
    )
    forbidden, allowed = submit(gw.url, SONNET), submit(gw.url, HAIKU)
    worker = subprocess.Popen(
        [sys.executable, "-m", "scalegate.cli", "worker", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until(lambda: job(gw.url, forbidden)["state"] == "FAILED", timeout=60)
        wait_until(lambda: job(gw.url, allowed)["state"] == "COMPLETED", timeout=60)
        assert job(gw.url, forbidden)["error"]["type"] == "permission_error"
    finally:
        worker.kill()
        worker.communicate(timeout=10)


def test_a_principal_is_a_type_made_only_by_the_directory() -> None:
    with pytest.raises(TypeError):
        Principal(None)
    open_gw = TenantDirectory(())
    assert open_gw.principal(None).is_open
    from scalegate.config import TenantConfig

    closed = TenantDirectory((TenantConfig.model_validate({"name": "a", "keys": ["k1"]}),))
    assert closed.principal("k1").name == "a"
    assert closed.named("a").name == "a"
    from scalegate.errors import AuthenticationError, PermissionError_

    with pytest.raises(AuthenticationError):
        closed.principal(None)
    with pytest.raises(PermissionError_):
        closed.named(None)  # a call that names no tenant cannot exist once tenants do
    with pytest.raises(PermissionError_):
        closed.named("gone")
