"""Client keys → tenants (name, tier, default and maximum priority).

Without configured tenants the gateway is open: any client key, or none, is accepted (it says
so at start and on health). With tenants, an unknown or missing client key is a 401. Keys
are looked up by their SHA-256 digest, so the comparison does not depend on how many leading
characters of a guess are right.
"""

from __future__ import annotations

import hashlib

from scalegate.config import TenantConfig
from scalegate.errors import AuthenticationError
from scalegate.priority import Priority


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class TenantDirectory:
    def __init__(self, tenants: tuple[TenantConfig, ...]) -> None:
        self.tenants = tenants
        self._by_digest = {
            _digest(secret.get_secret_value()): tenant
            for tenant in tenants
            for secret in tenant.keys
        }

    @property
    def open(self) -> bool:
        return not self.tenants

    def resolve(self, client_key: str | None) -> TenantConfig | None:
        """The tenant for ``client_key``; ``None`` on an open gateway; 401 otherwise."""
        if self.open:
            return None
        if not client_key:
            raise AuthenticationError(
                "a client key is required (x-api-key or Authorization: Bearer)"
            )
        tenant = self._by_digest.get(_digest(client_key))
        if tenant is None:
            raise AuthenticationError("invalid client key")
        return tenant


def effective_priority(tenant: TenantConfig | None, asked: Priority | None) -> Priority:
    """The tenant's default when nothing is asked; never above its ``max_priority``."""
    if tenant is None:
        return asked if asked is not None else Priority.NORMAL
    chosen = asked if asked is not None else Priority.parse(tenant.priority)
    ceiling = Priority.parse(tenant.max_priority)
    return max(chosen, ceiling)  # a larger rank is a lower priority
