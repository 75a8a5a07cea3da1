"""``create_app(settings)``: the ASGI application, its routes and its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scalegate.clock import Clock
from scalegate.config import Settings
from scalegate.errors import ProviderError
from scalegate.gateway import Gateway
from scalegate.routes import admin, monitoring
from scalegate.routes.admin import error_response
from scalegate.routes.messages import CountTokensEndpoint, MessagesEndpoint
from scalegate.routes.models import ModelsEndpoint

logger = logging.getLogger(__name__)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    error = ProviderError(f"{message}", status=exc.status_code, headers=dict(exc.headers or {}))
    return error_response(error)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(ProviderError("internal error in the gateway", status=500))


def create_app(settings: Settings, *, clock: Clock | None = None) -> Starlette:
    """Build the gateway application; nothing starts until its lifespan runs."""
    gateway = Gateway(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    routes = [
        Route("/v1/messages", MessagesEndpoint(gateway), methods=["POST"]),
        Route("/v1/messages/count_tokens", CountTokensEndpoint(gateway), methods=["POST"]),
        Route("/v1/models", ModelsEndpoint(gateway), methods=["GET"]),
        Route("/v1/models/{model_id:path}", ModelsEndpoint(gateway), methods=["GET"]),
        *monitoring.routes(gateway),
        *admin.routes(gateway),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.gateway = gateway
    return app
