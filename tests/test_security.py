"""Security hardening, over real sockets against real gateways (docs/security.md).

Slow and oversized clients against a real ``scalegate serve`` process (the HTTP protocol
that enforces them is part of ``serve``); JSON depth, upstream response size, CORS and
cross-origin writes, the admin token, model-id paths and an injected internal fault against
the app served in a thread, where its objects can be reached.
"""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from starlette.types import Receive, Scope, Send

from scalegate.config import Settings
from scalegate.errors import InvalidRequestError
from scalegate.simulator import SimulatorThread
from scalegate.validation import check_json_depth
from tests.conftest import KEY_A, KEY_B, MODEL, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, RawResponse, messages_body, request, sim_stats
from tests.processes import GatewayProcess
from tests.servers import ServerThread

LIMITS = {"rpm": 100_000, "itpm": 100_000_000, "otpm": 100_000_000}
OPENAI = {"authorization": "Bearer client-key", "content-type": "application/json"}

# -- envelopes -------------------------------------------------------------------------------


def anthropic_error(
    status: int, headers: dict[str, str], body: bytes, error_type: str
) -> dict[str, Any]:
    """Assert the provider's envelope with this status and type; returns the document."""
    assert headers.get("content-type", "").startswith("application/json"), (headers, body)
    doc: dict[str, Any] = orjson.loads(body)
    assert set(doc) == {"type", "error", "request_id"}, doc
    assert doc["type"] == "error"
    assert doc["error"]["type"] == error_type, doc
    assert isinstance(doc["error"]["message"], str)
    assert doc["error"]["message"]
    assert doc["request_id"] == headers["request-id"]
    assert doc["request_id"].startswith("req_")
    return doc


def openai_error(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Assert OpenAI's envelope; returns the document."""
    assert headers.get("content-type", "").startswith("application/json"), (headers, body)
    doc: dict[str, Any] = orjson.loads(body)
    assert set(doc) == {"error"}, doc
    assert set(doc["error"]) >= {"message", "type", "param", "code"}, doc
    assert isinstance(doc["error"]["message"], str)
    assert doc["error"]["message"]
    assert headers["x-request-id"].startswith("req_")
    return doc


def envelope(resp: RawResponse, status: int, error_type: str) -> dict[str, Any]:
    assert resp.status == status, (resp.status, resp.body[:300])
    return anthropic_error(resp.status, resp.headers, resp.body, error_type)


# -- raw HTTP over a socket ------------------------------------------------------------------


@dataclass
class Exchange:
    """What the server did with one hand-made connection."""

    data: bytes = b""
    first_byte: float | None = None  # seconds from the start until the server's first byte
    closed: float | None = None  # seconds until it closed (EOF or reset); None: still open
    reset: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        if not self.data.startswith(b"HTTP/1.1 "):
            return None
        return int(self.data[9:12])

    @property
    def headers(self) -> dict[str, str]:
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head)}

    @property
    def body(self) -> bytes:
        return self.data.split(b"\r\n\r\n", 1)[1]


def converse(
    port: int,
    chunks: list[tuple[float, bytes]],
    deadline: float,
) -> Exchange:
    """Send ``(delay, bytes)`` chunks on a fresh connection while waiting until the server
    closes it or ``deadline`` seconds pass (writing stops then, or when a write fails)."""
    out = Exchange()
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    done = threading.Event()

    def writer() -> None:
        for delay, chunk in chunks:
            if done.wait(delay):
                return
            try:
                sock.sendall(chunk)
            except OSError as exc:  # the server closed: the reader sees why
                out.errors.append(repr(exc))
                return

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        while True:
            left = deadline - (time.monotonic() - started)
            if left <= 0:
                break
            sock.settimeout(min(left, 0.5))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                out.reset = True
                out.closed = time.monotonic() - started
                break
            if not data:
                out.closed = time.monotonic() - started
                break
            if out.first_byte is None:
                out.first_byte = time.monotonic() - started
            out.data += data
    finally:
        done.set()
        sock.close()
        thread.join(5)
    return out


# -- a real `scalegate serve` with short limits ----------------------------------------------

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
KEEP_ALIVE = 1
MAX_HEADER_BYTES = 8192
MIN_RATE = 20_000  # bytes/s: each such amount received buys one more second


@pytest.fixture(scope="module")
def module_sim() -> Iterator[SimulatorThread]:
    sim = SimulatorThread(sim_config({KEY_A: LIMITS, KEY_B: LIMITS}))
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def served(module_sim: SimulatorThread) -> Iterator[GatewayProcess]:
    config = {
        "upstream": {"base_url": module_sim.url},
        "keys": [{"secret": KEY_A, "limits": LIMITS}, {"secret": KEY_B, "limits": LIMITS}],
        "server": {
            "header_timeout_seconds": HEADER_TIMEOUT,
            "body_timeout_seconds": BODY_TIMEOUT,
            "body_min_bytes_per_second": MIN_RATE,
            "keep_alive_seconds": KEEP_ALIVE,
            "max_header_bytes": MAX_HEADER_BYTES,
        },
    }
    gw = GatewayProcess(config).start()
    yield gw
    gw.close()


HEAD = (
    b"POST /v1/messages HTTP/1.1\r\nhost: t\r\nanthropic-version: 2023-06-01\r\n"
    b"x-api-key: k\r\ncontent-type: application/json\r\n"
)
BODY = json.dumps(messages_body("hi")).encode()


def _trickle(data: bytes, every: float) -> list[tuple[float, bytes]]:
    return [(every, data[i : i + 1]) for i in range(len(data))]


def _steady_body() -> list[tuple[float, bytes]]:
    """A 90 kB request sent over ~2.4 s (longer than the body timeout) at ~37 kB/s."""
    padded = json.dumps(messages_body("x" * 90_000)).encode()
    head = HEAD + b"content-length: %d\r\n\r\n" % len(padded)
    parts = [padded[i : i + 7_500] for i in range(0, len(padded), 7_500)]
    return [(0, head)] + [(0.2, p) for p in parts]


# name → (chunks, how long to watch the connection)
SLOW_CASES: dict[str, tuple[list[tuple[float, bytes]], float]] = {
    "idle connection": ([], 8),
    "half a request line": ([(0, b"POST /v1/mess")], 8),
    "half a header line": ([(0, HEAD + b"x-slow: aaa")], 8),
    "headers trickled a line at a time": (
        [(0, HEAD)] + [(0.3, b"x-h%d: v\r\n" % i) for i in range(30)],
        8,
    ),
    "headers, then no body": ([(0, HEAD + b"content-length: 100\r\n\r\n")], 8),
    "headers, then part of the body": ([(0, HEAD + b'content-length: 100\r\n\r\n{"mo')], 8),
    "body trickled a byte at a time": (
        [(0, HEAD + b"content-length: 100\r\n\r\n"), *_trickle(b"x" * 100, 0.1)],
        8,
    ),
    "openai body stalls": (
        [
            (
                0,
                HEAD.replace(b"/v1/messages", b"/v1/chat/completions")
                + b"content-length: 9\r\n\r\n{",
            )
        ],
        8,
    ),
    "jobs body stalls": (
        [(0, HEAD.replace(b"/v1/messages", b"/v1/jobs") + b"content-length: 50\r\n\r\n{")],
        8,
    ),
    "kept alive, then idle": ([(0, b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")], 8),
    "kept alive, then half a head": (
        [(0, b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n"), (0.3, b"GET /hea")],
        8,
    ),
    "slow but steady body": (_steady_body(), 10),
}


@pytest.fixture(scope="module")
def slow(served: GatewayProcess) -> dict[str, Exchange]:
    """Every slow-client case at once, each on its own connection (one wait for all)."""
    with ThreadPoolExecutor(len(SLOW_CASES)) as pool:
        futures = {
            name: pool.submit(converse, served.port, chunks, deadline)
            for name, (chunks, deadline) in SLOW_CASES.items()
        }
        return {name: f.result() for name, f in futures.items()}


def within(seconds: float | None, low: float, high: float) -> bool:
    return seconds is not None and low <= seconds <= high


def _timed_out(ex: Exchange, after: float, *, openai: bool = False) -> None:
    """A 408 in the right envelope about ``after`` seconds in, then the connection closed."""
    assert ex.status == 408, ex
    assert within(ex.first_byte, after - 0.1, after + 1.5), ex
    if openai:
        doc = openai_error(ex.headers, ex.body)
        assert "did not arrive" in doc["error"]["message"]
    else:
        doc = anthropic_error(408, ex.headers, ex.body, "invalid_request_error")
        assert "did not arrive" in doc["error"]["message"]
    assert ex.headers["connection"] == "close"
    assert ex.closed is not None, "the server kept the connection open after its 408"


def test_an_idle_connection_is_closed_quietly(slow: dict[str, Exchange]) -> None:
    ex = slow["idle connection"]
    assert ex.data == b"", ex
    assert within(ex.closed, HEADER_TIMEOUT - 0.1, HEADER_TIMEOUT + 1.5), ex


@pytest.mark.parametrize(
    "case",
    ["half a request line", "half a header line", "headers trickled a line at a time"],
)
def test_a_slow_request_head_gets_a_408(slow: dict[str, Exchange], case: str) -> None:
    _timed_out(slow[case], HEADER_TIMEOUT)


@pytest.mark.parametrize(
    "case",
    ["headers, then no body", "headers, then part of the body", "body trickled a byte at a time"],
)
def test_a_slow_body_gets_a_408(slow: dict[str, Exchange], case: str) -> None:
    _timed_out(slow[case], BODY_TIMEOUT)


def test_a_slow_body_on_the_openai_route_gets_openais_envelope(
    slow: dict[str, Exchange],
) -> None:
    _timed_out(slow["openai body stalls"], BODY_TIMEOUT, openai=True)


def test_a_slow_body_on_a_starlette_route_gets_a_408(slow: dict[str, Exchange]) -> None:
    _timed_out(slow["jobs body stalls"], BODY_TIMEOUT)


def test_an_idle_kept_alive_connection_is_closed(slow: dict[str, Exchange]) -> None:
    ex = slow["kept alive, then idle"]
    assert ex.status == 200, ex
    assert ex.data.count(b"HTTP/1.1") == 1, ex
    assert within(ex.closed, KEEP_ALIVE - 0.1, KEEP_ALIVE + 1.5), ex


def test_a_second_slow_head_on_a_kept_alive_connection_gets_a_408(
    slow: dict[str, Exchange],
) -> None:
    ex = slow["kept alive, then half a head"]
    first, second = ex.data.split(b"HTTP/1.1 408", 1)
    assert first.startswith(b"HTTP/1.1 200"), ex
    assert b'"did not arrive' not in first
    assert within(ex.closed, 0.3 + HEADER_TIMEOUT - 0.1, 5), ex
    assert b"the request headers did not arrive" in second


def test_a_slow_but_steady_upload_is_not_cut_off(slow: dict[str, Exchange]) -> None:
    """Longer than the body timeout, but at more than the minimum rate: it completes."""
    ex = slow["slow but steady body"]
    assert ex.status == 200, ex
    assert within(ex.first_byte, BODY_TIMEOUT, 10), ex
    assert orjson.loads(ex.body)["type"] == "message"


def test_the_gateway_still_serves_after_the_slow_clients(
    slow: dict[str, Exchange], served: GatewayProcess
) -> None:
    assert served.proc is not None
    assert served.proc.poll() is None
    assert request(served.url, "POST", "/v1/messages", messages_body(), OLD_STYLE).status == 200
    assert "Traceback" not in served.log(), served.log()[-3000:]


# -- the request head's size -----------------------------------------------------------------


def _head_request(path: bytes, extra: bytes) -> bytes:
    return (
        b"POST " + path + b" HTTP/1.1\r\nhost: t\r\nanthropic-version: 2023-06-01\r\n"
        b"x-api-key: k\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: %d\r\n\r\n" % len(BODY)
        + BODY
    )


def _one(port: int, data: bytes, deadline: float = 10) -> Exchange:
    return converse(port, [(0, data)], deadline)


def test_an_oversized_upload_gets_a_413_and_a_clean_close(served: GatewayProcess) -> None:
    # A body over the limit, sent whole: the answer is a 413, then the connection ends —
    # and nothing else comes (no unsolicited 408 once the unread body has gone by).
    size = 33 * 1024 * 1024  # over the default 32 MiB
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: t\r\nanthropic-version: 2023-06-01\r\n"
        b"x-api-key: k\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n" % size
    )
    chunk = b"x" * (1024 * 1024)
    chunks = [(0.0, head)] + [(0.0, chunk)] * (size // len(chunk))
    ex = converse(served.port, chunks, deadline=HEADER_TIMEOUT + BODY_TIMEOUT + 5)
    assert ex.status == 413, ex.data[:300]
    assert ex.data.count(b"HTTP/1.1 ") == 1, ex.data[:600]
    assert ex.closed is not None


def test_headers_under_the_limit_are_served(served: GatewayProcess) -> None:
    ex = _one(served.port, _head_request(b"/v1/messages", b"x-pad: " + b"a" * 6000 + b"\r\n"))
    assert ex.status == 200, ex


@pytest.mark.parametrize(
    ("what", "extra"),
    [
        ("one large header", b"x-pad: " + b"a" * 10_000 + b"\r\n"),
        ("many small headers", b"".join(b"x-h%d: v\r\n" % i for i in range(2_000))),
        ("a 4 MB header", b"x-pad: " + b"a" * 4_000_000 + b"\r\n"),
    ],
)
def test_headers_over_the_limit_get_a_431(served: GatewayProcess, what: str, extra: bytes) -> None:
    ex = _one(served.port, _head_request(b"/v1/messages", extra))
    assert ex.status == 431, (what, ex)  # answered, not reset, even mid-upload
    doc = anthropic_error(431, ex.headers, ex.body, "invalid_request_error")
    assert f"{MAX_HEADER_BYTES}-byte limit" in doc["error"]["message"]
    assert ex.closed is not None


def test_a_long_request_line_gets_a_431(served: GatewayProcess) -> None:
    ex = _one(served.port, b"GET /v1/models?x=" + b"a" * 20_000 + b" HTTP/1.1\r\nhost: t\r\n\r\n")
    assert ex.status == 431, ex
    anthropic_error(431, ex.headers, ex.body, "invalid_request_error")


def test_headers_over_the_limit_on_the_openai_route(served: GatewayProcess) -> None:
    extra = b"x-pad: " + b"a" * 10_000 + b"\r\n"
    ex = _one(served.port, _head_request(b"/v1/chat/completions", extra))
    assert ex.status == 431, ex
    openai_error(ex.headers, ex.body)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\nhost: t\r\nbad header\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"GET /v1/\xff HTTP/1.1\r\nhost: t\r\n\r\n",
    ],
    ids=["not http", "header without colon", "two lengths", "bad chunk", "non-ascii path"],
)
def test_malformed_http_gets_a_400_envelope(served: GatewayProcess, raw: bytes) -> None:
    """uvicorn's own answer is a text/plain 400; the gateway's is the provider's envelope."""
    ex = _one(served.port, raw)
    assert ex.status == 400, ex
    anthropic_error(400, ex.headers, ex.body, "invalid_request_error")


@pytest.mark.parametrize("before", [1, 2], ids=["one request", "two pipelined"])
def test_garbage_after_pipelined_requests_answers_them_first(
    served: GatewayProcess, before: int
) -> None:
    """Bytes the parser rejects, read in the same packet as complete requests before them:
    each of those is answered, in order, then the 400 in the envelope, then the close (the
    connection used to close at once, unanswered: found by test_fuzz)."""
    request_ = b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n"
    ex = _one(served.port, request_ * before + b"GARBAGE\r\n\r\n")
    answers = ex.data.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200"] * before + [b"400"], ex.data[:600]
    assert b"the request is not valid HTTP/1.1" in answers[-1]
    assert ex.closed is not None


def test_no_server_header(served: GatewayProcess) -> None:
    resp = request(served.url, "GET", "/healthz")
    assert "server" not in resp.headers


# -- JSON depth ------------------------------------------------------------------------------


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_json_depth_boundary() -> None:
    ok = orjson.loads(nested(128))
    check_json_depth(nested(128).encode(), ok, 128)
    deep = nested(129)
    with pytest.raises(InvalidRequestError, match="nested too deeply"):
        check_json_depth(deep.encode(), orjson.loads(deep), 128)
    # brackets inside strings are not nesting
    text = json.dumps({"a": nested(500)}).encode()
    check_json_depth(text, orjson.loads(text), 128)


DEEP = 300  # between the default limit (128) and orjson's decoder limit (1024)


def _deep_bodies(levels: int) -> list[tuple[str, str, dict[str, str]]]:
    """One request per route with ``levels`` of nesting somewhere a client may nest."""
    inner = json.loads(nested(levels))
    turns = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": inner}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
    ]
    tool_use = {"model": MODEL, "max_tokens": 5, "messages": turns}
    metadata = {**messages_body(), "metadata": {"x": inner}}
    # OpenAI tool-call arguments are JSON inside a string: deep only once decoded.
    call = {"name": "f", "arguments": json.dumps({"a": inner})}
    openai_args = {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": call}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
    }
    schema = {"type": "object", "x": inner}
    openai_tools = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
    }
    cached = {**OLD_STYLE, "x-scalegate-cache": "exact"}
    return [
        ("/v1/messages", json.dumps(tool_use), dict(OLD_STYLE)),
        ("/v1/messages", json.dumps(metadata), cached),
        ("/v1/messages/count_tokens", json.dumps(tool_use), dict(OLD_STYLE)),
        ("/v1/chat/completions", json.dumps(openai_args), OPENAI),
        ("/v1/chat/completions", json.dumps(openai_tools), OPENAI),
        ("/v1/jobs", json.dumps({"request": tool_use}), dict(OLD_STYLE)),
        (
            "/v1/messages/batches",
            json.dumps({"requests": [{"custom_id": "a", "params": tool_use}]}),
            dict(OLD_STYLE),
        ),
    ]


@pytest.fixture
def gw(
    start_gateway: Callable[[Settings], ServerThread], module_sim: SimulatorThread
) -> ServerThread:
    keys = [{"secret": KEY_A, "limits": LIMITS}]
    return start_gateway(gateway_settings(module_sim.url, keys, admin_token="admin-secret-token"))


def test_deep_json_is_a_400_everywhere_and_costs_no_quota(
    gw: ServerThread, module_sim: SimulatorThread
) -> None:
    """Deeper than 255 levels used to be a 500 (orjson re-encoding) on every route but the
    plain forward, and a burst of upstream attempts on the plain forward."""
    before = sim_stats(module_sim.url)["totals"]["requests"]
    for path, body, headers in _deep_bodies(DEEP):
        resp = request(gw.url, "POST", path, body, headers)
        assert resp.status == 400, (path, resp.status, resp.body[:200])
        if path.startswith("/v1/chat/"):
            assert "nested too deeply" in openai_error(resp.headers, resp.body)["error"]["message"]
        else:
            assert (
                "nested too deeply"
                in envelope(resp, 400, "invalid_request_error")["error"]["message"]
            )
    assert sim_stats(module_sim.url)["totals"]["requests"] == before


def test_deep_json_on_the_admin_api_is_a_400(gw: ServerThread) -> None:
    """The admin routes parse bodies too: the stdlib parser (key add) recursed into a
    RecursionError, cache warming re-encoded past orjson's limit; both were 500s."""
    admin = {"authorization": "Bearer admin-secret-token"}
    warm = {"requests": [{**messages_body(), "metadata": {"x": json.loads(nested(DEEP))}}]}
    for path, body in (
        ("/admin/keys", nested(5000)),
        ("/admin/cache/warm", json.dumps(warm)),
        ("/admin/cache/invalidate", json.dumps({"namespace": json.loads(nested(DEEP))})),
    ):
        envelope(request(gw.url, "POST", path, body, admin), 400, "invalid_request_error")


def test_moderately_nested_json_is_served(gw: ServerThread) -> None:
    for path, body, headers in _deep_bodies(40):
        resp = request(gw.url, "POST", path, body, headers)
        assert resp.status in (200, 202), (path, resp.status, resp.body[:300])


# -- upstream response size ------------------------------------------------------------------

SMALL_LIMIT = 64 * 1024


class OversizedUpstream:
    """An upstream whose every answer is ``size`` bytes: declared, chunked or gzip-packed.

    Records each request it receives (method, path, whether the key came along)."""

    def __init__(self, mode: str, size: int) -> None:
        self.mode = mode
        self.size = size
        self.calls: list[tuple[str, str]] = []

    def body(self) -> bytes:
        text = "x" * self.size
        return orjson.dumps(
            {
                "id": "msg_big",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.calls.append((scope["method"], scope["path"]))
        body = self.body()
        headers = [(b"content-type", b"application/json"), (b"request-id", b"req_up")]
        if self.mode == "gzip":
            body = gzip.compress(body)
            headers.append((b"content-encoding", b"gzip"))
        if self.mode in ("declared", "gzip"):
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i in range(0, len(body), 16_384):
            await send(
                {"type": "http.response.body", "body": body[i : i + 16_384], "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(
    "mode",
    [
        "declared",
        "chunked",
        "gzip",
    ],
)
def test_an_oversized_upstream_answer_is_refused(
    start_gateway: Callable[[Settings], ServerThread], mode: str
) -> None:
    upstream = OversizedUpstream(mode, 4 * SMALL_LIMIT)
    with ServerThread(upstream) as up:
        gw = start_gateway(
            gateway_settings(
                up.url,
                [{"secret": KEY_A, "limits": LIMITS}],
                upstream__max_response_bytes=SMALL_LIMIT,
                retry={"max_attempts": 2, "base_seconds": 0.01, "cap_seconds": 0.05},
            )
        )
        resp = request(gw.url, "POST", "/v1/messages", messages_body(), OLD_STYLE)
    assert resp.status >= 500, (resp.status, len(resp.body))
    assert len(resp.body) < SMALL_LIMIT
    doc = orjson.loads(resp.body)
    assert doc["type"] == "error"
    assert doc["error"]["type"] in ("api_error", "overloaded_error")
    assert len(upstream.calls) == 2  # a failed attempt, retried within retry.max_attempts


def test_an_answer_under_the_upstream_limit_passes(
    start_gateway: Callable[[Settings], ServerThread],
) -> None:
    upstream = OversizedUpstream("chunked", SMALL_LIMIT // 2)
    with ServerThread(upstream) as up:
        gw = start_gateway(
            gateway_settings(
                up.url,
                [{"secret": KEY_A, "limits": LIMITS}],
                upstream__max_response_bytes=SMALL_LIMIT,
            )
        )
        resp = request(gw.url, "POST", "/v1/messages", messages_body(), OLD_STYLE)
    assert resp.status == 200
    assert len(resp.json()["content"][0]["text"]) == SMALL_LIMIT // 2


# -- CORS and cross-origin requests ----------------------------------------------------------


def _no_cors(resp: RawResponse) -> None:
    assert not [h for h in resp.headers if h.startswith("access-control-")], resp.headers


def test_cors_is_off(gw: ServerThread) -> None:
    responses = [
        request(gw.url, "POST", "/v1/messages", messages_body(), OLD_STYLE),
        request(gw.url, "POST", "/v1/messages", {"model": MODEL}, OLD_STYLE),
        request(gw.url, "GET", "/v1/models", headers=dict(OLD_STYLE)),
        request(gw.url, "GET", "/api/monitoring/health"),
        request(gw.url, "GET", "/metrics"),
        request(gw.url, "GET", "/nowhere"),
    ]
    for resp in responses:
        _no_cors(resp)
    for path in ("/v1/messages", "/v1/chat/completions", "/v1/jobs", "/admin/keys"):
        preflight = request(
            gw.url,
            "OPTIONS",
            path,
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,x-api-key,anthropic-version",
            },
        )
        assert preflight.status == 403, (path, preflight.status)
        _no_cors(preflight)


def test_cross_origin_writes_are_refused_before_any_work(
    gw: ServerThread, module_sim: SimulatorThread
) -> None:
    """A page on another origin can POST text/plain without a preflight; on an open gateway
    that spent quota through the routes that need no special header."""
    before = sim_stats(module_sim.url)["totals"]["requests"]
    simple = {"content-type": "text/plain", "origin": "https://evil.example"}
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    resp = request(gw.url, "POST", "/v1/chat/completions", chat, simple)
    assert resp.status == 403
    assert "cross-origin" in openai_error(resp.headers, resp.body)["error"]["message"]
    job = {"request": messages_body()}
    resp = request(gw.url, "POST", "/v1/jobs", job, simple)
    envelope(resp, 403, "permission_error")
    for origin in ("null", "http://127.0.0.1:1", f"http://127.0.0.1:{gw.port}.evil.example"):
        resp = request(
            gw.url, "POST", "/v1/messages", messages_body(), {**OLD_STYLE, "origin": origin}
        )
        envelope(resp, 403, "permission_error")
    assert sim_stats(module_sim.url)["totals"]["requests"] == before
    assert request(gw.url, "GET", "/v1/jobs/nothing", headers=dict(OLD_STYLE)).status == 404


def test_same_origin_and_origin_less_requests_pass(
    start_gateway: Callable[[Settings], ServerThread], module_sim: SimulatorThread
) -> None:
    gw = start_gateway(
        gateway_settings(
            module_sim.url,
            [{"secret": KEY_A, "limits": LIMITS}],
            server={"public_url": "https://gateway.example"},
        )
    )
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    for headers in (
        {},
        {"origin": f"http://127.0.0.1:{gw.port}"},
        {"origin": "https://gateway.example"},
        {"origin": "https://proxy.example", "x-forwarded-host": "proxy.example"},
    ):
        resp = request(gw.url, "POST", "/v1/chat/completions", chat, {**OPENAI, **headers})
        assert resp.status == 200, (headers, resp.body[:200])
        _no_cors(resp)


# -- admin token -----------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/admin/keys"),
    ("GET", "/admin/tenants"),
    ("GET", "/admin/jobs?state=dead"),
    ("GET", "/admin/jobs/stats"),
    ("GET", "/admin/cache/stats"),
    ("POST", "/admin/keys/key-00000000/disable"),
    ("POST", "/admin/cache/invalidate"),
    ("GET", "/api/monitoring/dashboard"),
]


def test_admin_api_is_closed_without_a_configured_token(
    start_gateway: Callable[[Settings], ServerThread], module_sim: SimulatorThread
) -> None:
    gw = start_gateway(gateway_settings(module_sim.url, [{"secret": KEY_A, "limits": LIMITS}]))
    for method, path in ADMIN_ROUTES:
        for auth in ({}, {"authorization": "Bearer anything"}, {"cookie": "scalegate_session=x"}):
            envelope(request(gw.url, method, path, b"{}", auth), 403, "permission_error")


def test_admin_token_is_checked_in_constant_time(
    gw: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer admin-secret-tokem"},  # same length, last byte differs
        {"authorization": "Bearer admin-secret-token-and-more"},
        {"authorization": "Basic admin-secret-token"},
        {"cookie": "scalegate_session=admin-secret-token"},  # the token is no session id
    ]
    for method, path in ADMIN_ROUTES:
        for auth in wrong:
            envelope(request(gw.url, method, path, b"{}", auth), 401, "authentication_error")
        right = request(gw.url, method, path, b"{}", {"authorization": "Bearer admin-secret-token"})
        assert right.status not in (401, 403), (path, right.status)
    assert (b"admin-secret-tokem", b"admin-secret-token") in compared
    assert all(b == b"admin-secret-token" for _, b in compared)


# -- model ids are not paths -----------------------------------------------------------------


class Recorder:
    """An upstream that answers every request with an empty models list and records it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        self.paths.append(scope["path"] + ("?" + query if query else ""))
        body = b'{"data": [], "has_more": false, "first_id": null, "last_id": null}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def recorded(
    start_gateway: Callable[[Settings], ServerThread],
) -> Iterator[tuple[ServerThread, Recorder]]:
    recorder = Recorder()
    with ServerThread(recorder) as up:
        keys = [{"secret": KEY_A, "limits": LIMITS}]
        yield start_gateway(gateway_settings(up.url, keys)), recorder


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/../messages",
        "/v1/models/..%2f..%2fv1%2ffiles",
        "/v1/models/%2e%2e/%2e%2e/v1/files",
        "/v1/models/x%3Fa=b",
        "/v1/models/x%23y",
        "/v1/models/a/b",
    ],
)
def test_a_model_id_cannot_reach_other_upstream_paths(
    recorded: tuple[ServerThread, Recorder], path: str
) -> None:
    """The raw path used to go upstream with a pool key: ``..`` reached any GET endpoint
    of the provider (its files, its batches)."""
    gw, upstream = recorded
    envelope(request(gw.url, "GET", path, headers=dict(OLD_STYLE)), 404, "not_found_error")
    assert upstream.paths == []


def test_models_go_upstream_as_checked_parts(recorded: tuple[ServerThread, Recorder]) -> None:
    gw, upstream = recorded
    for path in (
        f"/v1/models/{MODEL}",
        "/v1/models?limit=2&after_id=a%26b&evil=1%2F..",
        "/v1/models",
    ):
        assert request(gw.url, "GET", path, headers=dict(OLD_STYLE)).status == 200
    assert upstream.paths == [
        f"/v1/models/{MODEL}",
        "/v1/models?limit=2&after_id=a%26b",
        "/v1/models",
    ]


# -- an internal fault is a 500, not a 400, and tells the client nothing -----------------------

SECRET_DETAIL = "internal-detail-7f3a9"


def _boom(*_: Any, **__: Any) -> Any:
    raise RuntimeError(f"{SECRET_DETAIL}: a bug")


def _no_internals(resp: RawResponse) -> None:
    text = resp.body.decode("utf-8", "replace") + repr(resp.headers)
    for leak in (SECRET_DETAIL, "Traceback", "RuntimeError", 'File "', ".py"):
        assert leak not in text, (leak, text)


def test_an_internal_fault_is_a_500_without_details(
    gw: ServerThread, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    # The same gateway refuses bad input with a 400: a catch-all to 400 (or to 500) fails.
    envelope(
        request(gw.url, "POST", "/v1/messages", {"model": MODEL}, OLD_STYLE),
        400,
        "invalid_request_error",
    )

    gateway = gw.server.config.app.state.gateway  # type: ignore[attr-defined]  # Starlette's app.state is untyped
    for name in ("create", "count_tokens"):
        monkeypatch.setattr(gateway.pipeline.attempts, name, _boom)
    monkeypatch.setattr(gateway.jobs, "submit", _boom)

    calls = [
        ("/v1/messages", messages_body(), dict(OLD_STYLE)),
        (
            "/v1/messages/count_tokens",
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
            dict(OLD_STYLE),
        ),
        ("/v1/jobs", {"request": messages_body()}, dict(OLD_STYLE)),
    ]
    for path, body, headers in calls:
        resp = request(gw.url, "POST", path, body, headers)
        envelope(resp, 500, "api_error")  # with its request id, in the body and a header
        _no_internals(resp)
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    resp = request(gw.url, "POST", "/v1/chat/completions", chat, OPENAI)
    assert resp.status == 500
    assert openai_error(resp.headers, resp.body)["error"]["type"] == "server_error"
    _no_internals(resp)

    # Operators do get the traceback, once per failed request.
    tracebacks = [r for r in caplog.records if r.exc_info and SECRET_DETAIL in str(r.exc_info[1])]
    assert len(tracebacks) >= 4, [r.getMessage() for r in caplog.records]
    assert "Traceback (most recent call last)" in caplog.text
    assert f"RuntimeError: {SECRET_DETAIL}: a bug" in caplog.text

    monkeypatch.undo()
    assert request(gw.url, "POST", "/v1/messages", messages_body(), OLD_STYLE).status == 200
