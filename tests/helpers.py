"""Raw HTTP for tests: the simulator's control API and hand-made gateway requests."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> RawResponse:
    """One HTTP/1.1 request over a fresh connection, bytes exactly as given."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def sim_stats(sim_url: str) -> dict[str, Any]:
    resp = request(sim_url, "GET", "/_sim/stats")
    assert resp.status == 200, resp.body
    data: dict[str, Any] = resp.json()
    return data


def sim_post(sim_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    resp = request(sim_url, "POST", path, body or {}, {"content-type": "application/json"})
    assert resp.status == 200, resp.body
    return resp.json()


def sim_put_config(sim_url: str, update: dict[str, Any]) -> Any:
    resp = request(sim_url, "PUT", "/_sim/config", update, {"content-type": "application/json"})
    assert resp.status == 200, resp.body
    return resp.json()


def messages_body(text: str = "Hello", max_tokens: int = 32, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


OLD_STYLE = {
    "x-api-key": "client-key",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}
