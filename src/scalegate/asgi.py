"""Small raw-ASGI helpers for the hot routes (no Request/Response objects on the hot path)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import Coroutine, Iterable
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from scalegate.errors import ProviderError, RequestTooLargeError, render_error

JSON = b"application/json"


# Unique without a system call per request: a random per-process prefix and a counter.
_ID_PREFIX = "req_" + secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def header_map(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name (the last of repeated headers wins)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def read_request(request: Request, limit: int) -> bytes:
    """:func:`read_body` for a Starlette route: the one body limit every route enforces."""
    return await read_body(request.receive, limit, request.headers.get("content-length"))


async def read_body(receive: Receive, limit: int, declared: str | None) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes with a 413 (the one body
    limit of every route: hot ASGI routes call it directly, others through
    :func:`read_request`)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLargeError(f"request body is larger than the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestTooLargeError(f"request body is larger than the {limit}-byte limit")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ClientGone(Exception):
    """The client disconnected before the request was read."""


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    headers: Iterable[tuple[str, str]],
    content_type: bytes | None = JSON,
) -> None:
    raw = encode_headers(headers)
    if content_type is not None and not any(k == b"content-type" for k, _ in raw):
        raw.append((b"content-type", content_type))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send, error: ProviderError, request_id: str, extra: Iterable[tuple[str, str]] = ()
) -> None:
    """Render ``error`` in the provider's envelope and send it."""
    status, body, headers = render_error(error, request_id)
    await send_body(send, status, body, [*headers.items(), *extra])


def render_for_path(
    path: str, error: ProviderError, request_id: str
) -> tuple[int, bytes, dict[str, str]]:
    """``error`` in the envelope of the protocol ``path`` speaks: OpenAI's under
    ``/v1/chat/``, the provider's everywhere else (for answers given before any route ran)."""
    if path.startswith("/v1/chat/"):
        from scalegate.openai.errors import render_openai_error

        return render_openai_error(error, request_id)
    return render_error(error, request_id)


async def drain(receive: Receive) -> None:
    """Wait until the client disconnects (after the request body has been read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def while_connected(
    work: Coroutine[Any, Any, None], receive: Receive
) -> BaseException | None:
    """Run ``work`` (sending a response) until it ends or the client disconnects.

    The loser is cancelled (starlette's ``StreamingResponse`` does the same), so a client
    that leaves mid-stream stops the upstream call at once. Returns the exception ``work``
    ended with, if any, for the caller to log.
    """
    pump = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(drain(receive))
    try:
        await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump, watch):
            task.cancel()
        for task in (pump, watch):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if pump.done() and not pump.cancelled():
        return pump.exception()
    return None
