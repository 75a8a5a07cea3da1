"""Warming: run a list of requests through the pipeline and store their answers.

Each item is a Messages request body, or ``{"request": {...}, "tenant": "web-app",
"namespace": "faq"}`` to warm a tenant's (sub-)namespace. Items whose answer is already
cached are skipped (no upstream call). Requests go through the key pool at LOW priority, so
warming never crowds out live traffic, and are stored by the same rules as live answers.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson

from scalegate.cache.policy import storable
from scalegate.cache.service import CacheService
from scalegate.errors import InvalidRequestError, ProviderError
from scalegate.pipeline import CallContext
from scalegate.priority import Priority
from scalegate.validation import validate_messages

if TYPE_CHECKING:
    from scalegate.pipeline import Pipeline

VERSION = "2023-06-01"


def _unwrap(item: Any) -> tuple[dict[str, Any], str | None, str | None]:
    if not isinstance(item, dict):
        raise InvalidRequestError("each item must be a JSON object")
    if "request" in item:
        extra = set(item) - {"request", "tenant", "namespace"}
        if extra:
            raise InvalidRequestError(f"unknown field(s) {sorted(extra)}")
        request = item["request"]
        if not isinstance(request, dict):
            raise InvalidRequestError("request: must be a JSON object")
        return request, item.get("tenant"), item.get("namespace")
    return item, None, None


async def warm_one(
    cache: CacheService, pipeline: Pipeline, item: Any, *, wait_seconds: float = 30.0
) -> str:
    """Warm one item: ``cached`` (already there), ``stored``, ``not-stored`` (answer not
    storable, e.g. a tool call) or raises the request's error."""
    request, tenant, namespace = _unwrap(item)
    request = {k: v for k, v in request.items() if k != "stream"}
    req = validate_messages(orjson.dumps(request), VERSION)
    headers = {"anthropic-version": VERSION, "x-scalegate-cache": "semantic"}
    if namespace:
        headers["x-scalegate-cache-namespace"] = str(namespace)
    ticket = await cache.lookup(req.payload, headers, tenant)
    if ticket.outcome == "hit":
        return "cached"
    if ticket.outcome == "semantic-hit":
        # Close but not the same request: warm it exactly too, at the price of a call.
        ticket.outcome = "miss"
        ticket.semantic = None
    ctx = CallContext(
        "req_" + secrets.token_hex(12),
        Priority.LOW,
        pipeline.clock.monotonic() + wait_seconds,
        [("anthropic-version", VERSION), ("content-type", "application/json")],
        tenant=tenant,
    )
    reply = await pipeline.create_message(ctx, req)
    if reply.status != 200:
        try:
            message = orjson.loads(reply.body)["error"]["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = f"upstream answered {reply.status}"
        raise ProviderError(str(message), status=reply.status)
    await cache.store(ticket, reply.body)
    exact_ok, semantic_ok = storable(orjson.loads(reply.body))
    return "stored" if exact_ok or semantic_ok else "not-stored"


async def warm(cache: CacheService, pipeline: Pipeline, items: list[Any]) -> dict[str, Any]:
    """Warm every item in order; per-item errors are reported, not raised."""
    counts = {"cached": 0, "stored": 0, "not-stored": 0, "failed": 0}
    errors = []
    for i, item in enumerate(items):
        try:
            counts[await warm_one(cache, pipeline, item)] += 1
        except ProviderError as exc:
            counts["failed"] += 1
            errors.append({"index": i, "status": exc.status, "error": exc.message})
    return {**counts, "errors": errors}
