"""Monitoring (DESIGN §10): probes, metrics, health, and the live dashboard.

Unauthenticated, for probes and scrapers: ``/healthz`` (liveness: the process answers),
``/readyz`` (503 exactly when health is ``down``), ``/api/monitoring/health``, ``/metrics``
and ``/api/monitoring/metrics`` (Prometheus text; ``?format=json`` for JSON). They name keys
by fingerprint only.

Admin only (the admin token as ``Authorization: Bearer`` or a dashboard session cookie):
``/api/monitoring/dashboard``, the JSON the page shows — it adds what an outsider
has no business reading (key names, tenants' traffic and spend, worker hosts). ``/dashboard``
itself is a static page that asks for the token once, exchanges it for a session
(``POST /dashboard/session``: an opaque server-side id, revocable, HttpOnly,
SameSite=Strict, ``server.admin_session_seconds``; failed sign-ins bounded per address)
and then polls the JSON; ``DELETE /dashboard/session`` revokes it.
Its scripts and styles are served from the package (no CDN: it works offline), under a
Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import hmac
from importlib import resources

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scalegate.asgi import read_request
from scalegate.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from scalegate.gateway import Gateway
from scalegate.routes.admin import SESSION_COOKIE, check_admin, error_response, require_admin

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "content-security-policy": _CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}  # fmt: skip
# The page's files (read once, on first use): name → path inside observe/static.
ASSETS = {
    "dashboard.js": "dashboard.js",
    "dashboard.css": "dashboard.css",
    "uPlot.iife.min.js": "vendor/uplot/uPlot.iife.min.js",
    "uPlot.min.css": "vendor/uplot/uPlot.min.css",
}


def _asset(path: str) -> bytes:
    return resources.files("scalegate.observe").joinpath("static", *path.split("/")).read_bytes()


def _json(doc: object, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status, media_type="application/json")


class _Monitoring:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.observer = gw.observer
        self._files: dict[str, bytes] = {}

    async def healthz(self, _: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(self, _: Request) -> Response:
        report = await self.observer.health()
        ready = report["status"] != "down"
        body = {"ready": ready, "status": report["status"], "reasons": report["reasons"]}
        return _json(body, 200 if ready else 503)

    async def health(self, _: Request) -> Response:
        report = await self.observer.health()
        return _json(report, 503 if report["status"] == "down" else 200)

    async def metrics(self, request: Request) -> Response:
        if not self.gw.settings.metrics_enabled:
            return error_response(NotFoundError("metrics are disabled (METRICS_ENABLED=false)"))
        if request.query_params.get("format") == "json":
            return _json(await self.observer.json_metrics())
        return Response(await self.observer.prometheus(), media_type=CONTENT_TYPE_LATEST)

    async def dashboard_data(self, _: Request) -> Response:
        response = _json(await self.observer.dashboard())
        response.headers["cache-control"] = "no-store"
        return response

    async def page(self, _: Request) -> Response:
        return self._file("dashboard.html", "dashboard.html", no_store=True)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return error_response(NotFoundError("not found"))
        return self._file(name, ASSETS[name])

    def _file(self, name: str, path: str, *, no_store: bool = False) -> Response:
        if path not in self._files:
            self._files[path] = _asset(path)
        suffix = name[name.rfind(".") :]
        headers = {**_PAGE_HEADERS, "cache-control": "no-store" if no_store else "max-age=300"}
        return Response(self._files[path], headers=headers, media_type=_TYPES[suffix])

    async def login(self, request: Request) -> Response:
        """Exchange the admin token for a dashboard session: an opaque server-side id in
        an HttpOnly, SameSite=Strict cookie (``Secure`` over https, also behind a trusted
        TLS-terminating proxy); failed attempts per client address are bounded."""
        gw, conf = self.gw, self.gw.settings.server
        client = request.client.host if request.client is not None else "?"
        limit = conf.admin_login_max_failures
        if await gw.outages.guard("sessions", lambda: gw.sessions.failures(client)) >= limit:
            return error_response(
                RateLimitError(
                    "too many failed sign-in attempts; try again later",
                    retry_after=conf.admin_login_window_seconds,
                )
            )
        raw = await read_request(request, 64 * 1024)
        try:
            body = orjson.loads(raw)
            given = body.get("token") if isinstance(body, dict) else None
        except orjson.JSONDecodeError:
            given = None
        if not isinstance(given, str) or not given:
            return error_response(InvalidRequestError('body: {"token": "<admin token>"}'))
        token = gw.settings.admin_token
        if token is None or not hmac.compare_digest(
            given.encode(), token.get_secret_value().encode()
        ):
            window = conf.admin_login_window_seconds
            await gw.outages.guard("sessions", lambda: gw.sessions.failure(client, window))
            return error_response(AuthenticationError("admin token missing or wrong"))
        ttl = conf.admin_session_seconds
        sid = await gw.outages.guard("sessions", lambda: gw.sessions.create(ttl))
        response = Response(status_code=204)
        response.set_cookie(
            SESSION_COOKIE,
            sid,
            max_age=ttl,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_over_tls(request, conf.trust_forwarded_proto),
        )
        return response

    async def session(self, request: Request) -> Response:
        """Whether the caller is signed in (always 200: the page asks before it polls)."""
        try:
            await check_admin(self.gw, request)
            authenticated = True
        except ProviderError:
            authenticated = False
        enabled = self.gw.settings.admin_token is not None
        return _json({"authenticated": authenticated, "admin_enabled": enabled})

    async def logout(self, request: Request) -> Response:
        """Revoke the session server-side (the cookie alone would outlive a deletion)."""
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            await self.gw.outages.guard("sessions", lambda: self.gw.sessions.revoke(sid))
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response


def _over_tls(request: Request, trust_forwarded_proto: bool) -> bool:
    if request.url.scheme == "https":
        return True
    if not trust_forwarded_proto:
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def probe_routes(gw: Gateway, m: _Monitoring | None = None) -> list[Route]:
    """Liveness, readiness, health and metrics: all that ``scalegate worker --port`` serves."""
    m = m or _Monitoring(gw)
    return [
        Route("/healthz", m.healthz, methods=["GET"]),
        Route("/readyz", m.readyz, methods=["GET"]),
        Route("/api/monitoring/health", m.health, methods=["GET"]),
        Route("/metrics", m.metrics, methods=["GET"]),
        Route("/api/monitoring/metrics", m.metrics, methods=["GET"]),
    ]


def routes(gw: Gateway) -> list[Route]:
    m = _Monitoring(gw)
    return [
        *probe_routes(gw, m),
        Route("/api/monitoring/dashboard", require_admin(gw, m.dashboard_data), methods=["GET"]),
        Route("/dashboard", m.page, methods=["GET"]),
        Route("/dashboard/static/{name}", m.asset, methods=["GET"]),
        Route("/dashboard/session", m.session, methods=["GET"]),
        Route("/dashboard/session", m.login, methods=["POST"]),
        Route("/dashboard/session", m.logout, methods=["DELETE"]),
    ]
