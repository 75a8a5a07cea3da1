"""Requests a browser sends from another web origin are refused: CORS is off.

CORS being off stops a page on another origin from *reading* the gateway's answers, not from
*sending* requests: a "simple" cross-site ``POST`` (``Content-Type: text/plain``, no custom
header) needs no preflight. On an open gateway (no tenants) that was enough for any web page
a user on the network visited to spend the upstream keys' quota through
``/v1/chat/completions`` or ``/v1/jobs``, which need no special header (measured: 200 and
202). Browsers put an ``Origin`` header on every cross-origin request but a plain ``GET``;
SDKs, curl and servers send none. So a request whose ``Origin`` is not the gateway's own
(the ``Host`` it was sent to, an ``X-Forwarded-Host`` set by a proxy, or
``server.public_url``) gets a 403 before any route runs. Same-origin requests (the
dashboard's) and requests without ``Origin`` are untouched; preflights (``OPTIONS`` with an
``Origin``) are refused the same way, so no cross-origin call is ever allowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from scalegate.asgi import new_request_id, render_for_path, send_body
from scalegate.errors import PermissionError_


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


class CrossOriginGuard:
    """ASGI middleware: 403 for requests from another browser origin."""

    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.own = _netloc(public_url) if public_url else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = hosts = None
            for name, value in scope["headers"]:
                if name == b"origin":
                    origin = value
                elif name in (b"host", b"x-forwarded-host"):
                    hosts = value if hosts is None else hosts + b"," + value
            if origin is not None and not self._same_origin(origin, hosts):
                await self._refuse(scope, send)
                return
        await self.app(scope, receive, send)

    def _same_origin(self, origin: bytes, hosts: bytes | None) -> bool:
        given = _netloc(origin.decode("latin-1"))
        if not given:
            return False  # "null" (sandboxed frames, file:// pages) or garbage
        if given == self.own:
            return True
        names = (hosts or b"").decode("latin-1").lower().split(",")
        return any(given == name.strip() for name in names)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        error = PermissionError_(
            "cross-origin requests are refused: CORS is off, this gateway does not serve "
            "pages on other origins"
        )
        request_id = new_request_id()
        status, body, headers = render_for_path(scope["path"], error, request_id)
        extra = [("x-scalegate-request-id", request_id), ("vary", "origin")]
        await send_body(send, status, body, [*headers.items(), *extra])
