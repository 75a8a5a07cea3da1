"""scalegate: an AI scaling gateway — many provider keys behind one Anthropic-compatible endpoint.

The public API is what ``__all__`` lists; everything else may change between releases.
Names are imported on first use, so ``import scalegate.simulator`` (which must stay
independent of the gateway's estimator and key pool) loads none of the gateway.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scalegate.app import create_app
    from scalegate.cache import (
        ExactCache,
        MiniLMEmbedder,
        SemanticCache,
        with_cache,
        with_semantic_cache,
    )
    from scalegate.clock import Clock, ManualClock, SystemClock
    from scalegate.config import Settings, load_settings
    from scalegate.errors import (
        ConfigError,
        OverloadedError,
        ProviderError,
        RateLimitError,
        ScalegateError,
    )
    from scalegate.gateway import Gateway
    from scalegate.jobs import Job, JobQueue, JobState, WorkerPool
    from scalegate.keys import (
        Demand,
        KeyPool,
        Lease,
        Outcome,
        UpstreamKey,
        Usage,
        fingerprint,
        keys_from_config,
    )
    from scalegate.pipeline import Pipeline
    from scalegate.priority import Priority

_EXPORTS = {
    "create_app": "scalegate.app",
    "ExactCache": "scalegate.cache",
    "MiniLMEmbedder": "scalegate.cache",
    "SemanticCache": "scalegate.cache",
    "with_cache": "scalegate.cache",
    "with_semantic_cache": "scalegate.cache",
    "Clock": "scalegate.clock",
    "ManualClock": "scalegate.clock",
    "SystemClock": "scalegate.clock",
    "Settings": "scalegate.config",
    "load_settings": "scalegate.config",
    "ConfigError": "scalegate.errors",
    "OverloadedError": "scalegate.errors",
    "ProviderError": "scalegate.errors",
    "RateLimitError": "scalegate.errors",
    "ScalegateError": "scalegate.errors",
    "Gateway": "scalegate.gateway",
    "Job": "scalegate.jobs",
    "JobQueue": "scalegate.jobs",
    "JobState": "scalegate.jobs",
    "WorkerPool": "scalegate.jobs",
    "Demand": "scalegate.keys",
    "KeyPool": "scalegate.keys",
    "Lease": "scalegate.keys",
    "Outcome": "scalegate.keys",
    "UpstreamKey": "scalegate.keys",
    "Usage": "scalegate.keys",
    "fingerprint": "scalegate.keys",
    "keys_from_config": "scalegate.keys",
    "Pipeline": "scalegate.pipeline",
    "Priority": "scalegate.priority",
}

__all__ = [
    "Clock",
    "ConfigError",
    "Demand",
    "ExactCache",
    "Gateway",
    "Job",
    "JobQueue",
    "JobState",
    "KeyPool",
    "Lease",
    "ManualClock",
    "MiniLMEmbedder",
    "Outcome",
    "OverloadedError",
    "Pipeline",
    "Priority",
    "ProviderError",
    "RateLimitError",
    "ScalegateError",
    "SemanticCache",
    "Settings",
    "SystemClock",
    "UpstreamKey",
    "Usage",
    "WorkerPool",
    "create_app",
    "fingerprint",
    "keys_from_config",
    "load_settings",
    "with_cache",
    "with_semantic_cache",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scalegate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
