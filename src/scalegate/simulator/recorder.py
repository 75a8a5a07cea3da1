"""Opt-in capture of what arrives at the simulated provider, exactly as it arrived.

A proxy's first duty is to forward what it does not understand untouched, and the only honest
place to check that is the far end: with ``record_requests: N`` in the config the simulator
keeps the last N requests to ``/v1/…`` (method, path, query string, headers, body bytes),
readable in-process as ``Simulator.recorded`` or over HTTP as ``GET /_sim/requests`` (bodies
base64-encoded). Off by default: bodies can be 32 MB, and a load test must not keep them.
"""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from scalegate.simulator.responses import Handler


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query_string": self.query_string,
            "headers": self.headers,
            "body_base64": base64.b64encode(self.body).decode(),
        }


class RequestLog:
    """The last ``size`` recorded requests (nothing is kept when ``size`` is 0)."""

    def __init__(self, size: int) -> None:
        self.entries: deque[RecordedRequest] = deque(maxlen=max(size, 1))
        self.enabled = size > 0

    def clear(self) -> None:
        self.entries.clear()


def _headers(request: web.Request) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def recording_middleware(log: RequestLog) -> Any:
    """An aiohttp middleware that appends each ``/v1/…`` request to ``log`` before handling."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if log.enabled and request.path.startswith("/v1/"):
            try:
                body = await request.read()  # cached: the handler reads the same bytes
            except web.HTTPRequestEntityTooLarge:
                body = b""  # the handler answers the 413
            log.entries.append(
                RecordedRequest(
                    request.method, request.path, request.query_string, _headers(request), body
                )
            )
        return await handler(request)

    return record
