"""``GET /v1/models`` and ``GET /v1/models/{id}``, through the pool, cached for 10 minutes.

Without an ``anthropic-version`` header the list is answered in the OpenAI shape, so the
OpenAI SDK's ``client.models.list()`` works against the same URL (DESIGN §12).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from scalegate.asgi import send_body
from scalegate.pipeline import Reply
from scalegate.routes.common import Inbound, call_context, own_headers
from scalegate.routes.messages import _Endpoint


def _epoch(created_at: Any) -> int:
    try:
        return int(dt.datetime.fromisoformat(str(created_at).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _openai_model(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": model.get("id"),
        "object": "model",
        "created": _epoch(model.get("created_at")),
        "owned_by": "anthropic",
    }


def to_openai(reply: Reply, single: bool) -> Reply:
    """Translate a successful Anthropic models answer into the OpenAI shape."""
    if reply.status != 200:
        return reply
    data = orjson.loads(reply.body)
    if single:
        body = _openai_model(data)
    else:
        body = {"object": "list", "data": [_openai_model(m) for m in data.get("data", [])]}
    return Reply(200, orjson.dumps(body), [h for h in reply.headers if h[0] != "content-type"])


class ModelsEndpoint(_Endpoint):
    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        ctx = call_context(self.gw, scope, inb)
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + ("?" + query if query else "")
        if inb.version is None:
            # The OpenAI SDK sends no anthropic-version; the provider needs one.
            ctx.headers.append(("anthropic-version", "2023-06-01"))
        reply = await self.gw.pipeline.models(ctx, target)
        if inb.version is None:
            reply = to_openai(reply, single=path.rstrip("/") != "/v1/models")
        await send_body(send, reply.status, reply.body, [*reply.headers, *own_headers(inb, ctx)])
