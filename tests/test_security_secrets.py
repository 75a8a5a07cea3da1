"""No fragment of an upstream key leaves the gateway, whatever path a request takes.

A real ``scalegate serve`` process in shared mode (Redis) with debug JSON logs, in front of
the simulator: traffic goes through success, retries, quarantine, stream errors, the OpenAI
endpoint, jobs that complete, fail and die, callbacks and batches; then every output is
scanned for any 10-character run of any upstream key: response bodies and headers, callback
bodies and headers, the admin API, monitoring, metrics, the gateway's log, and every key
and value in Redis (the job store included).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from scalegate.keys import fingerprint
from scalegate.simulator import SimulatorThread
from tests.conftest import MODEL, sim_config
from tests.helpers import RawResponse, messages_body, request, sim_post
from tests.processes import GatewayProcess
from tests.test_jobs_http import Receiver, wait_until

# Distinctive, so that no hex id or counter could contain a run of one by chance.
UPSTREAM_KEYS = (
    "sk-FAKE-test-Quokka-Mv9LrXw4-TqHn8Yd2-Zp7Kc",
    "sk-FAKE-test-Wombat-Jf3GsBe6-RuPx1Lm5-Vn8Qa",
    "sk-FAKE-test-Numbat-Hd4TwCy9-KoEz2Ni7-Bg6Ur",
)
CLIENT_KEY = "client-Echidna-Fy6Rt2Wq-Lp9Zs4"
ADMIN_TOKEN = "admin-Platypus-Gx5Mb8Kd-Tn3Vj7"
CALLBACK_SECRET = "callback-Bilby-Sw2Hy6Pc-Rf9Ld4"
LIMITS = {"rpm": 100_000, "itpm": 100_000_000, "otpm": 100_000_000}
CLIENT = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}
BEARER = {"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
OPENAI = {"authorization": f"Bearer {CLIENT_KEY}"}
FAULTS = ("429", "529", "500", "drop", "overloaded_first", "overloaded_midstream", "drop_midstream")


def fragments(secret: str, size: int = 10) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def redis_dump(url: str) -> list[str]:
    """Every key in Redis with its whole value, as text."""
    client = redis.Redis.from_url(url)
    out = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            value: Any
            if kind == "string":
                value = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = f"<{kind}>"
            out.append(f"{key!r} {kind} {value!r}")
    finally:
        client.close()
    return out


@pytest.fixture
def traffic(redis_url: str) -> Iterator[dict[str, Any]]:
    """Send traffic down every path; return everything the gateway put out."""
    sim = SimulatorThread(sim_config({k: LIMITS for k in UPSTREAM_KEYS}))
    sim.start()
    receiver = Receiver()
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [
            {"secret": k, "limits": LIMITS, "name": f"k{i}"} for i, k in enumerate(UPSTREAM_KEYS)
        ],
        "redis_url": redis_url,
        "admin_token": ADMIN_TOKEN,
        "tenants": [{"name": "web", "keys": [CLIENT_KEY], "cache_mode": "exact"}],
        "retry": {"max_attempts": 3, "base_seconds": 0.01, "cap_seconds": 0.05},
        "breaker": {"consecutive_failures": 1000, "min_requests": 100_000},  # never opens
        "queue": {
            "max_attempts": 2,
            "retry_base_seconds": 0.01,
            "retry_cap_seconds": 0.05,
            "scale_interval_seconds": 0.05,
            "callback_secret": CALLBACK_SECRET,
            "callback_allow_private": True,
        },
    }
    # `scalegate --log-level debug --log-format json serve …`: the most the log says.
    debug = ["--log-level", "debug", "--log-format", "json"]
    gw = GatewayProcess(config, global_args=debug).start()
    seen: list[tuple[str, RawResponse]] = []
    try:
        _drive(gw.url, sim.url, seen, receiver)
        outputs = {
            "responses": [r.body.decode("utf-8", "replace") + repr(r.headers) for _, r in seen],
            "callbacks": [repr(h) + b.decode("utf-8", "replace") for h, b in receiver.calls],
            "redis": redis_dump(redis_url),
        }
        gw.stop()  # the log is complete once the process has exited
        outputs["log"] = [gw.log()]
        yield {"outputs": outputs, "seen": seen, "receiver": receiver}
    finally:
        gw.close()
        receiver.close()
        sim.stop()


def _drive(url: str, sim_url: str, seen: list[tuple[str, RawResponse]], receiver: Receiver) -> None:
    def call(
        method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> RawResponse:
        resp = request(
            url, method, path, body, {"content-type": "application/json", **(headers or {})}
        )
        seen.append((f"{method} {path}", resp))
        return resp

    ok = messages_body("[sim:tokens=5] hello")
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    # Successes, plain and streamed, cached and replayed, both credential styles.
    for headers in (CLIENT, BEARER):
        call("POST", "/v1/messages", ok, headers)
        call("POST", "/v1/messages", {**ok, "stream": True}, headers)
    call("POST", "/v1/messages/count_tokens", {"model": MODEL, "messages": ok["messages"]}, CLIENT)
    call("GET", "/v1/models", None, CLIENT)
    call("GET", f"/v1/models/{MODEL}", None, CLIENT)
    call("GET", "/v1/models", None, OPENAI)
    # Retries and failures: every injected fault, plain and streamed.
    for fault in FAULTS:
        for stream in (False, True):
            body = {**messages_body(f"fault {fault} {stream}"), "stream": stream}
            call("POST", "/v1/messages", body, {**CLIENT, "x-sim-fault": fault})
    # Bad input and refusals.
    call("POST", "/v1/messages", {**ok, "max_tokens": "x"}, CLIENT)
    call("POST", "/v1/messages", ok, {**CLIENT, "x-scalegate-priority": "urgent"})
    call(
        "POST", "/v1/messages", ok, {"x-api-key": "not-a-tenant", "anthropic-version": "2023-06-01"}
    )
    # The OpenAI endpoint: success, stream, translation error, provider errors.
    call("POST", "/v1/chat/completions", chat, OPENAI)
    call(
        "POST",
        "/v1/chat/completions",
        {**chat, "stream": True, "stream_options": {"include_usage": True}},
        OPENAI,
    )
    call("POST", "/v1/chat/completions", {**chat, "n": 2}, OPENAI)
    for fault in ("529", "overloaded_midstream"):
        call(
            "POST",
            "/v1/chat/completions",
            {**chat, "stream": True},
            {**OPENAI, "x-sim-fault": fault},
        )
        call("POST", "/v1/chat/completions", chat, {**OPENAI, "x-sim-fault": fault})
    # Jobs: one completes (with a signed callback), one fails, one ends in the dead letters.
    jobs = {
        "completed": call(
            "POST", "/v1/jobs", {"request": ok, "callback_url": receiver.url}, CLIENT
        ),
        "failed": call(
            "POST", "/v1/jobs", {"request": messages_body(model="claude-nonexistent-9")}, CLIENT
        ),
        "dead": call(
            "POST", "/v1/jobs", {"request": messages_body("dies")}, {**CLIENT, "x-sim-fault": "500"}
        ),
    }
    for expected, resp in jobs.items():
        assert resp.status == 202, resp.body
        job_id = resp.json()["id"]

        def finished(job_id: str = job_id) -> Any:
            doc = request(url, "GET", f"/v1/jobs/{job_id}", headers=CLIENT).json()
            return doc if doc["state"] not in ("PENDING", "PROCESSING") else None

        doc = wait_until(finished, timeout=30)
        assert doc["state"] == expected.upper(), doc
        call("GET", f"/v1/jobs/{job_id}", None, CLIENT)
        call("GET", f"/admin/jobs/{job_id}", None, ADMIN)
    wait_until(lambda: receiver.calls, timeout=20)
    # A batch with a good and a bad request, its status and its results.
    batch = call(
        "POST",
        "/v1/messages/batches",
        {
            "requests": [
                {"custom_id": "good", "params": ok},
                {"custom_id": "bad", "params": {"model": MODEL}},
            ]
        },
        CLIENT,
    ).json()
    wait_until(
        lambda: (
            request(url, "GET", f"/v1/messages/batches/{batch['id']}", headers=CLIENT).json()[
                "processing_status"
            ]
            == "ended"
        ),
        timeout=30,
    )
    call("GET", f"/v1/messages/batches/{batch['id']}", None, CLIENT)
    call("GET", f"/v1/messages/batches/{batch['id']}/results", None, CLIENT)
    call("GET", "/v1/messages/batches", None, CLIENT)
    # Quarantine: the provider revokes one key, then all of them.
    sim_post(sim_url, f"/_sim/keys/{UPSTREAM_KEYS[0]}/revoke")
    for _ in range(4):
        call("POST", "/v1/messages", messages_body("after one revocation"), CLIENT)
    for key in UPSTREAM_KEYS[1:]:
        sim_post(sim_url, f"/_sim/keys/{key}/revoke")
    call("POST", "/v1/messages", messages_body("after all revocations"), CLIENT)
    call("POST", "/v1/messages", {**messages_body("after all"), "stream": True}, CLIENT)
    call("POST", "/v1/chat/completions", chat, OPENAI)
    # The admin API and monitoring.
    for path in (
        "/admin/keys",
        "/admin/tenants",
        "/admin/jobs?state=dead",
        "/admin/jobs?state=failed",
        "/admin/jobs?state=completed",
        "/admin/jobs/stats",
        "/admin/cache/stats",
        "/admin/cache/top",
        "/api/monitoring/dashboard",
    ):
        assert call("GET", path, None, ADMIN).status == 200, path
    for path in (
        "/healthz",
        "/readyz",
        "/api/monitoring/health",
        "/api/monitoring/metrics",
        "/api/monitoring/metrics?format=json",
        "/metrics",
    ):
        call("GET", path)


def test_no_upstream_key_fragment_leaves_the_gateway(traffic: dict[str, Any]) -> None:
    outputs: dict[str, list[str]] = traffic["outputs"]
    seen = dict(traffic["seen"])  # the last answer per method and path
    log = outputs["log"][0]

    # The paths were really taken.
    statuses = {resp.status for _, resp in traffic["seen"]}
    assert {200, 202, 400, 401, 429, 529} <= statuses, statuses
    assert '"event":"key_quarantined"' in log, log[-3000:]
    assert "Traceback" not in log, log[-5000:]
    assert [j["state"] for j in seen["GET /admin/jobs?state=dead"].json()["jobs"]] == ["DEAD"]
    assert [j["state"] for j in seen["GET /admin/jobs?state=failed"].json()["jobs"]] == ["FAILED"]
    assert traffic["receiver"].calls, "the completed job's callback never came"
    assert any(line.startswith("b'scalegate:jobs") for line in outputs["redis"]), outputs["redis"]
    assert fingerprint(UPSTREAM_KEYS[0]) in seen["GET /admin/keys"].body.decode()

    secrets = [(k, f"upstream key {i}") for i, k in enumerate(UPSTREAM_KEYS)]
    secrets += [(CLIENT_KEY, "client key"), (CALLBACK_SECRET, "callback secret")]
    for secret, label in secrets:
        bits = fragments(secret)
        for where, texts in outputs.items():
            for text in texts:
                leaked = sorted(b for b in bits if b in text)
                if leaked:
                    at = text.find(leaked[0])
                    context = text[max(0, at - 300) : at + 100]
                    pytest.fail(f"{label} leaked in {where}: {leaked[:3]}: {context!r}")


BAD_CONFIGS = {
    "a secret of the wrong type": {"keys": [{"secret": [UPSTREAM_KEYS[0]]}]},
    "a secret where a number belongs": {
        "keys": [{"secret": UPSTREAM_KEYS[0], "limits": {"rpm": UPSTREAM_KEYS[1]}}]
    },
    "a bad tenant holding a key": {
        "keys": [{"secret": UPSTREAM_KEYS[0]}],
        "tenants": [{"name": "t", "keys": [UPSTREAM_KEYS[1]], "limits": {"rpm": -1}}],
    },
}


@pytest.mark.parametrize("config", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_configuration_error_does_not_echo_a_key(config: dict[str, Any], tmp_path: Path) -> None:
    """The error names the field; the value (a secret, or next to one) is never printed."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "SCALEGATE", "REDIS"))
    }
    env["ANTHROPIC_API_KEYS"] = UPSTREAM_KEYS[2]
    out = subprocess.run(
        [sys.executable, "-m", "scalegate.cli", "serve", "--port", "9", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    assert "invalid configuration" in text
    assert "Traceback" not in text, text
    for key in UPSTREAM_KEYS:
        assert not [b for b in fragments(key) if b in text], text
