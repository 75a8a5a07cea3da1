"""``GET /v1/models`` and ``GET /v1/models/{id}``, through the pool, cached for 10 minutes.

Without an ``anthropic-version`` header the list is answered in the OpenAI shape, so the
OpenAI SDK's ``client.models.list()`` works against the same URL (DESIGN §12).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import Receive, Scope, Send

from scalegate.asgi import send_body
from scalegate.errors import NotFoundError
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


# What a model id may look like ("claude-sonnet-4-6", "claude-3-5-haiku-20241022"): no
# "/", "?", "#" or "%", so that it names a model and nothing else on the provider's API.
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
_QUERY = ("limit", "after_id", "before_id")


def upstream_target(model_id: str, scope: Scope) -> str:
    """The provider path and query for this request, rebuilt from checked parts.

    Never the client's raw path: the pool key would then be sent wherever ``..`` segments
    or an encoded ``?`` led (``/v1/models/../../v1/files`` reached the provider's
    ``/v1/files``). Only the documented query parameters are passed on.
    """
    if not model_id:
        query = scope.get("query_string", b"").decode("latin-1")
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in _QUERY]
        return "/v1/models" + ("?" + urlencode(params) if params else "")
    if not _MODEL_ID.fullmatch(model_id):
        raise NotFoundError(f"model: {model_id!r} is not a model id")
    return "/v1/models/" + model_id


class ModelsEndpoint(_Endpoint):
    route = "models"

    async def handle(self, scope: Scope, receive: Receive, send: Send, inb: Inbound) -> None:
        ctx = call_context(self.gw, scope, inb)
        path = scope["path"]
        target = upstream_target(scope.get("path_params", {}).get("model_id", ""), scope)
        if inb.version is None:
            # The OpenAI SDK sends no anthropic-version; the provider needs one.
            ctx.headers.append(("anthropic-version", "2023-06-01"))
        reply = await self.gw.pipeline.models(ctx, target)
        if inb.version is None:
            reply = to_openai(reply, single=path.rstrip("/") != "/v1/models")
        await send_body(send, reply.status, reply.body, [*reply.headers, *own_headers(inb, ctx)])
