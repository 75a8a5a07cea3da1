"""Model aliases with fallbacks, and per-tenant model allowlists.

``models.aliases`` maps a name clients may use to an ordered list of real models, e.g.
``claude-fast: [claude-haiku-4-5, claude-sonnet-4-6]``. A request for the alias tries the
first model; when no key for it has room right now, or the provider is failing for it, the
next is tried at once; the last one waits and retries as any request would. Only an alias
rewrites the body (its ``model`` field); other requests are forwarded byte for byte.

A tenant's ``models`` patterns say what it may ask for (an alias, or a model); anything else
is a 403 ``permission_error``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

import orjson

from scalegate.config import Settings, TenantConfig
from scalegate.errors import PermissionError_
from scalegate.validation import MessageRequest


def allowed(tenant: TenantConfig | None, model: str) -> bool:
    if tenant is None:
        return True
    return any(p == "*" or fnmatch.fnmatchcase(model, p) for p in tenant.models)


def check_allowed(tenant: TenantConfig | None, model: str) -> None:
    if not allowed(tenant, model):
        assert tenant is not None
        raise PermissionError_(f"model: tenant {tenant.name!r} may not use {model!r}")


def candidates(settings: Settings, req: MessageRequest) -> list[MessageRequest]:
    """The requests to try, in order: the request itself, or one per alias target."""
    targets = settings.models.aliases.get(req.model)
    if not targets:
        return [req]
    out = []
    for model in targets:
        payload = {**req.payload, "model": model}
        out.append(replace(req, payload=payload, body=orjson.dumps(payload), model=model))
    return out
