"""Client keys → tenants (name, tier, default and maximum priority).

Without configured tenants the gateway is open: any client key, or none, is accepted (it says
so at start and on health). With tenants, an unknown or missing client key is a 401. Keys
are looked up by their SHA-256 digest, so the comparison does not depend on how many leading
characters of a guess are right.
"""

from __future__ import annotations

import hashlib

from scalegate.config import TenantConfig
from scalegate.errors import AuthenticationError, PermissionError_
from scalegate.principal import Principal, mint
from scalegate.priority import Priority


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class TenantDirectory:
    def __init__(self, tenants: tuple[TenantConfig, ...]) -> None:
        self.tenants = tenants
        self._by_digest = {
            _digest(secret.get_secret_value()): mint(tenant)
            for tenant in tenants
            for secret in tenant.keys
        }
        self._by_name = {p.name: p for p in self._by_digest.values()}
        for tenant in tenants:  # a tenant without keys still runs its stored jobs
            self._by_name.setdefault(tenant.name, mint(tenant))
        self._open = mint(None) if not tenants else None

    @property
    def open(self) -> bool:
        return not self.tenants

    def resolve(self, client_key: str | None) -> TenantConfig | None:
        """The tenant for ``client_key``; ``None`` on an open gateway; 401 otherwise."""
        return self.principal(client_key).tenant

    def principal(self, client_key: str | None) -> Principal:
        """The principal an HTTP client key stands for (the open gateway when no tenants
        are configured); 401 for a missing or unknown key otherwise."""
        if self._open is not None:
            return self._open
        if not client_key:
            raise AuthenticationError(
                "a client key is required (x-api-key or Authorization: Bearer)"
            )
        found = self._by_digest.get(_digest(client_key))
        if found is None:
            raise AuthenticationError("invalid client key")
        return found

    def named(self, tenant: str | None) -> Principal:
        """The principal a stored job, batch request, warm item or library call names.

        ``None`` is the open gateway, which exists only while no tenants are configured;
        with tenants, a call must name one (403), and the name must still be configured
        (403: a job whose tenant was removed does not run with nobody's limits).
        """
        if self._open is not None:
            if tenant is not None:
                raise PermissionError_(f"tenant {tenant!r} is not configured (open gateway)")
            return self._open
        if tenant is None:
            raise PermissionError_("tenants are configured: this call must name its tenant")
        found = self._by_name.get(tenant)
        if found is None:
            raise PermissionError_(f"tenant {tenant!r} is not configured")
        return found


def effective_priority(tenant: TenantConfig | None, asked: Priority | None) -> Priority:
    """The tenant's default when nothing is asked; never above its ``max_priority``."""
    if tenant is None:
        return asked if asked is not None else Priority.NORMAL
    chosen = asked if asked is not None else Priority.parse(tenant.priority)
    ceiling = Priority.parse(tenant.max_priority)
    return max(chosen, ceiling)  # a larger rank is a lower priority
