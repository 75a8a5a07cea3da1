"""Large Message Batch uploads over HTTP, with a real redis-server: accepted in bounded memory,
refused whole (nothing stored) when any request is bad, and rolled back on a Redis failure
midway with the queue's outage answer (529, never a 500).

Memory is measured with ``tracemalloc`` around the upload: the gateway runs in this process
(``ServerThread``) and the client streams the body from a file, so what is traced during the
request is the gateway's own work (no workers run: ``queue.embedded_workers`` is off).
"""

from __future__ import annotations

import http.client
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from scalegate.config import Settings
from scalegate.jobs.redis_queue import RedisQueue
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings
from tests.helpers import RawResponse
from tests.helpers import request as call
from tests.redis_server import RedisServer
from tests.servers import ServerThread

LIMITS = {"rpm": 100_000, "itpm": 100_000_000, "otpm": 100_000_000}
HEADERS = {"x-api-key": "client-key", "anthropic-version": "2023-06-01"}
MiB = 1024 * 1024


def params(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def write_batch(
    path: Path, n: int, text_size: int, odd: dict[int, Any] | None = None
) -> tuple[Path, int]:
    """A batch body of ``n`` requests written straight to ``path`` (never held whole);
    ``odd`` replaces the requests at some indexes."""
    odd = odd or {}
    with path.open("wb") as f:
        f.write(b'{"requests": [')
        for i in range(n):
            if i:
                f.write(b", ")
            item = odd.get(i, {"custom_id": f"r{i}", "params": params(f"{i} " + "x" * text_size)})
            f.write(orjson.dumps(item))
        f.write(b"]}")
    return path, path.stat().st_size


def post_file(
    url: str, path: Path, headers: dict[str, str] | None = None, chunked: bool = False
) -> RawResponse:
    """POST the file as the body, read 8 KiB at a time (with its length, or chunked)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    hdrs = {**HEADERS, "content-type": "application/json", **(headers or {})}
    try:
        with path.open("rb") as body:
            if chunked:
                blocks = iter(lambda: body.read(64 * 1024), b"")
                conn.request("POST", "/v1/messages/batches", blocks, hdrs, encode_chunked=True)
            else:
                hdrs["content-length"] = str(path.stat().st_size)
                conn.request("POST", "/v1/messages/batches", body, hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def traced(fn: Callable[[], RawResponse]) -> tuple[RawResponse, int]:
    """``fn()`` and the growth of Python's traced memory at its peak during the call."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - base


def queue_keys(client: redis.Redis) -> list[bytes]:
    """Every key the job queue holds but its lifetime counters and worker heartbeats."""
    keys = client.scan_iter("scalegate:jobs:*", count=10_000)
    return [k for k in keys if k not in (b"scalegate:jobs:stats", b"scalegate:jobs:workers")]


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_gateway(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> Callable[..., ServerThread]:
    def make(redis_url: str | None, **tree: Any) -> ServerThread:
        keys = [{"secret": k, "limits": LIMITS} for k in (KEY_A, KEY_B)]
        if redis_url is not None:
            tree = {"redis_url": redis_url, **tree}
        return start_gateway(gateway_settings(sim.url, keys, **tree))

    return make


def backend_of(gw: ServerThread) -> Any:
    return gw.config.app.state.gateway.jobs.backend  # type: ignore[attr-defined]  # the test app


def test_a_large_batch_is_accepted_in_bounded_memory(
    make_gateway: Callable[..., ServerThread],
    redis_url: str,
    store: redis.Redis,
    tmp_path: Path,
) -> None:
    gw = make_gateway(redis_url, queue__embedded_workers=False)
    assert isinstance(backend_of(gw), RedisQueue)
    small, small_size = write_batch(tmp_path / "small.json", 2_000, 2_000)
    large, large_size = write_batch(tmp_path / "large.json", 20_000, 2_000)
    assert large_size > 40 * MiB

    answer, small_growth = traced(lambda: post_file(gw.url, small))
    assert answer.status == 200, answer.body
    answer, large_growth = traced(lambda: post_file(gw.url, large))
    assert answer.status == 200, answer.body
    print(
        f"\nbatch upload, traced peak growth: {small_size / MiB:.1f} MiB body → "
        f"{small_growth / MiB:.1f} MiB; {large_size / MiB:.1f} MiB body → "
        f"{large_growth / MiB:.1f} MiB"
    )
    # A constant (one chunk of jobs on its way to Redis), far below the body: before, the
    # gateway held the body, its parsed form and every job at once (measured: 58 MiB for the
    # small body, 581 MiB for the large one; now 5.3 MiB for either).
    assert large_growth < 8 * MiB
    # and it does not grow with the body: ten times the requests, the same peak
    assert large_growth < small_growth + 2 * MiB

    batch = answer.json()
    assert batch["request_counts"]["processing"] == 20_000
    assert batch["processing_status"] == "in_progress"
    shown = call(gw.url, "GET", f"/v1/messages/batches/{batch['id']}", headers=HEADERS)
    assert shown.json()["request_counts"] == batch["request_counts"]
    assert store.llen(f"scalegate:jobs:batch:{batch['id']}:jobs") == 20_000
    assert store.zcard("scalegate:jobs:ready") == 22_000
    first = store.lindex(f"scalegate:jobs:batch:{batch['id']}:jobs", 0)
    assert first is not None
    assert store.pttl(b"scalegate:jobs:job:" + first) == -1  # committed: kept
    assert store.hget(b"scalegate:jobs:job:" + first, "custom_id") == b"r0"


@pytest.mark.parametrize(
    ("odd", "message"),
    [
        (
            {19_990: {"custom_id": "late", "params": "not an object"}},
            "requests.19990: must be an object with custom_id and params",
        ),
        (
            {19_995: {"custom_id": "r7", "params": params("again")}},
            "requests.19995.custom_id: 'r7' is not unique",
        ),
        ({19_999: {"custom_id": "bad id!", "params": {}}}, "requests.19999.custom_id: 1-64"),
    ],
)
def test_a_bad_request_at_the_end_refuses_the_whole_batch(
    odd: dict[int, Any],
    message: str,
    make_gateway: Callable[..., ServerThread],
    redis_url: str,
    store: redis.Redis,
    tmp_path: Path,
) -> None:
    gw = make_gateway(redis_url, queue__embedded_workers=False)
    body, _ = write_batch(tmp_path / "bad.json", 20_000, 200, odd)
    answer = post_file(gw.url, body)
    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(message)
    assert queue_keys(store) == []
    listing = call(gw.url, "GET", "/v1/messages/batches", headers=HEADERS).json()
    assert listing["data"] == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_batch_limit_is_413_and_nothing_is_stored(
    chunked: bool,
    make_gateway: Callable[..., ServerThread],
    redis_url: str,
    store: redis.Redis,
    tmp_path: Path,
) -> None:
    gw = make_gateway(redis_url, queue__batch_max_body_bytes=256 * 1024)
    body, size = write_batch(tmp_path / "big.json", 1_000, 400)
    assert size > 256 * 1024
    answer = post_file(gw.url, body, chunked=chunked)
    assert answer.status == 413, answer.body
    assert answer.json()["error"]["type"] == "request_too_large"
    assert "262144-byte limit" in answer.json()["error"]["message"]
    assert queue_keys(store) == []
    fits, _ = write_batch(tmp_path / "fits.json", 100, 400)
    assert post_file(gw.url, fits, chunked=chunked).status == 200


def fail_at_chunk(gw: ServerThread, n: int, fail: Callable[[], None]) -> list[int]:
    """Make the store fail (``fail()``) just before the gateway stores its ``n``-th chunk of a
    batch; returns the sizes of the chunks it was given."""
    backend = backend_of(gw)
    original = backend.add_batch_jobs
    sizes: list[int] = []

    async def add_batch_jobs(batch_id: str, jobs: Any) -> None:
        sizes.append(len(jobs))
        if len(sizes) == n:
            fail()
        await original(batch_id, jobs)

    backend.add_batch_jobs = add_batch_jobs
    return sizes


def test_redis_refusing_writes_midway_rolls_the_batch_back(
    make_gateway: Callable[..., ServerThread],
    redis_server: RedisServer,
    redis_url: str,
    store: redis.Redis,
    tmp_path: Path,
) -> None:
    """Redis out of memory at the 4th chunk: the three stored are removed (deletes still
    work), the answer is the queue's outage answer, and the same Idempotency-Key then
    creates the batch (it was freed with the rollback)."""
    gw = make_gateway(redis_url, queue__embedded_workers=False)
    body, _ = write_batch(tmp_path / "batch.json", 2_100, 100)
    sizes = fail_at_chunk(gw, 4, lambda: store.config_set("maxmemory", 1))
    try:
        answer = post_file(gw.url, body, {"idempotency-key": "upload-1"})
    finally:
        store.config_set("maxmemory", 0)
    assert sizes == [500, 500, 500, 500]
    assert answer.status == 529, answer.body
    assert answer.json()["error"]["type"] == "overloaded_error"
    assert float(answer.headers["retry-after"]) > 0
    assert queue_keys(store) == []

    retried = post_file(gw.url, body, {"idempotency-key": "upload-1"})
    assert retried.status == 200, retried.body
    assert retried.json()["request_counts"]["processing"] == 2_100
    again = post_file(gw.url, body, {"idempotency-key": "upload-1"})
    assert again.json()["id"] == retried.json()["id"]
    batch_key = f"scalegate:jobs:batch:{retried.json()['id']}:jobs"
    assert store.llen(batch_key) == 2_100
    assert store.zcard("scalegate:jobs:ready") == 2_100


def test_redis_going_down_midway_answers_529_and_shows_nothing(
    make_gateway: Callable[..., ServerThread],
    tmp_path: Path,
) -> None:
    """Redis killed at the 3rd chunk (with an append-only file, so what it held comes back):
    529, never a 500; after the restart nothing of the batch is visible or leasable, and
    what the rollback could not remove expires."""
    own = RedisServer(
        workdir=tmp_path, extra_args=("--appendonly", "yes", "--appendfsync", "always")
    ).start()
    try:
        gw = make_gateway(own.url, queue__embedded_workers=False)
        body, _ = write_batch(tmp_path / "batch.json", 1_600, 100)
        fail_at_chunk(gw, 3, own.stop)
        answer = post_file(gw.url, body)
        assert answer.status == 529, answer.body
        assert answer.json()["error"]["type"] == "overloaded_error"
        own.start()
        client = redis.Redis.from_url(own.url)
        try:
            left = queue_keys(client)
            assert left, "the append-only file kept the first chunks"
            assert all(client.pttl(k) > 0 for k in left)  # each expires by itself
            assert client.zcard("scalegate:jobs:ready") == 0
            assert not [k for k in left if k.count(b":") == 3 and b":batch:" in k]  # no record
        finally:
            client.close()
        deadline = time.monotonic() + 20
        while (
            listing := call(gw.url, "GET", "/v1/messages/batches", headers=HEADERS)
        ).status != 200:
            assert time.monotonic() < deadline, listing.body
            time.sleep(0.05)
        assert listing.json()["data"] == []
    finally:
        own.stop()


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_batch_over_several_chunks_runs_to_the_same_results(
    backend: str,
    make_gateway: Callable[..., ServerThread],
    request: pytest.FixtureRequest,
) -> None:
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    gw = make_gateway(redis_url, queue__max_concurrency=50, queue__worker_concurrency=50)
    items = [
        {"custom_id": f"r{i}", "params": params(f"q{i} [sim:tokens=2]")}
        if i % 100
        else {"custom_id": f"r{i}", "params": params("x", max_tokens=0)}  # refused at once
        for i in range(1_001)
    ]
    answer = call(gw.url, "POST", "/v1/messages/batches", {"requests": items}, HEADERS, 60)
    assert answer.status == 200, answer.body
    batch = answer.json()
    assert batch["request_counts"]["processing"] == 990
    assert batch["request_counts"]["errored"] == 11
    deadline = time.monotonic() + 90
    path = f"/v1/messages/batches/{batch['id']}"
    while (doc := call(gw.url, "GET", path, headers=HEADERS).json())[
        "processing_status"
    ] != "ended":
        assert time.monotonic() < deadline, doc
        time.sleep(0.1)
    assert doc["request_counts"] == {
        "processing": 0,
        "succeeded": 990,
        "errored": 11,
        "canceled": 0,
        "expired": 0,
    }
    lines = call(gw.url, "GET", f"{path}/results", headers=HEADERS).body.splitlines()
    results = [orjson.loads(line) for line in lines]
    assert [r["custom_id"] for r in results] == [f"r{i}" for i in range(1_001)]
    for i, r in enumerate(results):
        if i % 100:
            assert r["result"]["type"] == "succeeded"
            assert r["result"]["message"]["usage"]["output_tokens"] == 2
        else:
            assert r["result"]["type"] == "errored"
            assert "max_tokens" in r["result"]["error"]["error"]["message"]
