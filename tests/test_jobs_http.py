"""``/v1/jobs`` and the jobs admin API end to end: a real gateway in front of the simulator.

The embedded (in-memory) queue and worker pool of ``scalegate serve``; Redis-backed worker
processes are in ``test_jobs_process.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scalegate.config import Settings
from scalegate.jobs import verify_signature
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, KEY_B, gateway_settings, sim_config
from tests.helpers import messages_body, request, sim_post, sim_put_config, sim_stats
from tests.servers import ServerThread

TOKEN = "admin-token-for-jobs"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
FAST_QUEUE = {
    "queue__retry_base_seconds": 0.01,
    "queue__retry_cap_seconds": 0.05,
    "queue__scale_interval_seconds": 0.05,
    "admin_token": TOKEN,
}


def headers(key: str = "client-key", **extra: str) -> dict[str, str]:
    return {"x-api-key": key, "content-type": "application/json", **extra}


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def submit(url: str, body: dict[str, Any], key: str = "client-key", **extra: str) -> Any:
    resp = request(url, "POST", "/v1/jobs", body, headers(key, **extra))
    assert resp.status == 202, resp.body
    return resp


def finished(url: str, job_id: str, key: str = "client-key") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        doc = request(url, "GET", f"/v1/jobs/{job_id}", headers=headers(key)).json()
        return doc if doc["state"] not in ("PENDING", "PROCESSING") else None

    result: dict[str, Any] = wait_until(done)
    return result


@pytest.fixture
def sim2(start_sim: Callable[[SimulatorConfig], SimulatorThread]) -> SimulatorThread:
    return start_sim(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))


def keys() -> list[dict[str, Any]]:
    return [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]


@pytest.fixture
def make_gateway(
    sim2: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> Callable[..., ServerThread]:
    def make(**tree: Any) -> ServerThread:
        return start_gateway(gateway_settings(sim2.url, keys(), **{**FAST_QUEUE, **tree}))

    return make


def test_job_round_trip(make_gateway: Callable[..., ServerThread]) -> None:
    gw = make_gateway()
    resp = submit(gw.url, {"request": messages_body("Hi [sim:tokens=5]"), "priority": "high"})
    doc = resp.json()
    assert set(doc) >= {"id", "state", "priority", "attempts", "created_at", "updated_at"}
    assert (doc["state"], doc["priority"], doc["attempts"]) == ("PENDING", "high", 0)
    assert doc["result"] is None
    assert doc["error"] is None
    assert resp.headers["location"] == f"/v1/jobs/{doc['id']}"
    done = finished(gw.url, doc["id"])
    assert (done["state"], done["attempts"], done["error"]) == ("COMPLETED", 1, None)
    assert done["result"]["type"] == "message"
    assert done["result"]["usage"]["output_tokens"] == 5
    again = request(gw.url, "DELETE", f"/v1/jobs/{doc['id']}", headers=headers())
    assert again.status == 409
    assert again.json()["error"]["type"] == "conflict_error"
    health = request(gw.url, "GET", "/api/monitoring/health").json()["components"]["jobs"]
    assert health["status"] == "ok"
    assert len(health["workers"]) == 1
    assert health["workers"][0]["heartbeat_age_ms"] >= 0
    missing = request(gw.url, "GET", "/v1/jobs/job_nope", headers=headers())
    assert missing.status == 404
    assert missing.json()["type"] == "error"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"request": {"model": "m", "max_tokens": 5}}, "request.messages"),
        ({"request": messages_body(), "priority": "urgent"}, "priority"),
        ({"request": messages_body(), "colour": "red"}, "colour"),
        ({"request": messages_body(stream=True)}, "stream"),
        ({"priority": "high"}, "request"),
        ({"request": messages_body(), "callback_url": "http://example.com/cb"}, "callback_url"),
    ],
)
def test_bad_job_requests_are_400(
    make_gateway: Callable[..., ServerThread], body: dict[str, Any], needle: str
) -> None:
    gw = make_gateway()
    resp = request(gw.url, "POST", "/v1/jobs", body, headers())
    assert resp.status == 400, resp.body
    error = resp.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert needle in error["error"]["message"]


def test_tenants_own_their_jobs_and_priority_is_clamped(
    make_gateway: Callable[..., ServerThread],
) -> None:
    tenants = [
        {"name": "web", "keys": ["web-key"], "max_priority": "normal"},
        {"name": "ops", "keys": ["ops-key"], "max_priority": "critical"},
    ]
    gw = make_gateway(tenants=tenants)
    job = submit(gw.url, {"request": messages_body(), "priority": "critical"}, key="web-key").json()
    assert job["priority"] == "normal"
    by_header = submit(
        gw.url, {"request": messages_body()}, key="ops-key", **{"x-scalegate-priority": "critical"}
    ).json()
    assert by_header["priority"] == "critical"
    other = request(gw.url, "GET", f"/v1/jobs/{job['id']}", headers=headers("ops-key"))
    assert other.status == 404
    cancel = request(gw.url, "DELETE", f"/v1/jobs/{job['id']}", headers=headers("ops-key"))
    assert cancel.status == 404
    anonymous = request(gw.url, "POST", "/v1/jobs", {"request": messages_body()})
    assert anonymous.status == 401
    assert finished(gw.url, job["id"], "web-key")["state"] == "COMPLETED"


def test_idempotency_key_returns_the_existing_job(
    make_gateway: Callable[..., ServerThread],
) -> None:
    gw = make_gateway()
    first = submit(gw.url, {"request": messages_body()}, **{"idempotency-key": "order-42"})
    second = submit(gw.url, {"request": messages_body()}, **{"idempotency-key": "order-42"})
    third = submit(gw.url, {"request": messages_body()}, **{"idempotency-key": "order-43"})
    assert first.json()["id"] == second.json()["id"] != third.json()["id"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers


def test_cancel_a_pending_job(
    make_gateway: Callable[..., ServerThread], sim2: SimulatorThread
) -> None:
    gw = make_gateway(
        queue__worker_concurrency=1, queue__min_concurrency=1, queue__max_concurrency=1
    )
    held = submit(gw.url, {"request": messages_body()}, **{"x-sim-hold": "cancel"}).json()
    wait_until(lambda: "cancel" in request(sim2.url, "GET", "/_sim/holds").json()["holds"])
    queued = submit(gw.url, {"request": messages_body()}).json()
    canceled = request(gw.url, "DELETE", f"/v1/jobs/{queued['id']}", headers=headers())
    assert canceled.status == 200
    assert canceled.json()["state"] == "CANCELED"
    sim_post(sim2.url, "/_sim/release/cancel")
    assert finished(gw.url, held["id"])["state"] == "COMPLETED"
    doc = request(gw.url, "GET", f"/v1/jobs/{queued['id']}", headers=headers()).json()
    assert (doc["state"], doc["attempts"]) == ("CANCELED", 0)


def test_retries_then_dead_letter_then_requeue_and_success(
    make_gateway: Callable[..., ServerThread], sim2: SimulatorThread
) -> None:
    gw = make_gateway(retry__max_attempts=1, queue__max_attempts=3)
    sim_put_config(sim2.url, {"faults": {"error_500_rate": 1.0}})
    job = submit(gw.url, {"request": messages_body()}).json()
    dead = finished(gw.url, job["id"])
    assert (dead["state"], dead["attempts"]) == ("DEAD", 3)
    assert dead["error"]["status"] == 500
    assert dead["result"] is None
    assert sim_stats(sim2.url)["totals"]["requests"] == 3  # one upstream call per attempt

    assert request(gw.url, "GET", "/admin/jobs?state=dead").status == 401
    listed = request(gw.url, "GET", "/admin/jobs?state=dead", headers=ADMIN).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    assert listed["jobs"][0]["request"]["model"] == "claude-sonnet-4-6"
    stats = request(gw.url, "GET", "/admin/jobs/stats", headers=ADMIN).json()
    assert stats["queue"]["dead"] == 1
    assert stats["queue"]["totals"]["retried"] == 2
    assert stats["pool"]["outcomes"]["dead"] == 1
    assert [w["owner"] for w in stats["workers"]] == [stats["pool"]["owner"]]

    sim_put_config(sim2.url, {"faults": {"error_500_rate": 0.0}})
    requeued = request(gw.url, "POST", f"/admin/jobs/{job['id']}/requeue", headers=ADMIN)
    assert requeued.status == 200
    assert requeued.json()["state"] in ("PENDING", "PROCESSING")
    done = finished(gw.url, job["id"])
    assert (done["state"], done["attempts"]) == ("COMPLETED", 1)
    assert request(gw.url, "GET", "/admin/jobs?state=dead", headers=ADMIN).json()["jobs"] == []
    twice = request(gw.url, "POST", f"/admin/jobs/{job['id']}/requeue", headers=ADMIN)
    assert twice.status == 409


def test_an_invalid_request_upstream_fails_without_retries(
    make_gateway: Callable[..., ServerThread], sim2: SimulatorThread
) -> None:
    gw = make_gateway()
    job = submit(gw.url, {"request": messages_body(model="claude-nonexistent-9")}).json()
    failed = finished(gw.url, job["id"])
    assert (failed["state"], failed["attempts"]) == ("FAILED", 1)
    assert failed["error"]["status"] == 404
    assert failed["error"]["type"] == "not_found_error"


class Receiver:
    """A real local HTTP server that records callbacks."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_callbacks_are_signed_and_private_targets_need_permission(
    make_gateway: Callable[..., ServerThread], receiver: Receiver
) -> None:
    secret = "callback-secret-for-tests"
    gw = make_gateway(queue__callback_secret=secret, queue__callback_allow_private=True)
    body = {"request": messages_body("[sim:tokens=3]"), "callback_url": receiver.url}
    job = submit(gw.url, body).json()
    wait_until(lambda: receiver.calls)
    sent_headers, raw = receiver.calls[0]
    assert verify_signature(
        secret.encode(), sent_headers["x-scalegate-signature"], raw, now=time.time()
    )
    assert not verify_signature(b"wrong", sent_headers["x-scalegate-signature"], raw, now=0)
    assert sent_headers["x-scalegate-event"] == "job.completed"
    doc = json.loads(raw)
    assert (doc["id"], doc["state"]) == (job["id"], "COMPLETED")
    assert doc["result"]["usage"]["output_tokens"] == 3
    wait_until(
        lambda: (
            request(gw.url, "GET", f"/v1/jobs/{job['id']}", headers=headers()).json()[
                "callback_status"
            ]
            == "delivered"
        )
    )

    guarded = make_gateway(queue__callback_secret=secret)
    for target in (
        receiver.url,
        "http://10.1.2.3/x",
        "http://[::1]:9/x",
        "http://169.254.169.254/",
    ):
        resp = request(guarded.url, "POST", "/v1/jobs", {**body, "callback_url": target}, headers())
        assert resp.status == 400, target
        assert "non-public" in resp.json()["error"]["message"]


def test_workers_scale_with_depth_and_back(
    make_gateway: Callable[..., ServerThread], sim2: SimulatorThread
) -> None:
    gw = make_gateway(
        queue__worker_concurrency=1, queue__min_concurrency=1, queue__max_concurrency=6
    )
    pool = gw.config.app.state.gateway.workers  # type: ignore[attr-defined]  # Starlette's app.state is untyped
    assert pool.target == 1
    jobs = [
        submit(gw.url, {"request": messages_body(f"job {i}")}, **{"x-sim-hold": "scale"}).json()
        for i in range(20)
    ]
    wait_until(lambda: sim_stats(sim2.url)["totals"]["in_flight"] == 6)
    assert pool.active == 6
    assert pool.target == 6

    def drained() -> bool:
        request(sim2.url, "POST", "/_sim/release/scale")
        return all(finished_now(gw.url, j["id"]) for j in jobs)

    wait_until(drained, timeout=30)
    assert sim_stats(sim2.url)["totals"]["max_in_flight"] == 6  # never above the maximum
    wait_until(lambda: pool.target == 1 and pool.stats()["workers"] == 1)
    assert pool.stats()["scale_ups"] >= 1
    assert pool.stats()["scale_downs"] >= 1


def finished_now(url: str, job_id: str) -> bool:
    doc = request(url, "GET", f"/v1/jobs/{job_id}", headers=headers()).json()
    return doc["state"] == "COMPLETED"
