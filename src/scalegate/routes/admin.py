"""The admin API (DESIGN §12): keys now; cache and jobs register their own routes.

Every admin route requires ``Authorization: Bearer <SCALEGATE_ADMIN_TOKEN>`` (compared in
constant time). Without a configured token the admin API is closed (403), never open.
Routes of other subsystems use :func:`require_admin` the same way.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scalegate.asgi import new_request_id, read_request
from scalegate.config import KeyConfig
from scalegate.errors import (
    AuthenticationError,
    InvalidRequestError,
    PermissionError_,
    ProviderError,
    render_error,
)
from scalegate.gateway import Gateway

Handler = Callable[[Request], Awaitable[Response]]


def error_response(error: ProviderError) -> Response:
    status, body, headers = render_error(error, new_request_id())
    return Response(body, status, headers, media_type="application/json")


SESSION_COOKIE = "scalegate_session"


async def check_admin(gw: Gateway, request: Request) -> None:
    """Raise unless the request carries the admin token (``Authorization: Bearer``) or a
    live dashboard session (an opaque id in the cookie, checked server-side)."""
    token = gw.settings.admin_token
    if token is None:
        raise PermissionError_("the admin API is disabled: set SCALEGATE_ADMIN_TOKEN to enable it")
    given = request.headers.get("authorization", "")
    if given[:7].lower() == "bearer ":
        given = given[7:].strip()
        if given and hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return
        raise AuthenticationError("admin token missing or wrong")
    sid = request.cookies.get(SESSION_COOKIE, "")
    if (
        sid
        and len(sid) <= 128
        and await gw.outages.guard("sessions", lambda: gw.sessions.valid(sid))
    ):
        return
    raise AuthenticationError("admin token missing or wrong")


def require_admin(gw: Gateway, handler: Handler) -> Handler:
    """Wrap a handler so it runs only for the admin; errors in the provider's envelope."""

    async def guarded(request: Request) -> Response:
        try:
            await check_admin(gw, request)
            return await handler(request)
        except ProviderError as exc:
            return error_response(exc)

    return guarded


def routes(gw: Gateway) -> list[Route]:
    async def list_keys(_: Request) -> Response:
        return JSONResponse({"keys": await gw.pool.status()})

    async def disable(request: Request) -> Response:
        fp = request.path_params["fingerprint"]
        await gw.disable_key(fp)
        return JSONResponse({"key": fp, "status": "disabled"})

    async def enable(request: Request) -> Response:
        fp = request.path_params["fingerprint"]
        await gw.enable_key(fp)
        return JSONResponse({"key": fp, "status": "enabled"})

    async def add_key(request: Request) -> Response:
        # Errors name fields, never echo input: the body holds a secret.
        try:
            # orjson, not request.json(): the stdlib parser recurses (a deep body was a 500)
            raw = await read_request(request, gw.settings.server.max_body_bytes)
            cfg = KeyConfig.model_validate(orjson.loads(raw))
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InvalidRequestError(f"invalid key: {fields}") from None
        except ValueError:
            raise InvalidRequestError("invalid key: the body is not JSON") from None
        fp = await gw.add_key(cfg)
        return JSONResponse({"key": fp, "status": "added"}, status_code=201)

    async def remove_key(request: Request) -> Response:
        fp = request.path_params["fingerprint"]
        await gw.remove_key(fp)
        return JSONResponse({"key": fp, "status": "removed"})

    async def list_tenants(_: Request) -> Response:
        limiter = gw.limiter
        tenants = [await limiter.report(t) for t in gw.settings.tenants] if limiter else []
        return JSONResponse({"open_gateway": not gw.settings.tenants, "tenants": tenants})

    return [
        Route("/admin/tenants", require_admin(gw, list_tenants), methods=["GET"]),
        Route("/admin/keys", require_admin(gw, list_keys), methods=["GET"]),
        Route("/admin/keys", require_admin(gw, add_key), methods=["POST"]),
        Route("/admin/keys/{fingerprint}", require_admin(gw, remove_key), methods=["DELETE"]),
        Route("/admin/keys/{fingerprint}/disable", require_admin(gw, disable), methods=["POST"]),
        Route("/admin/keys/{fingerprint}/enable", require_admin(gw, enable), methods=["POST"]),
    ]
