"""The Message Batches protocol, served from the job queue (PROVIDER-NOTES "Message Batches").

``POST /v1/messages/batches`` ``{"requests": [{"custom_id", "params"}]}`` turns each request
into a job of the same tenant (priority LOW unless ``x-scalegate-priority`` asks otherwise,
clamped as usual); a request whose params the gateway already knows to be invalid becomes an
``errored`` result at once. ``GET …/{id}``, ``GET …`` (newest first, ``limit`` /
``after_id`` / ``before_id``), ``POST …/{id}/cancel`` (pending requests are canceled,
running ones finish), ``DELETE …/{id}`` (only once ended) and ``GET …/{id}/results`` (JSONL,
streamed in request order) complete it, so the official SDK's ``client.messages.batches``
works unchanged. ``results_url`` is absolute and points back at this gateway
(``SCALEGATE_PUBLIC_URL``, else the request's own scheme and host). Batch bodies have their
own size limit, ``queue.batch_max_body_bytes``, and are accepted in bounded memory: spooled
to a temporary file, checked whole, then stored a chunk of jobs at a time, visible only once
all are stored (``routes/batch_upload.py``). ``Idempotency-Key`` works as for jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from scalegate.errors import InvalidRequestError, OverloadedError
from scalegate.gateway import Gateway
from scalegate.jobs.model import Batch, Job, JobState, error_doc, new_id
from scalegate.priority import Priority
from scalegate.routes.batch_upload import job_chunks, scan, spool
from scalegate.routes.common import RequestSink
from scalegate.routes.jobs import (
    Handler,
    guarded,
    idempotency_key,
    json_response,
    stored_headers,
    tenant_of,
)
from scalegate.tenants import effective_priority

EXPIRY_MS = 24 * 3600 * 1000
RESULTS_CHUNK = 500


def base_url(gw: Gateway, request: Request) -> str:
    public = gw.settings.server.public_url
    return (public or str(request.base_url)).rstrip("/")


def _priority(request: Request, tenant: Any) -> Priority:
    raw = request.headers.get("x-scalegate-priority")
    if raw is None:
        return effective_priority(tenant, Priority.LOW)
    try:
        return effective_priority(tenant, Priority.parse(raw))
    except ValueError as exc:
        raise InvalidRequestError(f"x-scalegate-priority: {exc}") from None


def result_line(job: Job) -> dict[str, Any]:
    """One line of the results file for a finished job."""
    if job.state is JobState.COMPLETED:
        result: dict[str, Any] = {"type": "succeeded", "message": job.result}
    elif job.state is JobState.CANCELED:
        result = {"type": "canceled"}
    else:
        error = job.error or error_doc(500, "api_error", "the request failed")
        result = {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": error.get("type"), "message": error.get("message")},
                "request_id": None,
            },
        }
    return {"custom_id": job.custom_id, "result": result}


class BatchRoutes:
    """The handlers, bound to one gateway."""

    def __init__(self, gw: Gateway, sink: RequestSink | None = None) -> None:
        self.gw = gw
        self.observe = (sink, "batches") if sink is not None else None

    async def owned(self, request: Request) -> Batch:
        tenant_name, _ = tenant_of(self.gw, request)
        return await self.gw.jobs.batch(request.path_params["batch_id"], tenant=tenant_name)

    async def create(self, request: Request) -> Response:
        if self.gw.draining:
            raise OverloadedError("the gateway is shutting down", retry_after=1)
        tenant_name, tenant = tenant_of(self.gw, request)
        settings = self.gw.settings
        with await spool(request, settings.queue.batch_max_body_bytes) as body:
            skip, count = await asyncio.to_thread(
                scan, body, settings.server.max_json_depth, settings.queue.batch_max_requests
            )
            priority = _priority(request, tenant)
            headers = stored_headers(request)
            key = idempotency_key(request)
            now = self.gw.jobs.now_ms()
            batch_id = new_id("msgbatch_", now)

            def make(item: dict[str, Any]) -> Job:
                return _job(self.gw, item, priority, tenant_name, headers, batch_id, now)

            # Counts are the queue's to fill in, from the jobs as they are stored.
            batch = Batch(batch_id, tenant_name, now, now + EXPIRY_MS, total=0, processing=0)
            async with contextlib.aclosing(job_chunks(body, skip, count, make)) as chunks:
                batch = await self.gw.jobs.submit_batch_chunks(batch, chunks, key)
        return json_response(batch.public(base_url(self.gw, request)))

    async def show(self, request: Request) -> Response:
        return json_response((await self.owned(request)).public(base_url(self.gw, request)))

    async def listing(self, request: Request) -> Response:
        tenant_name, _ = tenant_of(self.gw, request)
        q = request.query_params
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            raise InvalidRequestError("limit: must be an integer") from None
        if not 1 <= limit <= 1000:
            raise InvalidRequestError("limit: must be between 1 and 1000")
        batches, has_more = await self.gw.jobs.batches(
            tenant_name, limit, q.get("after_id"), q.get("before_id")
        )
        url = base_url(self.gw, request)
        data = [b.public(url) for b in batches]
        return json_response(
            {
                "data": data,
                "has_more": has_more,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def cancel(self, request: Request) -> Response:
        batch = await self.owned(request)
        canceled = await self.gw.jobs.cancel_batch(batch.id)
        return json_response(canceled.public(base_url(self.gw, request)))

    async def delete(self, request: Request) -> Response:
        batch = await self.owned(request)
        if batch.processing_status() != "ended":
            raise InvalidRequestError(
                f"message batch {batch.id} is still processing; cancel it before deleting it"
            )
        await self.gw.jobs.delete_batch(batch.id)
        return json_response({"id": batch.id, "type": "message_batch_deleted"})

    async def results(self, request: Request) -> Response:
        batch = await self.owned(request)
        if batch.processing_status() != "ended":
            raise InvalidRequestError(f"message batch {batch.id} has not ended; no results yet")

        async def lines() -> AsyncIterator[bytes]:
            for start in range(0, batch.total, RESULTS_CHUNK):
                jobs = await self.gw.jobs.batch_jobs(batch.id, start, start + RESULTS_CHUNK)
                yield b"".join(orjson.dumps(result_line(j)) + b"\n" for j in jobs)

        return StreamingResponse(lines(), media_type="application/x-jsonl")

    def public(self, handler: Handler) -> Handler:
        return guarded(handler, self.gw.outages, self.observe)

    def routes(self) -> list[Route]:
        return [
            Route("/v1/messages/batches", self.public(self.create), methods=["POST"]),
            Route("/v1/messages/batches", self.public(self.listing), methods=["GET"]),
            Route(
                "/v1/messages/batches/{batch_id}",
                self.public(self.show),
                methods=["GET"],
            ),
            Route(
                "/v1/messages/batches/{batch_id}",
                self.public(self.delete),
                methods=["DELETE"],
            ),
            Route(
                "/v1/messages/batches/{batch_id}/cancel",
                self.public(self.cancel),
                methods=["POST"],
            ),
            Route(
                "/v1/messages/batches/{batch_id}/results",
                self.public(self.results),
                methods=["GET"],
            ),
        ]


def routes(gw: Gateway, sink: RequestSink | None = None) -> list[Route]:
    return BatchRoutes(gw, sink).routes()


def _job(
    gw: Gateway,
    item: dict[str, Any],
    priority: Priority,
    tenant: str | None,
    headers: dict[str, str],
    batch_id: str,
    now: int,
) -> Job:
    """A PENDING job for one batch request, or a FAILED one when its params are invalid."""
    params, custom_id = item["params"], item["custom_id"]
    try:
        return gw.jobs.new_job(
            params,
            priority=priority,
            tenant=tenant,
            headers=headers,
            batch_id=batch_id,
            custom_id=custom_id,
        )
    except InvalidRequestError as exc:
        job = Job(
            id=new_id("job_", now),
            tenant=tenant,
            priority=priority,
            payload=params,
            created_at=now,
            state=JobState.FAILED,
            updated_at=now,
            enqueued_at=now,
            error=error_doc(400, "invalid_request_error", f"params.{exc.message}"),
            headers=headers,
            batch_id=batch_id,
            custom_id=custom_id,
        )
        return job
