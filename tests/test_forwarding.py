"""Forwarding rules (DESIGN §12), observed by a recording upstream on a real socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scalegate.config import Settings
from tests.conftest import KEY_A, gateway_settings
from tests.helpers import OLD_STYLE, request
from tests.servers import ServerThread

REPLY = {
    "id": "msg_rec",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def messages(self, request: Request) -> Response:
        self.seen.append(({k: v for k, v in request.headers.items()}, await request.body()))
        headers = {
            "request-id": "req_upstream_1",
            "anthropic-ratelimit-requests-remaining": "99",
            "anthropic-organization-id": "org-secret-ish",
            "x-upstream-extra": "kept",
        }
        return Response(orjson.dumps(REPLY), 200, headers, media_type="application/json")


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, ServerThread]]:
    rec = Recorder()
    app = Starlette(routes=[Route("/v1/messages", rec.messages, methods=["POST"])])
    with ServerThread(app) as server:
        yield rec, server


@pytest.fixture
def via(
    recorder: tuple[Recorder, ServerThread], start_gateway: Callable[[Settings], ServerThread]
) -> tuple[Recorder, ServerThread]:
    rec, upstream = recorder
    return rec, start_gateway(gateway_settings(upstream.url, [{"secret": KEY_A}]))


BODY = (
    b'{"model":"claude-sonnet-4-6","max_tokens":5,"messages":[{"role":"user","content":"hi"}],'
    b'"some_future_field":{"x":[1,2,3]},  "metadata": {"user_id": "u1"}}'
)


def test_body_and_unknown_headers_pass_through_untouched(
    via: tuple[Recorder, ServerThread],
) -> None:
    rec, gw = via
    headers = {
        **OLD_STYLE,
        "anthropic-beta": "prompt-caching-2024-07-31,output-128k-2025-02-19",
        "x-custom-thing": "value-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "x-scalegate-priority": "high",
        "connection": "keep-alive",
    }
    resp = request(gw.url, "POST", "/v1/messages", BODY, headers)
    assert resp.status == 200
    seen, body = rec.seen[-1]
    assert body == BODY  # the exact bytes, never re-encoded
    assert seen["anthropic-beta"] == headers["anthropic-beta"]
    assert seen["anthropic-version"] == "2023-06-01"
    assert seen["x-custom-thing"] == "value-1"
    assert seen["traceparent"] == headers["traceparent"]
    assert not [k for k in seen if k.startswith("x-scalegate-")]
    # the client's credential is replaced by the pool key, in the client's own style
    assert seen["x-api-key"] == KEY_A
    assert "authorization" not in seen


def test_bearer_clients_get_bearer_upstream(via: tuple[Recorder, ServerThread]) -> None:
    rec, gw = via
    headers = {
        "authorization": "Bearer client-token",
        "anthropic-version": "2026-10-21",
        "content-type": "application/json",
    }
    assert request(gw.url, "POST", "/v1/messages", BODY, headers).status == 200
    seen, _ = rec.seen[-1]
    assert seen["authorization"] == f"Bearer {KEY_A}"
    assert "x-api-key" not in seen
    assert seen["anthropic-version"] == "2026-10-21"


def test_response_headers(via: tuple[Recorder, ServerThread]) -> None:
    _, gw = via
    resp = request(gw.url, "POST", "/v1/messages", BODY, dict(OLD_STYLE))
    assert resp.headers["request-id"] == "req_upstream_1"  # the provider's id is kept
    assert resp.headers["x-upstream-extra"] == "kept"
    assert "anthropic-organization-id" not in resp.headers
    assert not [h for h in resp.headers if h.startswith("anthropic-ratelimit-")]
    assert resp.headers["x-scalegate-key"].startswith("key-")
    assert resp.headers["x-scalegate-request-id"].startswith("req_")
    assert float(resp.headers["x-scalegate-overhead-ms"]) < 1000
    assert resp.json() == REPLY


def test_refuses_to_proxy_to_itself() -> None:
    from scalegate.cli import check_not_self
    from scalegate.errors import ConfigError

    settings = gateway_settings("http://localhost:8080", [{"secret": KEY_A}])
    with pytest.raises(ConfigError, match="itself"):
        check_not_self(settings, "127.0.0.1", 8080)
    check_not_self(settings, "127.0.0.1", 8081)  # another port is fine


def test_serve_exits_2_with_one_line_when_proxying_to_itself(tmp_path: Any) -> None:
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text(
        f"upstream: {{base_url: 'http://127.0.0.1:18555'}}\nkeys: [{{secret: {KEY_A}}}]\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scalegate.cli",
            "serve",
            "--port",
            "18555",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "proxy to itself" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert KEY_A not in proc.stderr
