"""A request the provider would accept is never refused for its shape, and arrives untouched.

The gateway runs in front of a real simulator that records what reaches it
(``record_requests``), so each test compares the bytes the client sent with the bytes the
provider received: unknown fields, ``system`` messages inside ``messages``, unknown block
types, ``anthropic-beta`` headers, ``?beta=true``. Shapes only the provider can judge (a
number as content, a block without a type) reach it too, and its own 400 comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import orjson
import pytest

from scalegate.config import Settings
from scalegate.simulator import SimulatorConfig, SimulatorThread
from scalegate.simulator.recorder import RecordedRequest
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import OLD_STYLE, request
from tests.servers import ServerThread

LIMITS: dict[str, int | None] = {"rpm": 10_000, "itpm": 10_000_000, "otpm": 10_000_000}
BETAS = "context-management-2025-06-27,interleaved-thinking-2025-05-14,future-beta-2027-01-01"

# What Claude Code sends, in miniature, with the oddities kept: key order, spacing, a system
# message inside ``messages``, block types the gateway has never heard of, fields from the
# future. Bytes, not a dict: re-encoding would hide a gateway that re-encodes.
MODERN_BODY = (
    b'{"model":"claude-sonnet-4-6","max_tokens":32000,  "stream":false,\n'
    b' "system":[{"type":"text","text":"You are a coding agent.",'
    b'"cache_control":{"type":"ephemeral"}}],\n'
    b' "messages":[{"role":"user","content":[{"type":"text","text":"fix the bug"}]},'
    b'{"role":"system","content":[{"type":"text","text":"The user prefers tabs."}]},'
    b'{"role":"user","content":[{"type":"hologram_2027","payload":{"x":1}},'
    b'{"type":"text","text":"go","cache_control":{"type":"ephemeral"}}]}],\n'
    b' "thinking":{"type":"adaptive"},"output_config":{"effort":"high"},'
    b'"context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},'
    b'"metadata":{"user_id":"u-1"},"some_future_field":{"nested":[1,2.50,"\\u00e9"]}}'
)


@pytest.fixture
def via(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
) -> tuple[SimulatorThread, ServerThread]:
    """A recording simulator and a gateway in front of it with one key."""
    sim = start_sim(sim_config({KEY_A: LIMITS}, record_requests=50))
    gateway = start_gateway(gateway_settings(sim.url, [{"secret": KEY_A, "limits": LIMITS}]))
    return sim, gateway


def arrived(sim: SimulatorThread) -> RecordedRequest:
    recorded = [r for r in sim.simulator.recorded if r.path.startswith("/v1/messages")]
    assert recorded, "nothing reached the simulator"
    return recorded[-1]


def post(gateway: ServerThread, body: bytes, path: str = "/v1/messages", **headers: str) -> Any:
    return request(gateway.url, "POST", path, body, {**OLD_STYLE, **headers})


def test_modern_request_arrives_byte_for_byte(via: tuple[SimulatorThread, ServerThread]) -> None:
    sim, gateway = via
    resp = post(gateway, MODERN_BODY, **{"anthropic-beta": BETAS, "x-client-thing": "kept"})
    assert resp.status == 200, resp.body
    got = arrived(sim)
    assert got.body == MODERN_BODY
    assert got.headers["anthropic-beta"] == BETAS
    assert got.headers["x-client-thing"] == "kept"
    assert got.headers["anthropic-version"] == "2023-06-01"
    assert got.headers["x-api-key"] == KEY_A  # the only thing the gateway replaces
    assert resp.json()["content"][0]["type"] == "thinking"  # the simulator understood it


def test_streamed_request_arrives_byte_for_byte(via: tuple[SimulatorThread, ServerThread]) -> None:
    sim, gateway = via
    body = MODERN_BODY.replace(b'"stream":false', b'"stream":true')
    resp = post(gateway, body, **{"anthropic-beta": BETAS})
    assert resp.status == 200, resp.body
    assert b"event: message_stop" in resp.body
    assert b"thinking_delta" in resp.body
    assert arrived(sim).body == body


def test_beta_query_string_is_forwarded(via: tuple[SimulatorThread, ServerThread]) -> None:
    sim, gateway = via
    resp = post(gateway, MODERN_BODY, path="/v1/messages?beta=true")
    assert resp.status == 200, resp.body
    got = arrived(sim)
    assert got.body == MODERN_BODY
    assert got.query_string == "beta=true"


def test_sdk_beta_client_through_the_gateway(
    via: tuple[SimulatorThread, ServerThread], make_client: Callable[..., anthropic.Anthropic]
) -> None:
    sim, gateway = via
    client = make_client(gateway.url)
    message = client.beta.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        betas=["future-beta-2027-01-01"],
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "system", "content": "Answer briefly."},
        ],
        extra_body={"brand_new_option": {"on": True}},
    )
    assert message.content[0].type == "text"
    got = arrived(sim)
    assert got.headers["anthropic-beta"] == "future-beta-2027-01-01"
    sent = orjson.loads(got.body)
    assert sent["brand_new_option"] == {"on": True}
    assert sent["messages"][1]["role"] == "system"


PROVIDER_JUDGES: list[tuple[str, bytes, str]] = [
    ("content a number", b'"messages":[{"role":"user","content":5}]', "messages.0.content"),
    ("block without type", b'"messages":[{"role":"user","content":[{"text":"x"}]}]', "type"),
    ("unknown role", b'"messages":[{"role":"robot","content":"x"}]', "messages.0.role"),
    ("tools not a list", b'"messages":[{"role":"user","content":"x"}],"tools":{"a":1}', "tools"),
    (
        "temperature as text",
        b'"messages":[{"role":"user","content":"x"}],"temperature":"hot"',
        "temperature",
    ),
]


@pytest.mark.parametrize(
    ("fragment", "needle"), [c[1:] for c in PROVIDER_JUDGES], ids=[c[0] for c in PROVIDER_JUDGES]
)
def test_shapes_the_gateway_does_not_act_on_reach_the_provider(
    via: tuple[SimulatorThread, ServerThread], fragment: bytes, needle: str
) -> None:
    """The gateway does not guess the provider's rules: the provider's own 400 comes back."""
    sim, gateway = via
    body = b'{"model":"claude-sonnet-4-6","max_tokens":5,' + fragment + b"}"
    resp = post(gateway, body)
    assert resp.status == 400, resp.body
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert needle in error["message"]
    assert arrived(sim).body == body  # it was the provider that refused


def test_sampling_params_pass_under_versions_not_known_to_reject_them(
    via: tuple[SimulatorThread, ServerThread],
) -> None:
    """Only 2026-10-21 is documented to reject ``temperature``; other versions are forwarded."""
    sim, gateway = via
    body = b'{"model":"claude-sonnet-4-6","max_tokens":5,"temperature":0.5,"top_k":3,' + (
        b'"messages":[{"role":"user","content":"x"}]}'
    )
    assert post(gateway, body).status == 200
    assert arrived(sim).body == body
    refused = post(gateway, body, **{"anthropic-version": "2026-10-21"})
    assert refused.status == 400
    assert "temperature" in refused.json()["error"]["message"]
    assert len([r for r in sim.simulator.recorded if r.path == "/v1/messages"]) == 1
