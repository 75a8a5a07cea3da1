"""Warming: run a list of requests through the pipeline and store their answers.

Each item is a Messages request body, or ``{"request": {...}, "tenant": "web-app",
"namespace": "faq"}`` to warm a tenant's (sub-)namespace. Items whose answer is already
cached are skipped (no upstream call). Every item goes through the one request path as the
tenant it names (required once tenants are configured), so the tenant's rules apply and the
cache slot is released whatever happens. Requests go through the key pool at LOW priority, so
warming never crowds out live traffic, and are stored by the same rules as live answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from scalegate.cache.policy import storable
from scalegate.call import Call
from scalegate.errors import InvalidRequestError, ProviderError
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


async def warm_one(pipeline: Pipeline, item: Any, *, wait_seconds: float = 30.0) -> str:
    """Warm one item through :meth:`Pipeline.serve` as the tenant it names: ``cached``
    (already there), ``stored``, ``not-stored`` (answer not storable, e.g. a tool call) or
    raises the request's error (the cache slot is released either way)."""
    request, tenant, namespace = _unwrap(item)
    request = {k: v for k, v in request.items() if k != "stream"}
    req = validate_messages(orjson.dumps(request), VERSION)
    # Semantic mode stores both kinds of entry (exact only, when semantic is disabled); a
    # request the cache already answers, exactly or by meaning, is not asked again.
    headers = {"anthropic-version": VERSION, "x-scalegate-cache": "semantic"}
    if namespace:
        headers["x-scalegate-cache-namespace"] = str(namespace)
    principal = pipeline.tenants.named(tenant if isinstance(tenant, str) else None)
    forwarded = [("anthropic-version", VERSION), ("content-type", "application/json")]
    ctx = pipeline.new_context(principal, Priority.LOW, wait_seconds, forwarded)
    async with pipeline.serve(Call(ctx, req, headers)) as answer:
        reply = answer.reply
        assert reply is not None
        outcome = answer.cache
    if outcome in ("hit", "semantic-hit", "coalesced"):
        return "cached"
    if reply.status != 200:
        try:
            message = orjson.loads(reply.body)["error"]["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = f"upstream answered {reply.status}"
        raise ProviderError(str(message), status=reply.status)
    exact_ok, semantic_ok = storable(orjson.loads(reply.body))
    return "stored" if exact_ok or semantic_ok else "not-stored"


async def warm(pipeline: Pipeline, items: list[Any]) -> dict[str, Any]:
    """Warm every item in order; per-item errors are reported, not raised."""
    counts = {"cached": 0, "stored": 0, "not-stored": 0, "failed": 0}
    errors = []
    for i, item in enumerate(items):
        try:
            counts[await warm_one(pipeline, item)] += 1
        except ProviderError as exc:
            counts["failed"] += 1
            errors.append({"index": i, "status": exc.status, "error": exc.message})
    return {**counts, "errors": errors}
