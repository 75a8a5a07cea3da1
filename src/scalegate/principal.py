"""Who a call is for: a configured tenant, or the open gateway.

A :class:`Principal` is resolved once, at the door — from the client key of an HTTP request,
from the tenant name stored on a job or a batch request, from the name on a cache-warming
item or a library call — and travels with the call to :meth:`Pipeline.serve
<scalegate.pipeline.Pipeline.serve>`, where the tenant's rules are applied for every entry
point alike (allowed models, priority ceiling, limits, budget, cache mode and namespace).

It is a type, not a convention: the pipeline takes only a ``Principal``, and only a
:class:`~scalegate.tenants.TenantDirectory` makes one. A directory with tenants configured
never makes the open-gateway principal, so a call that names no tenant cannot reach the
pipeline once tenants exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from scalegate.config import TenantConfig

_MINT: Final = object()  # only the directory holds it (see TenantDirectory)


class Principal:
    """A resolved caller: ``tenant`` is its configuration, ``None`` on an open gateway."""

    __slots__ = ("is_open", "name", "tenant")

    def __init__(self, tenant: TenantConfig | None, *, _mint: object = None) -> None:
        if _mint is not _MINT:
            raise TypeError("a Principal comes from TenantDirectory, not from its constructor")
        self.tenant: Final = tenant
        self.name: Final = tenant.name if tenant is not None else None  # None: open gateway
        self.is_open: Final = tenant is None

    def __repr__(self) -> str:
        return f"Principal({self.name or 'open gateway'})"


def mint(tenant: TenantConfig | None) -> Principal:
    """For :class:`~scalegate.tenants.TenantDirectory` only."""
    return Principal(tenant, _mint=_MINT)
