"""``/v1/jobs`` (DESIGN §10) and the jobs part of the admin API (§12).

* ``POST /v1/jobs`` ``{"request": {<Messages request>}, "priority": "high", "callback_url":
  null}`` → 202 with the job document (``state`` PENDING). ``Idempotency-Key`` returns the
  job the tenant created with that key before (``idempotent-replayed: true``).
* ``GET /v1/jobs/{id}`` → ``{"id","state","priority","attempts","created_at","updated_at",
  "result","error"}``; ``DELETE /v1/jobs/{id}`` cancels it.
* admin: ``GET /admin/jobs?state=dead&limit=&offset=``, ``GET /admin/jobs/stats``,
  ``GET /admin/jobs/{id}`` (everything, the request included), ``POST
  /admin/jobs/{id}/requeue``.

A job belongs to the tenant whose client key created it; another tenant's id is a 404.
Priority comes from the body's ``priority`` or ``x-scalegate-priority`` and is clamped to
the tenant's ``max_priority`` exactly like ``/v1/messages``. Errors use the provider's
envelope. Headers of the creating request that the provider would see on a synchronous call
(``anthropic-version``, ``anthropic-beta``, …) are stored with the job and forwarded.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scalegate.asgi import read_request
from scalegate.errors import (
    InvalidRequestError,
    OverloadedError,
    ProviderError,
    StateBackendError,
    render_error,
)
from scalegate.gateway import Gateway
from scalegate.jobs.model import JobState
from scalegate.priority import Priority
from scalegate.routes.admin import require_admin
from scalegate.routes.common import Inbound, RequestSink, inbound
from scalegate.state.outage import Outages
from scalegate.tenants import effective_priority
from scalegate.upstream.headers import forward_headers
from scalegate.validation import check_json_depth, parse_json_object

Handler = Callable[[Request], Awaitable[Response]]

_JOB_FIELDS = frozenset({"request", "priority", "callback_url"})
# Client-side noise that a queued request has no reason to carry upstream later.
_NOT_STORED = frozenset({"content-type", "accept", "user-agent", "idempotency-key"})


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status, headers, media_type="application/json")


def guarded(
    handler: Handler,
    outages: Outages,
    observe: tuple[RequestSink, str] | None = None,
) -> Handler:
    """Render every ``ProviderError`` in the provider's envelope; a queue store outage is the
    queue's declared policy: 529 with ``retry-after`` (nothing is accepted that was not
    stored), counted and shown on health. ``observe``: the sink told about each request,
    and its route label (metrics, access log)."""

    async def run(request: Request) -> Response:
        inb = inbound(request.scope)
        request.state.inbound = inb  # the handler's own view of this request
        try:
            response = await handler(request)
        except StateBackendError as exc:
            outages.failed("queue", exc)
            response = _rendered(outages.refusal("queue"), inb)
        except ProviderError as exc:
            response = _rendered(exc, inb)
        except BaseException:
            _tell(observe, 500, inb, request)
            raise
        _tell(observe, response.status_code, inb, request)
        return response

    return run


def _tell(
    observe: tuple[RequestSink, str] | None, status: int, inb: Inbound, request: Request
) -> None:
    if observe is not None:
        sink, route = observe
        sink.request(route, status, inb.started, time.perf_counter(), inb, request.scope)


def _rendered(error: ProviderError, inb: Inbound) -> Response:
    inb.error = (error.error_type, error.message)
    status, body, headers = render_error(error, inb.request_id)
    headers["x-scalegate-request-id"] = inb.request_id
    return Response(body, status, headers, media_type="application/json")


def request_inbound(request: Request) -> Inbound:
    """This request's :class:`Inbound` (made once, by :func:`guarded`)."""
    inb = getattr(request.state, "inbound", None)
    return inb if isinstance(inb, Inbound) else inbound(request.scope)


def tenant_of(gw: Gateway, request: Request) -> tuple[str | None, Any]:
    """The caller's tenant name (``None`` on an open gateway) and its config; 401 if unknown."""
    inb = request_inbound(request)
    tenant = gw.tenants.resolve(inb.client_key)
    inb.tenant = tenant.name if tenant is not None else None
    return inb.tenant, tenant


def asked_priority(request: Request, body_value: Any, tenant: Any) -> Priority:
    """The effective priority: the body's, else the header's, clamped to the tenant's max."""
    asked: Priority | None = None
    raw = body_value if body_value is not None else request.headers.get("x-scalegate-priority")
    if raw is not None:
        if not isinstance(raw, str):
            raise InvalidRequestError("priority: must be one of critical, high, normal, low")
        try:
            asked = Priority.parse(raw)
        except ValueError as exc:
            raise InvalidRequestError(f"priority: {exc}") from None
    return effective_priority(tenant, asked)


def stored_headers(request: Request) -> dict[str, str]:
    return {
        name: value
        for name, value in forward_headers(request.scope["headers"])
        if name not in _NOT_STORED and not name.startswith("x-stainless-")
    }


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidRequestError("Idempotency-Key: must be 1 to 255 characters")
    return key


class JobRoutes:
    """The handlers, bound to one gateway."""

    def __init__(self, gw: Gateway, sink: RequestSink | None = None) -> None:
        self.gw = gw
        self.observe = (sink, "jobs") if sink is not None else None

    async def create(self, request: Request) -> Response:
        if self.gw.draining:
            raise OverloadedError("the gateway is shutting down", retry_after=1)
        tenant_name, tenant = tenant_of(self.gw, request)
        server = self.gw.settings.server
        raw = await read_request(request, server.max_body_bytes)
        body = parse_json_object(raw)
        check_json_depth(raw, body, server.max_json_depth)
        unknown = sorted(set(body) - _JOB_FIELDS)
        if unknown:
            raise InvalidRequestError(f"{unknown[0]}: Extra inputs are not permitted")
        req = body.get("request")
        if not isinstance(req, dict):
            raise InvalidRequestError("request: Field required (a Messages request object)")
        callback = body.get("callback_url")
        if callback is not None and not isinstance(callback, str):
            raise InvalidRequestError("callback_url: must be a string or null")
        priority = asked_priority(request, body.get("priority"), tenant)
        try:
            job, created = await self.gw.jobs.submit(
                req,
                priority=priority,
                tenant=tenant_name,
                callback_url=callback,
                idempotency_key=idempotency_key(request),
                headers=stored_headers(request),
            )
        except InvalidRequestError as exc:
            if exc.message.startswith("callback_url"):
                raise
            raise InvalidRequestError(f"request.{exc.message}") from None
        headers = {"location": f"/v1/jobs/{job.id}", "x-scalegate-priority": job.priority.label}
        if not created:
            headers["idempotent-replayed"] = "true"
        return json_response(job.public(), 202, headers)

    async def show(self, request: Request) -> Response:
        tenant_name, _ = tenant_of(self.gw, request)
        job = await self.gw.jobs.get(request.path_params["job_id"], tenant=tenant_name)
        return json_response(job.public())

    async def cancel(self, request: Request) -> Response:
        tenant_name, _ = tenant_of(self.gw, request)
        job = await self.gw.jobs.cancel(request.path_params["job_id"], tenant=tenant_name)
        return json_response(job.public())

    async def admin_list(self, request: Request) -> Response:
        raw = request.query_params.get("state", "dead")
        try:
            state = JobState(raw.upper())
        except ValueError:
            allowed = ", ".join(s.value.lower() for s in JobState)
            raise InvalidRequestError(f"state: must be one of {allowed}") from None
        limit = _int_param(request, "limit", 50, 1, 1000)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        jobs = await self.gw.jobs.list(state, limit=limit, offset=offset)
        return json_response({"state": state.value, "jobs": [j.inspect() for j in jobs]})

    async def admin_stats(self, _: Request) -> Response:
        return json_response(await jobs_report(self.gw))

    async def admin_show(self, request: Request) -> Response:
        return json_response((await self.gw.jobs.get(request.path_params["job_id"])).inspect())

    async def admin_requeue(self, request: Request) -> Response:
        return json_response((await self.gw.jobs.requeue(request.path_params["job_id"])).public())

    def public(self, handler: Handler) -> Handler:
        return guarded(handler, self.gw.outages, self.observe)

    def admin(self, handler: Handler) -> Handler:
        return require_admin(self.gw, guarded(handler, self.gw.outages))

    def routes(self) -> list[Route]:
        return [
            Route("/v1/jobs", self.public(self.create), methods=["POST"]),
            Route("/v1/jobs/{job_id}", self.public(self.show), methods=["GET"]),
            Route("/v1/jobs/{job_id}", self.public(self.cancel), methods=["DELETE"]),
            Route("/admin/jobs", self.admin(self.admin_list), methods=["GET"]),
            Route("/admin/jobs/stats", self.admin(self.admin_stats), methods=["GET"]),
            Route("/admin/jobs/{job_id}", self.admin(self.admin_show), methods=["GET"]),
            Route("/admin/jobs/{job_id}/requeue", self.admin(self.admin_requeue), methods=["POST"]),
        ]


def routes(gw: Gateway, sink: RequestSink | None = None) -> list[Route]:
    return JobRoutes(gw, sink).routes()


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError(f"{name}: must be an integer") from None
    if not low <= value <= high:
        raise InvalidRequestError(f"{name}: must be between {low} and {high}")
    return value


async def jobs_report(gw: Gateway) -> dict[str, Any]:
    """Queue statistics, this process's pool, and every pool's last heartbeat."""
    queue = gw.jobs
    return {
        "queue": await queue.stats(),
        "pool": gw.workers.stats() if gw.workers is not None else None,
        "workers": await queue.workers(),
    }


async def jobs_health(gw: Gateway) -> dict[str, Any]:
    """The ``jobs`` component of ``/api/monitoring/health``: queue depth and the worker
    pools' heartbeats. Degraded (never down: synchronous traffic is unaffected) when the
    queue is unreachable, or jobs wait while no pool has sent a heartbeat recently."""
    queue = gw.jobs
    max_age = int(queue.config.visibility_timeout_seconds * 1000)
    try:
        counts = await queue.counts()
        workers = await queue.workers()
    except StateBackendError as exc:
        return {"status": "degraded", "detail": f"job queue unreachable: {exc}"}
    idle = counts["ready"] > 0 and not workers
    detail = (
        f"{counts['ready']} ready, {counts['delayed']} waiting to retry, "
        f"{counts['in_flight']} in flight, {counts['dead']} dead; "
        f"{len(workers)} worker pool(s) with a heartbeat in the last {max_age / 1000:g}s"
    )
    return {
        "status": "degraded" if idle else "ok",
        "detail": detail + (" — jobs are waiting and no worker is alive" if idle else ""),
        "depth": counts["depth"],
        "workers": workers,
    }
