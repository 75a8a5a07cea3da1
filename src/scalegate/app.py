"""``create_app(settings)``: the ASGI application, its routes and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scalegate.asgi import ClientGone, new_request_id
from scalegate.clock import Clock
from scalegate.config import Settings, load_settings
from scalegate.errors import ConfigError, ProviderError
from scalegate.gateway import Gateway
from scalegate.openai.errors import render_openai_error
from scalegate.origin import CrossOriginGuard
from scalegate.routes import admin, batches, jobs, monitoring
from scalegate.routes import cache as cache_routes
from scalegate.routes.admin import error_response
from scalegate.routes.messages import CountTokensEndpoint, MessagesEndpoint
from scalegate.routes.models import ModelsEndpoint
from scalegate.routes.openai import ChatCompletionsEndpoint
from scalegate.routes.responses import ResponsesEndpoint

logger = logging.getLogger(__name__)


class _SighupHandler:
    """Re-read the configuration on SIGHUP and apply its keys (one reload at a time)."""

    def __init__(self, gateway: Gateway, reload: Callable[[], Settings]) -> None:
        self.gateway = gateway
        self.reload = reload
        self.task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.loop.add_signal_handler(signal.SIGHUP, self.fire)

    def fire(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self.run(), name="scalegate-sighup")

    async def run(self) -> None:
        try:
            settings = self.reload()
        except ConfigError as exc:
            logger.error("SIGHUP: configuration not reloaded: %s", exc)
            return
        await self.gateway.reload(settings)
        logger.info("SIGHUP: configuration reloaded", extra={"event": "config_reloaded"})

    def close(self) -> None:
        self.loop.remove_signal_handler(signal.SIGHUP)
        if self.task is not None:
            self.task.cancel()


def _on_sighup(gateway: Gateway, reload: Callable[[], Settings]) -> _SighupHandler | None:
    if threading.current_thread() is not threading.main_thread():
        return None  # signals reach only the main thread (tests run apps in threads)
    return _SighupHandler(gateway, reload)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    error = ProviderError(f"{message}", status=exc.status_code, headers=dict(exc.headers or {}))
    if openai_client(request.url.path, request.headers.get("anthropic-version")):
        status, body, headers = render_openai_error(error, new_request_id())
        return Response(body, status, headers, media_type="application/json")
    return error_response(error)


# Anthropic's API paths and the gateway's own (jobs): errors in the provider's envelope.
ANTHROPIC_PATHS = (
    "/v1/messages",
    "/v1/models",
    "/v1/complete",
    "/v1/files",
    "/v1/skills",
    "/v1/jobs",
)


def openai_client(path: str, anthropic_version: str | None) -> bool:
    """An OpenAI-protocol request: an OpenAI surface, or another ``/v1/…`` path that is not
    Anthropic's, asked without ``anthropic-version`` (which every Anthropic client sends)."""
    if path.startswith(("/v1/chat/", "/v1/responses")):
        return True
    if path.startswith(ANTHROPIC_PATHS):
        return False
    return path.startswith("/v1/") and anthropic_version is None


async def _client_gone(_: Request, exc: Exception) -> Response:
    # The client left (or was cut off for sending its body too slowly) while a route read
    # the body: nobody is there to answer, and it is not the gateway's error to log.
    return Response(status_code=499)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(ProviderError("internal error in the gateway", status=500))


_FAST_PATHS = ("/v1/messages", "/v1/chat/completions", "/v1/responses")


class GatewayApp(Starlette):
    """Starlette, with the hot routes (``POST /v1/messages``, ``/v1/chat/completions``)
    dispatched straight to their endpoints behind the cross-origin guard.

    Those endpoints are raw ASGI and answer every error themselves in the provider's
    envelope, so Starlette's middleware layers and router add nothing to them but a few
    percent of a request's CPU (measured: ``benchmarks/gateway_overhead.py``). Every other
    path, and any other method on these, goes through Starlette as before.
    """

    fast: dict[str, ASGIApp]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    reload: Callable[[], Settings] | None = None,
) -> GatewayApp:
    """Build the gateway application; nothing starts until its lifespan runs.

    ``reload`` re-reads the configuration; when given (``scalegate serve`` does), ``SIGHUP``
    applies the new key list without a restart.
    """
    gateway = Gateway(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        hup = _on_sighup(gateway, reload) if reload is not None else None
        try:
            yield
        finally:
            if hup is not None:
                hup.close()
            await gateway.stop()

    sink = gateway.observer.sink  # told about every request: metrics and the access log
    routes = [
        Route("/v1/messages", MessagesEndpoint(gateway, sink), methods=["POST"]),
        Route("/v1/messages/count_tokens", CountTokensEndpoint(gateway, sink), methods=["POST"]),
        Route("/v1/chat/completions", ChatCompletionsEndpoint(gateway, sink), methods=["POST"]),
        Route("/v1/responses", ResponsesEndpoint(gateway, sink), methods=["POST"]),
        Route("/v1/models", ModelsEndpoint(gateway, sink), methods=["GET"]),
        Route("/v1/models/{model_id:path}", ModelsEndpoint(gateway, sink), methods=["GET"]),
        *monitoring.routes(gateway),
        *admin.routes(gateway),
        *cache_routes.routes(gateway),
        *jobs.routes(gateway, sink),
        *batches.routes(gateway, sink),
    ]
    app = GatewayApp(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(CrossOriginGuard, public_url=settings.server.public_url)],
        exception_handlers={
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            ClientGone: _client_gone,
            Exception: _server_error,
        },
    )
    app.state.gateway = gateway
    public_url = settings.server.public_url
    app.fast = {
        route.path: CrossOriginGuard(route.app, public_url=public_url)
        for route in routes
        if isinstance(route, Route) and route.path in _FAST_PATHS
    }
    return app


def app_from_environment() -> GatewayApp:
    """The app of one ``scalegate serve --workers N`` process (settings from the environment)."""
    from scalegate import logs
    from scalegate.process import raise_open_files_limit, tune_gc

    logs.configure(
        os.environ.get("SCALEGATE_LOG_LEVEL", "info"),
        os.environ.get("SCALEGATE_LOG_FORMAT", "text"),
    )
    settings = load_settings()
    raise_open_files_limit()
    tune_gc()
    return create_app(settings, reload=load_settings)
