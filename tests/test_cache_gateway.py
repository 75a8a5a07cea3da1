"""The caches through the real gateway (DESIGN §7): official SDK, real sockets, the simulator.

Exact and semantic hits (plain and streamed, both ways), the response headers, no upstream
call and no key-pool quota for a hit, tenant and namespace isolation, the per-request policy,
what is never stored, and the admin API and CLI (stats, top, invalidate, warm).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings
from tests.helpers import OLD_STYLE, messages_body, request, sim_stats
from tests.servers import ServerThread

Client = Callable[..., anthropic.Anthropic]
LIMITS = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
KEYS = [{"secret": KEY_A, "limits": LIMITS}, {"secret": KEY_B, "limits": LIMITS}]
TOKEN = "admin-token-cache-tests"
WEB, MOBILE = "client-web-0123456789", "client-mobile-0123456789"
TENANTS = [
    {"name": "web", "keys": [WEB], "cache_mode": "exact"},
    {"name": "mobile", "keys": [MOBILE], "cache_mode": "exact"},
]


def accepted(sim: SimulatorThread) -> int:
    stats = sim_stats(sim.url)["keys"]
    return sum(stats[k]["accepted"] for k in (KEY_A, KEY_B) if k in stats)


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def exact_gw(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> ServerThread:
    return start_gateway(gateway_settings(sim.url, KEYS, cache__mode="exact", admin_token=TOKEN))


def test_exact_hit_serves_the_stored_message_without_an_upstream_call(
    exact_gw: ServerThread, sim: SimulatorThread, make_client: Client
) -> None:
    client = make_client(exact_gw.url)
    first = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=user("Hello cache [sim:tokens=9]")
    )
    assert first.headers["x-scalegate-cache"] == "miss"
    assert accepted(sim) == 1
    second = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=user("Hello cache [sim:tokens=9]")
    )
    assert second.headers["x-scalegate-cache"] == "hit"
    assert "x-scalegate-cache-similarity" not in second.headers
    assert "x-scalegate-key" not in second.headers  # no key was leased
    assert second.headers["x-scalegate-attempts"] == "0"
    assert second.http_response.content == first.http_response.content  # unchanged
    assert accepted(sim) == 1
    # Another output-changing parameter is another entry.
    third = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=64,
        stop_sequences=["zz"],
        messages=user("Hello cache [sim:tokens=9]"),
    )
    assert third.headers["x-scalegate-cache"] == "miss"


def test_streamed_miss_is_stored_and_serves_both_forms(
    exact_gw: ServerThread, sim: SimulatorThread, make_client: Client
) -> None:
    client = make_client(exact_gw.url)
    prompt = user("Stream me [sim:tokens=15]")
    with client.messages.stream(model=MODEL, max_tokens=64, messages=prompt) as stream:
        streamed = stream.get_final_message()
        assert stream.response.headers["x-scalegate-cache"] == "miss"
    plain = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=prompt)
    assert plain.headers["x-scalegate-cache"] == "hit"
    stored = json.loads(plain.http_response.content)
    assert stored["content"] == [{"type": "text", "text": streamed.content[0].text}]  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert stored["id"] == streamed.id
    assert stored["stop_reason"] == streamed.stop_reason
    assert plain.parse().usage.output_tokens == streamed.usage.output_tokens
    with client.messages.stream(model=MODEL, max_tokens=64, messages=prompt) as stream:
        texts = list(stream.text_stream)
        replayed = stream.get_final_message()
        assert stream.response.headers["x-scalegate-cache"] == "hit"
    assert "".join(texts) == streamed.content[0].text  # type: ignore[union-attr]  # a content-block union; this test's block is text
    assert replayed.model_dump() == streamed.model_dump()
    assert accepted(sim) == 1


def test_plain_miss_is_replayed_as_a_valid_stream(
    exact_gw: ServerThread, make_client: Client
) -> None:
    client = make_client(exact_gw.url)
    prompt = user("Plain first [sim:tokens=12]")
    plain = client.messages.create(model=MODEL, max_tokens=64, messages=prompt)
    events = list(client.messages.create(model=MODEL, max_tokens=64, messages=prompt, stream=True))
    names = [e.type for e in events]
    assert names[0] == "message_start"
    assert names[-1] == "message_stop"
    assert "content_block_delta" in names
    assert "message_delta" in names
    with client.messages.stream(model=MODEL, max_tokens=64, messages=prompt) as stream:
        assert stream.get_final_message().model_dump() == plain.model_dump()


def test_tool_use_answers_are_not_stored(exact_gw: ServerThread, make_client: Client) -> None:
    client = make_client(exact_gw.url)
    tools: Any = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    for _ in range(2):
        raw = client.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=64,
            messages=user("Weather? [sim:tool]"),
            tools=tools,
        )
        assert raw.parse().stop_reason == "tool_use"
        assert raw.headers["x-scalegate-cache"] == "miss"


def test_policy_header_and_errors(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(gateway_settings(sim.url, KEYS))  # cache.mode: off (the default)
    body = messages_body("policy [sim:tokens=3]")
    headers = dict(OLD_STYLE)
    for _ in range(2):
        resp = request(gw.url, "POST", "/v1/messages", body, headers)
        assert resp.headers["x-scalegate-cache"] == "bypass"
    opted = {**headers, "x-scalegate-cache": "EXACT"}
    assert (
        request(gw.url, "POST", "/v1/messages", body, opted).headers["x-scalegate-cache"] == "miss"
    )
    assert (
        request(gw.url, "POST", "/v1/messages", body, opted).headers["x-scalegate-cache"] == "hit"
    )
    # semantic is not enabled on this gateway: it degrades to exact.
    semantic = {**headers, "x-scalegate-cache": "semantic"}
    assert (
        request(gw.url, "POST", "/v1/messages", body, semantic).headers["x-scalegate-cache"]
        == "hit"
    )
    bad = request(gw.url, "POST", "/v1/messages", body, {**headers, "x-scalegate-cache": "yes"})
    assert bad.status == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert "x-scalegate-cache" in bad.json()["error"]["message"]
    bad_ns = request(
        gw.url, "POST", "/v1/messages", body, {**opted, "x-scalegate-cache-namespace": "a b"}
    )
    assert bad_ns.status == 400


def test_tenants_never_share_entries_and_namespaces_split_them(
    sim: SimulatorThread, start_gateway: Callable[[Settings], ServerThread]
) -> None:
    gw = start_gateway(gateway_settings(sim.url, KEYS, tenants=TENANTS, admin_token=TOKEN))
    body = messages_body("tenant isolation [sim:tokens=4]")

    def ask(key: str, **extra: str) -> str:
        headers = {**OLD_STYLE, "x-api-key": key, **extra}
        resp = request(gw.url, "POST", "/v1/messages", body, headers)
        assert resp.status == 200, resp.body
        return resp.headers["x-scalegate-cache"]

    assert ask(WEB) == "miss"
    assert ask(WEB) == "hit"
    assert ask(MOBILE) == "miss"  # same request, other tenant
    assert ask(MOBILE) == "hit"
    assert ask(WEB, **{"x-scalegate-cache-namespace": "beta"}) == "miss"
    assert ask(WEB, **{"x-scalegate-cache-namespace": "beta"}) == "hit"
    assert ask(WEB, **{"x-scalegate-cache": "off"}) == "bypass"
    auth = {"authorization": f"Bearer {TOKEN}"}
    resp = request(gw.url, "POST", "/admin/cache/invalidate", {"namespace": "web"}, auth)
    assert resp.status == 200, resp.body
    assert ask(WEB) == "miss"  # the tenant's entries are dead …
    assert ask(WEB, **{"x-scalegate-cache-namespace": "beta"}) == "miss"  # … its sub-namespaces too
    assert ask(MOBILE) == "hit"  # … and no one else's


def test_admin_stats_top_invalidate_and_cli_warm(
    exact_gw: ServerThread, sim: SimulatorThread, tmp_path: Path
) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert request(exact_gw.url, "GET", "/admin/cache/stats").status == 401
    body = messages_body("admin stats [sim:tokens=5]")
    for _ in range(3):
        request(exact_gw.url, "POST", "/v1/messages", body, dict(OLD_STYLE))
    stats = request(exact_gw.url, "GET", "/admin/cache/stats", headers=auth).json()
    assert stats["exact"]["hits"] == 2
    assert stats["exact"]["misses"] == 1
    assert stats["exact"]["entries"] == 1
    assert stats["exact"]["bytes"] > 0
    assert stats["requests"] == {
        "hit": 2,
        "semantic-hit": 0,
        "coalesced": 0,
        "miss": 1,
        "bypass": 0,
    }
    top = request(exact_gw.url, "GET", "/admin/cache/top?n=5", headers=auth).json()
    assert top["exact"][0]["hits"] == 2
    assert "admin stats" in top["exact"][0]["label"]

    env = {**os.environ, "SCALEGATE_URL": exact_gw.url, "SCALEGATE_ADMIN_TOKEN": TOKEN}
    warm_file = tmp_path / "warm.jsonl"
    lines = [messages_body(f"warm {i} [sim:tokens=3]") for i in range(3)]
    lines.append({"request": messages_body("warm tenantless [sim:tokens=3]"), "namespace": "faq"})
    lines.append({"model": MODEL, "messages": []})  # invalid: reported, not fatal
    warm_file.write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scalegate.cli", "cache", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    out = cli("warm", str(warm_file), "--progress")
    assert out.returncode == 1, out.stderr  # one item failed
    assert "stored 4" in out.stdout
    assert "failed 1" in out.stdout
    assert "5/5" in out.stderr
    before = accepted(sim)
    resp = request(exact_gw.url, "POST", "/v1/messages", lines[1], dict(OLD_STYLE))
    assert resp.headers["x-scalegate-cache"] == "hit"
    assert accepted(sim) == before
    out = cli("warm", str(warm_file))
    assert "cached 4" in out.stdout

    out = cli("stats")
    assert out.returncode == 0, out.stderr
    assert "exact:" in out.stdout
    assert "entries" in out.stdout
    assert cli("top", "-n", "3").returncode == 0
    out = cli("invalidate")
    assert out.returncode == 0
    assert '"namespace": "*"' in out.stdout
    resp = request(exact_gw.url, "POST", "/v1/messages", lines[1], dict(OLD_STYLE))
    assert resp.headers["x-scalegate-cache"] == "miss"
    bad = request(exact_gw.url, "POST", "/admin/cache/invalidate", {"namespace": "a/b/c"}, auth)
    assert bad.status == 400


def test_identical_concurrent_misses_ask_the_provider_once(
    exact_gw: ServerThread, sim: SimulatorThread
) -> None:
    """Twenty identical questions at once: one goes upstream, nineteen wait for its answer."""
    auth = {"authorization": f"Bearer {TOKEN}"}
    body = messages_body("A popular question [sim:tokens=6]")
    held = {**OLD_STYLE, "x-sim-hold": "leader"}

    def stats() -> dict[str, Any]:
        doc: dict[str, Any] = request(
            exact_gw.url, "GET", "/admin/cache/stats", headers=auth
        ).json()
        return doc

    with ThreadPoolExecutor(20) as pool:
        leader = pool.submit(request, exact_gw.url, "POST", "/v1/messages", body, held)
        wait_for(lambda: request(sim.url, "GET", "/_sim/holds").json()["holds"] == ["leader"])
        followers = [
            pool.submit(request, exact_gw.url, "POST", "/v1/messages", body, held)
            for _ in range(19)
        ]
        wait_for(lambda: stats()["coalescing"] == {"leaders": 1, "waiting": 19})
        # A streaming request for the same answer does not wait: it asks for itself.
        streamed = request(
            exact_gw.url, "POST", "/v1/messages", {**body, "stream": True}, dict(OLD_STYLE)
        )
        assert streamed.status == 200
        assert streamed.headers["x-scalegate-cache"] == "miss"
        assert request(sim.url, "POST", "/_sim/release/leader").status == 200
        answers = [leader.result(), *(f.result() for f in followers)]
    assert [a.status for a in answers] == [200] * 20
    assert {a.body for a in answers} == {answers[0].body}
    outcomes = sorted(a.headers["x-scalegate-cache"] for a in answers)
    assert outcomes == ["coalesced"] * 19 + ["miss"]
    assert accepted(sim) == 2  # the leader and the stream
    assert stats()["coalescing"] == {"leaders": 0, "waiting": 0}
    assert stats()["requests"]["coalesced"] == 19
    # The metrics and the dashboard count them as answers from the cache.
    doc = request(exact_gw.url, "GET", "/api/monitoring/metrics?format=json").json()
    lookups = {
        s["labels"]["outcome"]: s["value"]
        for s in doc["scalegate_cache_lookups"]["samples"]
        if s["name"] == "scalegate_cache_lookups_total"
    }
    assert (lookups["coalesced"], lookups["miss"]) == (19, 2)
    board = request(exact_gw.url, "GET", "/api/monitoring/dashboard", headers=auth).json()
    assert board["cache"]["hit_ratio"] == round(19 / 21, 4)


def test_followers_ask_for_themselves_when_the_answer_is_not_storable(
    exact_gw: ServerThread, sim: SimulatorThread
) -> None:
    """A tool call is never shared (as it is never stored): the waiting requests go upstream."""
    auth = {"authorization": f"Bearer {TOKEN}"}
    body = {
        **messages_body("Weather in Oslo? [sim:tool]"),
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    }
    with ThreadPoolExecutor(5) as pool:
        leader = pool.submit(
            request, exact_gw.url, "POST", "/v1/messages", body, {**OLD_STYLE, "x-sim-hold": "t"}
        )
        wait_for(lambda: request(sim.url, "GET", "/_sim/holds").json()["holds"] == ["t"])
        followers = [
            pool.submit(request, exact_gw.url, "POST", "/v1/messages", body, dict(OLD_STYLE))
            for _ in range(4)
        ]
        wait_for(
            lambda: (
                request(exact_gw.url, "GET", "/admin/cache/stats", headers=auth).json()[
                    "coalescing"
                ]["waiting"]
                == 4
            )
        )
        request(sim.url, "POST", "/_sim/release/t")
        answers = [leader.result(), *(f.result() for f in followers)]
    assert [a.json()["stop_reason"] for a in answers] == ["tool_use"] * 5
    assert sorted(a.headers["x-scalegate-cache"] for a in answers) == ["miss"] * 5
    assert len({a.json()["id"] for a in answers}) == 5  # five answers, none shared
    assert accepted(sim) == 5


def test_jobs_share_the_cache_with_the_http_route(
    exact_gw: ServerThread, sim: SimulatorThread
) -> None:
    """A job answers from the cache, and a job's answer serves the next identical request."""
    hdrs = {**OLD_STYLE, "content-type": "application/json"}

    def run_job(body: dict[str, Any]) -> dict[str, Any]:
        created = request(exact_gw.url, "POST", "/v1/jobs", {"request": body}, hdrs)
        assert created.status == 202, created.body
        job_id = created.json()["id"]
        doc: dict[str, Any] = {}

        def finished() -> bool:
            doc.update(request(exact_gw.url, "GET", f"/v1/jobs/{job_id}", headers=hdrs).json())
            return doc["state"] in ("COMPLETED", "FAILED", "DEAD")

        wait_for(finished)
        assert doc["state"] == "COMPLETED", doc
        return doc

    asked = messages_body("Cached for jobs too [sim:tokens=5]")
    first = request(exact_gw.url, "POST", "/v1/messages", asked, dict(OLD_STYLE))
    assert first.headers["x-scalegate-cache"] == "miss"
    job = run_job(asked)
    assert job["result"] == first.json()  # the stored Message, not a new answer
    assert accepted(sim) == 1
    # The other way round: a job's answer is stored for the HTTP route.
    other = messages_body("Asked first as a job [sim:tokens=4]")
    job = run_job(other)
    assert accepted(sim) == 2
    hit = request(exact_gw.url, "POST", "/v1/messages", other, dict(OLD_STYLE))
    assert hit.headers["x-scalegate-cache"] == "hit"
    assert hit.json() == job["result"]
    assert accepted(sim) == 2
