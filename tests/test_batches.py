"""The Message Batches protocol with the official SDK's ``client.messages.batches``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings
from tests.helpers import request, sim_post
from tests.servers import ServerThread

LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}


def params(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 32,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


@pytest.fixture
def make_gateway(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> Callable[..., ServerThread]:
    def make(**tree: Any) -> ServerThread:
        keys = [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]
        return start_gateway(gateway_settings(sim.url, keys, **tree))

    return make


def ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)


def test_sdk_batch_round_trip_with_errored_results(
    make_gateway: Callable[..., ServerThread],
    make_client: Callable[..., anthropic.Anthropic],
) -> None:
    gw = make_gateway()
    client = make_client(gw.url)
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": f"ok-{i}", "params": params(f"question {i} [sim:tokens={i + 2}]")}
            for i in range(3)
        ]
        + [
            # refused upstream (unknown model): a 4xx, so errored without retries
            {"custom_id": "unknown-model", "params": params("x", model="claude-nonexistent-9")},
            # refused by the gateway at once
            {"custom_id": "no-tokens", "params": params("x", max_tokens=0)},
        ]
    )
    assert batch.type == "message_batch"
    assert batch.id.startswith("msgbatch_")
    assert batch.processing_status == "in_progress"
    assert batch.results_url is None
    assert batch.request_counts.processing + batch.request_counts.errored == 5
    done = ended(client, batch.id)
    counts = done.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled) == (0, 3, 2, 0)
    assert done.ended_at is not None
    assert done.results_url == f"{gw.url}/v1/messages/batches/{batch.id}/results"
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert set(results) == {"ok-0", "ok-1", "ok-2", "unknown-model", "no-tokens"}
    for i in range(3):
        ok = results[f"ok-{i}"]
        assert ok.type == "succeeded"
        assert ok.message.usage.output_tokens == i + 2  # type: ignore[union-attr]  # a content-block union; this test's block is text
    unknown = results["unknown-model"]
    assert unknown.type == "errored"
    assert unknown.error.error.type == "not_found_error"  # type: ignore[union-attr]  # a content-block union; this test's block is text
    no_tokens = results["no-tokens"]
    assert no_tokens.type == "errored"
    assert no_tokens.error.error.type == "invalid_request_error"  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert "max_tokens" in no_tokens.error.error.message  # type: ignore[union-attr]  # a content-block union; this test's block is text

    deleted = client.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)


def test_sdk_lists_batches_newest_first_across_pages(
    make_gateway: Callable[..., ServerThread],
    make_client: Callable[..., anthropic.Anthropic],
) -> None:
    gw = make_gateway()
    client = make_client(gw.url)
    made = [
        client.messages.batches.create(requests=[{"custom_id": "a", "params": params("x")}]).id
        for _ in range(5)
    ]
    first = client.messages.batches.list(limit=2)
    assert [b.id for b in first.data] == made[::-1][:2]
    assert first.has_more
    assert [b.id for b in client.messages.batches.list(limit=2)] == made[::-1]  # auto-paging
    before = client.messages.batches.list(limit=2, before_id=made[1])
    assert [b.id for b in before.data] == [made[3], made[2]]


def test_cancel_a_running_batch_then_delete(
    make_gateway: Callable[..., ServerThread],
    make_client: Callable[..., anthropic.Anthropic],
    sim: SimulatorThread,
) -> None:
    gw = make_gateway(
        queue__worker_concurrency=1, queue__min_concurrency=1, queue__max_concurrency=1
    )
    client = make_client(gw.url)
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params(f"q{i}")} for i in range(4)],
        extra_headers={"x-sim-hold": "batch"},
    )
    deadline = time.monotonic() + 10
    while "batch" not in request(sim.url, "GET", "/_sim/holds").json()["holds"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.delete(batch.id)  # still processing
    sim_post(sim.url, "/_sim/release/batch")
    done = ended(client, batch.id)
    assert (done.request_counts.succeeded, done.request_counts.canceled) == (1, 3)
    kinds = sorted(r.result.type for r in client.messages.batches.results(batch.id))
    assert kinds == ["canceled", "canceled", "canceled", "succeeded"]
    assert client.messages.batches.delete(batch.id).type == "message_batch_deleted"


def test_batches_belong_to_their_tenant_and_honour_idempotency_keys(
    make_gateway: Callable[..., ServerThread],
    make_client: Callable[..., anthropic.Anthropic],
) -> None:
    tenants = [{"name": "a", "keys": ["key-a"]}, {"name": "b", "keys": ["key-b"]}]
    gw = make_gateway(tenants=tenants)
    a, b = make_client(gw.url, api_key="key-a"), make_client(gw.url, api_key="key-b")
    requests: Any = [{"custom_id": "one", "params": params("x")}]
    first = a.messages.batches.create(requests=requests, extra_headers={"idempotency-key": "k1"})
    again = a.messages.batches.create(requests=requests, extra_headers={"idempotency-key": "k1"})
    assert first.id == again.id
    with pytest.raises(anthropic.NotFoundError):
        b.messages.batches.retrieve(first.id)
    assert list(b.messages.batches.list()) == []
    assert [x.id for x in a.messages.batches.list()] == [first.id]


def test_batch_body_limit_and_public_url(make_gateway: Callable[..., ServerThread]) -> None:
    gw = make_gateway(
        server__max_body_bytes=1024,
        server__public_url="https://gateway.example.com",
        queue__batch_max_body_bytes=64 * 1024,
    )
    hdrs = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    big = {"requests": [{"custom_id": f"r{i}", "params": params("x" * 40)} for i in range(20)]}
    resp = request(gw.url, "POST", "/v1/messages/batches", big, hdrs)
    assert resp.status == 200, resp.body  # over the messages limit, under the batch limit
    batch_id = resp.json()["id"]
    huge = {"requests": [{"custom_id": f"r{i}", "params": params("x" * 4000)} for i in range(20)]}
    too_big = request(gw.url, "POST", "/v1/messages/batches", huge, hdrs)
    assert too_big.status == 413
    assert too_big.json()["error"]["type"] == "request_too_large"
    deadline = time.monotonic() + 20
    while (doc := request(gw.url, "GET", f"/v1/messages/batches/{batch_id}", headers=hdrs).json())[
        "processing_status"
    ] != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (
        doc["results_url"] == f"https://gateway.example.com/v1/messages/batches/{batch_id}/results"
    )
    duplicate = {"requests": [{"custom_id": "x", "params": params("a")}] * 2}
    assert request(gw.url, "POST", "/v1/messages/batches", duplicate, hdrs).status == 400
