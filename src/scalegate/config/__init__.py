"""Settings: one typed, frozen object built from a YAML file and environment variables.

:mod:`scalegate.config.schema` holds the sections (the file format is a public contract,
DESIGN §10); :mod:`scalegate.config.load` turns a file and the environment into
:class:`Settings` (``${VAR}`` expansion, the original design's environment variables as
overrides, errors naming the offending field's path).
"""

from scalegate.config.load import EnvOverrides, expand_vars, load_settings
from scalegate.config.schema import (
    DEFAULT_BASE_URL,
    DEFAULT_KEY_LIMITS,
    DEFAULT_PRICES,
    AdmissionConfig,
    AlertsConfig,
    BreakerConfig,
    CacheConfig,
    DemoConfig,
    ExactCacheConfig,
    KeyConfig,
    KeyLimits,
    ModelPrice,
    ModelsConfig,
    MonitoringConfig,
    PriorityWaits,
    QueueConfig,
    RetryConfig,
    SemanticCacheConfig,
    ServerConfig,
    Settings,
    SharedConfig,
    TenantConfig,
    TenantLimits,
    UpstreamConfig,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_KEY_LIMITS",
    "DEFAULT_PRICES",
    "AdmissionConfig",
    "AlertsConfig",
    "BreakerConfig",
    "CacheConfig",
    "DemoConfig",
    "EnvOverrides",
    "ExactCacheConfig",
    "KeyConfig",
    "KeyLimits",
    "ModelPrice",
    "ModelsConfig",
    "MonitoringConfig",
    "PriorityWaits",
    "QueueConfig",
    "RetryConfig",
    "SemanticCacheConfig",
    "ServerConfig",
    "Settings",
    "SharedConfig",
    "TenantConfig",
    "TenantLimits",
    "UpstreamConfig",
    "expand_vars",
    "load_settings",
]
