"""Bad input gets a clear 4xx in the provider's envelope — never a 500, never a crash.

The gateway refuses only shapes it acts on (model, max_tokens, messages, stream, size, depth);
roles, block types, tools and sampling values are the provider's to judge, so their 400s come
from upstream (``tests/test_passthrough.py``).
"""

from __future__ import annotations

import socket
from typing import Any

import orjson
import pytest

from tests.conftest import KEY_A, KEY_B, KEY_C
from tests.helpers import OLD_STYLE, messages_body, request, sim_stats
from tests.servers import ServerThread
from tests.simulator_keys import accepted_total


def post(gateway: ServerThread, body: Any, headers: dict[str, str] | None = None) -> Any:
    return request(gateway.url, "POST", "/v1/messages", body, headers or dict(OLD_STYLE))


def assert_envelope(resp: Any, status: int, error_type: str, needle: str = "") -> None:
    assert resp.status == status, resp.body
    doc = orjson.loads(resp.body)
    assert doc["type"] == "error"
    assert doc["error"]["type"] == error_type
    assert needle in doc["error"]["message"]
    assert doc["request_id"] == resp.headers["request-id"]
    assert resp.headers["request-id"].startswith("req_")
    assert resp.headers["content-type"].startswith("application/json")


def test_old_style_request_works(gateway: ServerThread) -> None:
    resp = post(gateway, messages_body("hi [sim:tokens=3]"))
    assert resp.status == 200
    assert resp.json()["usage"]["output_tokens"] == 3


NO_VERSION = {k: v for k, v in OLD_STYLE.items() if k != "anthropic-version"}

CASES: list[tuple[str, Any, dict[str, str] | None, str]] = [
    ("missing version", messages_body(), NO_VERSION, "anthropic-version: header is required"),
    ("malformed json", b'{"model": "x", ', None, "not valid JSON"),
    ("invalid utf-8", b'{"model": "\xff\xfe"}', None, "not valid JSON"),
    ("empty body", b"", None, "empty"),
    ("not an object", b"[1, 2, 3]", None, "JSON object"),
    (
        "missing model",
        {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        None,
        "model: Field required",
    ),
    (
        "missing max_tokens",
        {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        None,
        "max_tokens: Field required",
    ),
    ("missing messages", {"model": "m", "max_tokens": 5}, None, "messages: Field required"),
    ("max_tokens as string", messages_body(max_tokens="10"), None, "max_tokens"),  # type: ignore[arg-type]  # a deliberately wrong or loosely typed value, as a client sends it
    ("max_tokens as bool", messages_body(max_tokens=True), None, "max_tokens"),
    ("negative max_tokens", messages_body(max_tokens=-1), None, "max_tokens"),
    ("messages not a list", {"model": "m", "max_tokens": 5, "messages": "hi"}, None, "messages"),
    ("empty messages", {"model": "m", "max_tokens": 5, "messages": []}, None, "messages"),
    (
        "message not an object",
        {"model": "m", "max_tokens": 5, "messages": ["hi"]},
        None,
        "messages.0",
    ),
    ("stream not a bool", messages_body(stream="yes"), None, "stream"),
    (
        "model empty",
        {"model": "", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        None,
        "model",
    ),
    ("deep json", b"[" * 10_000 + b"]" * 10_000, None, "JSON"),
    ("huge number", b'{"model": "m", "max_tokens": 1e999999, "messages": []}', None, ""),
]


@pytest.mark.parametrize(
    ("body", "headers", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_body_is_a_400(
    gateway: ServerThread, body: Any, headers: dict[str, str] | None, needle: str
) -> None:
    resp = post(gateway, body, headers)
    assert_envelope(resp, 400, "invalid_request_error", needle)
    assert resp.headers["x-scalegate-request-id"] == resp.headers["request-id"]


def test_bad_input_reserves_no_quota(gateway: ServerThread, sim: Any) -> None:
    for _, body, headers, _ in CASES:
        post(gateway, body, headers)
    assert accepted_total(sim_stats(sim.url), (KEY_A, KEY_B, KEY_C)) == 0
    assert post(gateway, messages_body()).status == 200  # and the gateway is still fine


def test_removed_parameters_under_the_new_api_version(gateway: ServerThread) -> None:
    headers = {**OLD_STYLE, "anthropic-version": "2026-10-21"}
    resp = post(gateway, messages_body(temperature=0.5), headers)
    assert_envelope(resp, 400, "invalid_request_error", "temperature")
    # the same parameter is fine under the older version
    assert post(gateway, messages_body(temperature=0.5)).status == 200


def test_body_over_the_limit_is_a_413(gateway: ServerThread) -> None:
    big = messages_body("x" * (33 * 1024 * 1024))
    resp = post(gateway, big)
    assert_envelope(resp, 413, "request_too_large", "limit")


def test_chunked_body_over_the_limit_is_a_413(gateway: ServerThread) -> None:
    """No content-length to trust: the limit is enforced while reading."""
    chunk = b"x" * (1024 * 1024)
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: t\r\nanthropic-version: 2023-06-01\r\n"
        b"x-api-key: k\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(head)
        try:
            for _ in range(40):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway answered and closed: fine
        reply = b""
        while b"\r\n\r\n" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


@pytest.mark.parametrize(
    ("header", "value", "needle"),
    [
        ("x-scalegate-priority", "urgent", "x-scalegate-priority"),
        ("x-scalegate-deadline-ms", "soon", "x-scalegate-deadline-ms"),
        ("x-scalegate-deadline-ms", "-5", "x-scalegate-deadline-ms"),
    ],
)
def test_bad_control_headers(gateway: ServerThread, header: str, value: str, needle: str) -> None:
    resp = post(gateway, messages_body(), {**OLD_STYLE, header: value})
    assert_envelope(resp, 400, "invalid_request_error", needle)


def test_unknown_route_and_wrong_method(gateway: ServerThread) -> None:
    versioned = {"anthropic-version": "2023-06-01"}
    unknown = request(gateway.url, "GET", "/v1/nothing-here", headers=versioned)
    assert_envelope(unknown, 404, "not_found_error")
    assert_envelope(request(gateway.url, "GET", "/v1/messages"), 405, "invalid_request_error")
    # An OpenAI client (no anthropic-version) on a path that is not Anthropic's gets
    # OpenAI's envelope, as its SDK expects.
    openai = request(gateway.url, "POST", "/v1/embeddings", {"input": "x"})
    assert openai.status == 404
    error = openai.json()["error"]
    assert set(openai.json()) == {"error"}
    assert error["code"] == "not_found"


def test_priority_is_echoed(gateway: ServerThread) -> None:
    resp = post(gateway, messages_body(), {**OLD_STYLE, "x-scalegate-priority": "HIGH"})
    assert resp.status == 200
    assert resp.headers["x-scalegate-priority"] == "high"
