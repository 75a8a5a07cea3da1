"""Property-based fuzzing of the public endpoints over a real socket (hypothesis).

One real ``scalegate serve`` process in front of the simulator takes hand-made HTTP/1.1
requests built from raw bytes: odd and duplicated headers, wrong content types, truncated
and deep JSON, invalid UTF-8, huge numbers, weird methods and paths, chunked framing. For
every input: an answer arrives, it is never a 5xx, every error is in the envelope of the
route's protocol (OpenAI's under ``/v1/chat/``, the provider's elsewhere), and afterwards the
process is alive and serves a normal request. Deterministic (``derandomize``) and bounded
(``max_examples``): the whole file runs in well under a minute.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalegate.errors import ERROR_TYPES
from scalegate.simulator import SimulatorThread
from tests.conftest import KEY_A, MODEL, sim_config
from tests.helpers import OLD_STYLE, messages_body, request
from tests.processes import GatewayProcess

LIMITS = {"rpm": 1_000_000, "itpm": 1_000_000_000, "otpm": 1_000_000_000}
FUZZ = settings(
    max_examples=1000,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ANTHROPIC_TYPES = set(ERROR_TYPES.values()) | {"timeout_error"}
NOT_HTTP = "the request is not valid HTTP/1.1"


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayProcess]:
    sim = SimulatorThread(sim_config({KEY_A: LIMITS}))
    sim.start()
    config = {
        "upstream": {"base_url": sim.url},
        "keys": [{"secret": KEY_A, "limits": LIMITS}],
        "server": {"body_timeout_seconds": 3, "header_timeout_seconds": 3},
    }
    gw = GatewayProcess(config).start()
    yield gw
    gw.close()
    sim.stop()


# -- talking raw HTTP ------------------------------------------------------------------------


def exchange(port: int, raw: bytes, timeout: float = 20) -> bytes:
    """Send ``raw`` on a fresh connection; everything the server sent until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # An early answer (and close) may cut the sending short: read the answer then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2 :]
    return out


def parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no complete response: {data[:300]!r}"
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), lines[0]
    status = int(lines[0][9:12])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    elif "content-length" in headers:
        # The first answer only: a request the parser refused behind it gets its own after
        # it on the same connection (``server.GuardedProtocol``).
        body = body[: int(headers["content-length"])]
    return status, headers, body


ANTHROPIC_PATHS = (
    "/v1/messages",
    "/v1/models",
    "/v1/complete",
    "/v1/files",
    "/v1/skills",
    "/v1/jobs",
)


def openai_path(path: str, versioned: bool) -> bool:
    """Where errors come in OpenAI's envelope: its surfaces, and other ``/v1/`` paths that
    are not Anthropic's when the client sent no ``anthropic-version``."""
    if path.startswith(("/v1/chat/", "/v1/responses")):
        return True
    return path.startswith("/v1/") and not path.startswith(ANTHROPIC_PATHS) and not versioned


def check_answer(path: str, method: str, data: bytes, raw: bytes = b"") -> int:
    """The invariants every answer keeps (``raw``: the request sent); returns the status."""
    headers_sent = b"\nanthropic-version:" in raw.lower()
    status, headers, body = parse(data)
    assert status < 500, (status, body[:500])
    if status < 400 or method == "HEAD":
        return status
    assert headers.get("content-type", "").startswith("application/json"), (headers, body[:300])
    doc = orjson.loads(body)
    if "type" in doc:  # the provider's envelope
        # OpenAI's route answers in OpenAI's envelope, unless the request was not even HTTP
        # (then it was never routed).
        message = doc["error"]["message"]
        assert not openai_path(path, headers_sent) or message == NOT_HTTP, doc
        assert doc["type"] == "error", doc
        assert doc["error"]["type"] in ANTHROPIC_TYPES, doc
        assert isinstance(message, str), doc
        assert doc["request_id"] == headers["request-id"], (doc, headers)
    else:
        assert openai_path(path, headers_sent), doc
        assert set(doc) == {"error"}, doc
        assert isinstance(doc["error"]["message"], str), doc
        assert isinstance(doc["error"]["type"], str), doc
        assert headers["x-request-id"].startswith("req"), headers
    for leak in ("Traceback", 'File "', "Exception"):
        assert leak not in body.decode("utf-8", "replace"), body[:500]
    return status


def still_serving(gw: GatewayProcess) -> None:
    assert gw.proc is not None
    assert gw.proc.poll() is None, gw.log()[-3000:]
    resp = request(gw.url, "POST", "/v1/messages", messages_body("[sim:tokens=2] ok"), OLD_STYLE)
    assert resp.status == 200, resp.body
    assert "Traceback" not in gw.log(), gw.log()[-5000:]


# -- what is sent ----------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/jobs"),
    ("POST", "/v1/messages/batches"),
    ("GET", "/v1/models"),
]

text = st.text(max_size=40)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def plausible_body(draw: st.DrawFn, path: str) -> Any:
    """A request that is right, or nearly right, for ``path``."""
    message = draw(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant", "system", 5]), "content": json_value}
        )
    )
    messages = draw(
        st.one_of(
            st.just([{"role": "user", "content": "hi"}]),
            st.lists(st.just(message), max_size=3),
            json_value,
        )
    )
    body: dict[str, Any] = {
        "model": draw(st.one_of(st.just(MODEL), json_value)),
        "messages": messages,
    }
    if path != "/v1/chat/completions":
        body["max_tokens"] = draw(
            st.one_of(st.integers(min_value=-5, max_value=2_000_000_000), json_value)
        )
    extra = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "stream",
                    "temperature",
                    "tools",
                    "system",
                    "metadata",
                    "stop",
                    "n",
                    "tool_choice",
                    "stop_sequences",
                    "response_format",
                ]
            ),
            json_value,
            max_size=3,
        )
    )
    body.update(extra)
    if path == "/v1/jobs":
        return {"request": body, "priority": draw(st.one_of(st.none(), text))}
    if path == "/v1/messages/batches":
        return {"requests": [{"custom_id": draw(st.text(max_size=70)), "params": body}]}
    return body


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def body_bytes(draw: st.DrawFn, path: str) -> bytes:
    kind = draw(
        st.sampled_from(
            ["plausible", "truncated", "json", "deep", "numbers", "bad utf-8", "binary", "empty"]
        )
    )
    if kind == "plausible":
        return encode(draw(plausible_body(path)))
    if kind == "truncated":
        whole = encode(draw(plausible_body(path)))
        return whole[: draw(st.integers(min_value=0, max_value=max(0, len(whole) - 1)))]
    if kind == "json":
        return encode(draw(json_value))
    if kind == "deep":
        levels = draw(st.sampled_from([100, 129, 256, 300, 1024, 1025, 10_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"a":', "}]")]))
        inner = opener * levels + "1" + closer * levels
        if draw(st.booleans()):
            inner = f'{{"model": "{MODEL}", "max_tokens": 5, "messages": {inner}}}'
        return inner.encode()
    if kind == "numbers":
        number = draw(
            st.sampled_from(
                [
                    "1e999999",
                    "-1e400",
                    "9" * 5000,
                    "-" + "9" * 400,
                    "NaN",
                    "Infinity",
                    "0x10",
                    "1_000",
                ]
            )
        )
        hi = '[{"role": "user", "content": "hi"}]'
        return f'{{"model": "{MODEL}", "max_tokens": {number}, "messages": {hi}}}'.encode()
    if kind == "bad utf-8":
        whole = encode(draw(plausible_body(path)))
        at = draw(st.integers(min_value=0, max_value=len(whole)))
        return (
            whole[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
            + whole[at:]
        )
    if kind == "binary":
        return draw(st.binary(max_size=300))
    return b""


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each ``weight`` times as likely."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


KNOWN_HEADER = st.sampled_from(
    [
        "anthropic-version",
        "x-api-key",
        "authorization",
        "content-type",
        "content-length",
        "transfer-encoding",
        "x-scalegate-priority",
        "x-scalegate-deadline-ms",
        "x-scalegate-cache",
        "x-scalegate-cache-namespace",
        "anthropic-beta",
        "idempotency-key",
        "origin",
        "expect",
        "upgrade",
        "host",
        "traceparent",
    ]
)
TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz-_.!#$%&'*+^`|~0123456789"
HEADER_NAME = weighted(
    (4, KNOWN_HEADER),
    (2, st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=20)),
    (1, st.binary(min_size=1, max_size=10).map(lambda b: b.decode("latin-1"))),
)
KNOWN_VALUE = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=utf-16",
        "chunked",
        "100-continue",
        "websocket",
        "2023-06-01",
        "2026-10-21",
        "critical",
        "-1",
        "99999999999999999999",
        "exact",
        "semantic",
        "",
    ]
)
HEADER_VALUE = weighted(
    (4, KNOWN_VALUE),
    (2, st.text(max_size=30).map(lambda t: t.encode("utf-8").decode("latin-1"))),
    (1, st.binary(max_size=30).map(lambda b: b.decode("latin-1"))),
)


@st.composite
def raw_request(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(method, path, the bytes of one HTTP/1.1 request)."""
    method, path = draw(st.sampled_from(ENDPOINTS))
    method = draw(
        st.one_of(
            st.just(method),
            st.sampled_from(
                ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "TRACE"]
            ),
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8),
        )
    )
    target = path + draw(
        st.one_of(
            st.just(""),
            st.sampled_from(
                [
                    "/",
                    "/x",
                    "?a=b",
                    "?limit=-1",
                    "%00",
                    "/..",
                    "/../admin/keys",
                    "//",
                    "/%2e%2e",
                    "?%ff",
                ]
            ),
            st.text(alphabet="abc/%?#.=&~é", max_size=12).map(
                lambda t: t.encode("utf-8").decode("latin-1")
            ),
        )
    )
    body = draw(body_bytes(path))
    headers: list[tuple[str, str]] = [("host", "127.0.0.1")]
    if draw(st.booleans()):
        headers.append(
            ("anthropic-version", draw(st.sampled_from(["2023-06-01", "2026-10-21", "x"])))
        )
    if draw(st.booleans()):
        headers.append(("x-api-key", "client-key"))
    headers.append(("content-type", draw(HEADER_VALUE)))
    headers.extend(draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=4)))
    if draw(st.booleans()):  # a duplicate of one of them
        headers.append(draw(st.sampled_from(headers)))
    framing = draw(st.sampled_from(["length", "length", "chunked", "none"]))
    head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers)
    head += b"connection: close\r\n"
    if framing == "length":
        return method, target, head + b"content-length: %d\r\n\r\n" % len(body) + body
    if framing == "chunked":
        cut = draw(st.integers(min_value=0, max_value=len(body)))
        chunks = [c for c in (body[:cut], body[cut:]) if c]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        return method, target, head + b"transfer-encoding: chunked\r\n\r\n" + framed
    return method, target, head + b"\r\n"


# -- the properties --------------------------------------------------------------------------


@FUZZ
@given(case=raw_request())
def test_raw_requests_never_get_a_5xx_and_errors_use_the_envelope(
    gateway: GatewayProcess, case: tuple[str, str, bytes]
) -> None:
    method, target, raw = case
    data = exchange(gateway.port, raw)
    check_answer(target, method, data, raw)


@FUZZ
@given(
    endpoint=st.sampled_from([e for e in ENDPOINTS if e[0] == "POST"]),
    body=st.data(),
)
def test_bodies_on_each_endpoint(
    gateway: GatewayProcess, endpoint: tuple[str, str], body: st.DataObject
) -> None:
    """Correct framing and headers, so that every body reaches the route's own parsing."""
    method, path = endpoint
    payload = body.draw(body_bytes(path))
    headers = {**OLD_STYLE, "connection": "close"}
    if path.startswith("/v1/chat/"):
        headers = {"authorization": "Bearer client-key", "content-type": "application/json"}
    head = f"{method} {path} HTTP/1.1\r\nhost: t\r\n".encode()
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    raw = head + b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(payload) + payload
    status = check_answer(path, method, exchange(gateway.port, raw), raw)
    assert status != 408


def test_the_gateway_survived_the_fuzzing(gateway: GatewayProcess) -> None:
    # Runs after the properties above (file order): the process never died.
    for raw in (
        b"[" * 10_000 + b"]" * 10_000,
        b'{"model": "m", "max_tokens": 1e999999, "messages": []}',
        b'{"model": "\xff\xfe"}',
    ):
        data = exchange(
            gateway.port,
            b"POST /v1/messages HTTP/1.1\r\nhost: t\r\nanthropic-version: 2023-06-01\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n" % len(raw) + raw,
        )
        assert check_answer("/v1/messages", "POST", data) == 400
    still_serving(gateway)
