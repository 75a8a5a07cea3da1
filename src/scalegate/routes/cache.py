"""The cache's admin API (DESIGN §12), behind the admin token like every admin route.

* ``GET /admin/cache/stats`` — store-wide numbers (every replica's, in Redis mode) and this
  process's: hits, misses, evictions, bytes, hit rate, near-misses, guard refusals.
* ``GET /admin/cache/top?n=10`` — the entries with most hits (exact and semantic).
* ``POST /admin/cache/invalidate`` ``{"namespace": "web-app"}`` — bump a namespace's version
  (``tenant`` or ``tenant/sub``; omitted or ``"*"``: every namespace).
* ``POST /admin/cache/warm`` ``{"requests": [...]}`` — run requests through the pipeline
  and store their answers (see :mod:`scalegate.cache.warm`); the CLI sends a file in chunks.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scalegate.asgi import read_request
from scalegate.cache.warm import warm
from scalegate.errors import InvalidRequestError, ProviderError, StateBackendError
from scalegate.gateway import Gateway
from scalegate.routes.admin import Handler, require_admin
from scalegate.validation import check_json_depth

MAX_WARM_ITEMS = 1000


async def _json_body(request: Request, limit: int, max_depth: int) -> Any:
    raw = await read_request(request, limit)
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc.msg}") from None
    check_json_depth(raw, body, max_depth)  # warming re-encodes the requests
    return body


def _backend_errors(handler: Handler) -> Handler:
    """A Redis that fails while the admin asks is a 503, not a 500."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except StateBackendError as exc:
            raise ProviderError(f"cache store unavailable: {exc}", status=503) from exc

    return wrapped


def routes(gw: Gateway) -> list[Route]:
    async def stats(_: Request) -> Response:
        return JSONResponse(await gw.cache.snapshot())

    async def top(request: Request) -> Response:
        try:
            n = int(request.query_params.get("n", "10"))
        except ValueError:
            raise InvalidRequestError("n: must be a whole number") from None
        return JSONResponse(await gw.cache.top(max(1, min(n, 1000))))

    async def invalidate(request: Request) -> Response:
        body = await _json_body(
            request, gw.settings.server.max_body_bytes, gw.settings.server.max_json_depth
        )
        namespace = body.get("namespace") if isinstance(body, dict) else None
        if namespace is not None and not isinstance(namespace, str):
            raise InvalidRequestError("namespace: must be a string")
        try:
            return JSONResponse(await gw.cache.invalidate(namespace))
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None

    async def warm_route(request: Request) -> Response:
        body = await _json_body(
            request, gw.settings.server.max_body_bytes, gw.settings.server.max_json_depth
        )
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise InvalidRequestError('body must be {"requests": [<Messages request>, ...]}')
        if len(items) > MAX_WARM_ITEMS:
            raise InvalidRequestError(f"at most {MAX_WARM_ITEMS} requests per call")
        if gw.cache.exact is None and gw.cache.semantic is None:
            raise InvalidRequestError("caching is disabled (cache.exact and cache.semantic)")
        return JSONResponse(await warm(gw.pipeline, items))

    def admin(handler: Handler) -> Handler:
        return require_admin(gw, _backend_errors(handler))

    return [
        Route("/admin/cache/stats", admin(stats), methods=["GET"]),
        Route("/admin/cache/top", admin(top), methods=["GET"]),
        Route("/admin/cache/invalidate", admin(invalidate), methods=["POST"]),
        Route("/admin/cache/warm", admin(warm_route), methods=["POST"]),
    ]
