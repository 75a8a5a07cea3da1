"""The key pool: quotas, selection, reservation, breaker, header sync and alerts."""

from scalegate.keys.alerts import AlertTracker, QuotaAlert
from scalegate.keys.breaker import BreakerState, CircuitBreaker
from scalegate.keys.model import KeyClass, UpstreamKey, fingerprint, keys_from_config
from scalegate.keys.pool import KeyPool, Lease, Outcome, Usage
from scalegate.keys.quota import Demand, MemoryQuotaStore, QuotaStore

__all__ = [
    "AlertTracker",
    "BreakerState",
    "CircuitBreaker",
    "Demand",
    "KeyClass",
    "KeyPool",
    "Lease",
    "MemoryQuotaStore",
    "Outcome",
    "QuotaAlert",
    "QuotaStore",
    "UpstreamKey",
    "Usage",
    "fingerprint",
    "keys_from_config",
]
