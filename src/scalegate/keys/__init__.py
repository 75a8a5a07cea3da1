"""The key pool: quotas, selection, reservation, outlier ejection, header sync and alerts."""

from scalegate.keys.alerts import AlertTracker, QuotaAlert
from scalegate.keys.breaker import BreakerState, CircuitBreaker
from scalegate.keys.lease import Lease, Outcome, Usage
from scalegate.keys.memory_store import MemoryKeyStore
from scalegate.keys.model import KeyClass, UpstreamKey, fingerprint, keys_from_config
from scalegate.keys.outliers import KeyHealth, OutlierDetector
from scalegate.keys.pool import KeyPool
from scalegate.keys.store import Demand, KeyStatus, KeyStore

__all__ = [
    "AlertTracker",
    "BreakerState",
    "CircuitBreaker",
    "Demand",
    "KeyClass",
    "KeyHealth",
    "KeyPool",
    "KeyStatus",
    "KeyStore",
    "Lease",
    "MemoryKeyStore",
    "Outcome",
    "OutlierDetector",
    "QuotaAlert",
    "UpstreamKey",
    "Usage",
    "fingerprint",
    "keys_from_config",
]
