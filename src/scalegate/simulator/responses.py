"""Small HTTP helpers shared by the simulator's routes: ids, JSON and error responses."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from scalegate.errors import ProviderError, RequestTooLargeError, error_body, error_headers

logger = logging.getLogger(__name__)

JSON = "application/json"
#: The provider's request size limit for the Messages API (32 MB).
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def new_id(prefix: str) -> str:
    """A unique provider-style id such as ``req_sim…``, ``msg_sim…`` or ``toolu_sim…``."""
    return f"{prefix}_sim{secrets.token_hex(12)}"


def api_key(request: web.Request) -> str | None:
    """The key from ``x-api-key`` (older clients) or ``Authorization: Bearer`` (SDK 2.x)."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def read_body(request: web.Request) -> bytes:
    """The request body, or the provider's 413 when it exceeds the app's size limit."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise RequestTooLargeError(
            f"Request exceeds the maximum allowed size of {MAX_REQUEST_BYTES} bytes."
        ) from exc


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type=JSON, headers=headers or {}
    )


def error_response(
    error: ProviderError, request_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    """The provider's error envelope for ``error``, with ``request-id`` and ``retry-after``."""
    return web.Response(
        body=error_body(error.status, error.message, request_id, error.error_type),
        status=error.status,
        content_type=JSON,
        headers={**(headers or {}), **error_headers(error, request_id)},
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer unknown routes, wrong methods and unexpected failures in the provider's envelope."""
    try:
        return await handler(request)
    except ProviderError as exc:
        return error_response(exc, new_id("req"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = ProviderError(exc.reason, status=exc.status)
        return error_response(error, new_id("req"))
    except Exception:
        logger.exception("simulator failed on %s %s", request.method, request.path)
        return error_response(ProviderError("Internal server error", status=500), new_id("req"))
