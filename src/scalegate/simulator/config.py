"""The simulator's configuration: keys and their limits, latency, fault rates, models.

A :class:`SimulatorConfig` is immutable; ``PUT /_sim/config`` builds a new one with
:func:`apply_config_update` and the simulator swaps it in. Files are YAML or JSON::

    keys:
      sk-sim-a: {rpm: 50, itpm: 30000, otpm: 8000}
      sk-sim-b: {rpm: 5}            # itpm/otpm omitted: unlimited
    accept_unknown_keys: false
    latency: {ttft_ms: 200, tokens_per_second: 80}
    faults: {error_529_rate: 0.02, overloaded_midstream_rate: 0.01,
             by_key: {sk-sim-b: {error_500_rate: 1.0}}}   # one key failing on its own
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scalegate.errors import ConfigError

# Newest first, as the provider lists them. Dated IDs also answer to their undated alias
# (``claude-haiku-4-5`` → ``claude-haiku-4-5-20251001``); undated IDs are their own name.
DEFAULT_MODELS: tuple[str, ...] = (
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-fable-5-1",
    "claude-opus-5-5",
    "claude-mythos-5-1",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-mythos-preview",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5-20251001",
    "claude-opus-4-5-20251101",
    "claude-sonnet-4-5-20250929",
)

_STRICT = ConfigDict(extra="forbid", frozen=True)


class SimKeyLimits(BaseModel):
    """Per-minute limits of one key; ``None`` means unlimited (no bucket, no header)."""

    model_config = _STRICT

    rpm: int | None = Field(default=None, gt=0)
    itpm: int | None = Field(default=None, gt=0)
    otpm: int | None = Field(default=None, gt=0)


class LatencyConfig(BaseModel):
    """Time to first token and generation speed; zeros mean instant answers."""

    model_config = _STRICT

    ttft_ms: float = Field(default=0, ge=0)
    tokens_per_second: float = Field(default=0, ge=0)


class KeyFaultRates(BaseModel):
    """Fault rates for one key that replace the shared ones (``None``: the shared rate)."""

    model_config = _STRICT

    error_500_rate: float | None = Field(default=None, ge=0, le=1)
    error_529_rate: float | None = Field(default=None, ge=0, le=1)
    error_429_rate: float | None = Field(default=None, ge=0, le=1)
    overloaded_midstream_rate: float | None = Field(default=None, ge=0, le=1)
    overloaded_first_rate: float | None = Field(default=None, ge=0, le=1)
    drop_connection_rate: float | None = Field(default=None, ge=0, le=1)
    slow_stream_rate: float | None = Field(default=None, ge=0, le=1)


class FaultConfig(BaseModel):
    """Probabilities (0–1) of injected faults, rolled per request with the seeded RNG.

    ``by_key`` overrides rates for single keys (a key that fails while the others do not).
    """

    model_config = _STRICT

    error_500_rate: float = Field(default=0, ge=0, le=1)
    error_529_rate: float = Field(default=0, ge=0, le=1)
    error_429_rate: float = Field(default=0, ge=0, le=1)
    overloaded_midstream_rate: float = Field(default=0, ge=0, le=1)
    overloaded_first_rate: float = Field(default=0, ge=0, le=1)
    drop_connection_rate: float = Field(default=0, ge=0, le=1)
    slow_stream_rate: float = Field(default=0, ge=0, le=1)
    injected_retry_after_seconds: int = Field(default=1, ge=0)
    slow_stream_factor: float = Field(default=10, ge=1)
    by_key: dict[str, KeyFaultRates] = Field(default_factory=dict)

    def for_key(self, key: str | None) -> FaultConfig:
        """The rates a request with ``key`` is rolled against."""
        override = self.by_key.get(key) if key is not None else None
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class SimulatorConfig(BaseModel):
    """Everything the simulated provider needs; built in code or by ``load_simulator_config``."""

    model_config = _STRICT

    keys: dict[str, SimKeyLimits] = Field(default_factory=dict)
    accept_unknown_keys: bool = False
    default_limits: SimKeyLimits = SimKeyLimits(rpm=50, itpm=30_000, otpm=8_000)
    latency: LatencyConfig = LatencyConfig()
    faults: FaultConfig = FaultConfig()
    seed: int = 0
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS), min_length=1)
    max_hold_seconds: float = Field(default=30, gt=0)
    #: Keep the last N requests to ``/v1/…`` byte for byte (``GET /_sim/requests``); 0 = off.
    record_requests: int = Field(default=0, ge=0)
    #: How output is charged up front against OTPM (adjusted to the real count at the end,
    #: as the provider documents): "capped" — min(max_tokens, the OTPM limit), so a
    #: max_tokens above the limit is admitted on a full bucket; "max_tokens" — all of it,
    #: so such a request can never be admitted. The provider does not document which; see
    #: docs/provider-quotas.md.
    output_estimate: Literal["capped", "max_tokens"] = "capped"

    def limits_for(self, key: str) -> SimKeyLimits | None:
        """The limits of ``key``, ``default_limits`` for an accepted unknown key, else None."""
        limits = self.keys.get(key)
        if limits is None and self.accept_unknown_keys:
            return self.default_limits
        return limits


#: Top-level fields ``PUT /_sim/config`` may change while the simulator runs.
UPDATABLE_FIELDS = frozenset({"latency", "faults", "keys", "accept_unknown_keys"})


def apply_config_update(config: SimulatorConfig, update: Any) -> SimulatorConfig:
    """A new config with ``update`` (a partial JSON object) merged into ``config``.

    ``latency`` and ``faults`` merge field by field; ``keys`` merges key by key, and a key's
    limits merge field by field (``null`` for a whole key removes it). Raises ``ValueError``
    with a readable message for unknown or read-only fields and invalid values.
    """
    if not isinstance(update, dict):
        raise ValueError("config update must be a JSON object")
    read_only = sorted(set(update) - UPDATABLE_FIELDS)
    if read_only:
        raise ValueError(
            f"cannot change {', '.join(read_only)} at runtime; "
            f"updatable fields: {', '.join(sorted(UPDATABLE_FIELDS))}"
        )
    merged = config.model_dump()
    for section in ("latency", "faults"):
        if section in update:
            patch = update[section]
            if not isinstance(patch, dict):
                raise ValueError(f"{section}: must be an object")
            merged[section] = {**merged[section], **patch}
    if "keys" in update:
        merged["keys"] = _merge_keys(merged["keys"], update["keys"])
    if "accept_unknown_keys" in update:
        merged["accept_unknown_keys"] = update["accept_unknown_keys"]
    try:
        return SimulatorConfig.model_validate(merged)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from exc


def _merge_keys(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise ValueError("keys: must be an object of key → limits")
    keys = dict(current)
    for secret, limits in patch.items():
        if limits is None:
            keys.pop(secret, None)
        elif isinstance(limits, dict):
            keys[secret] = {**keys.get(secret, {}), **limits}
        else:
            raise ValueError("keys: each key's limits must be an object or null")
    return keys


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "config"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def load_simulator_config(path: str | None) -> SimulatorConfig:
    """Read a YAML or JSON config file; ``None`` gives the defaults.

    Raises :class:`scalegate.errors.ConfigError` naming the file and the offending field.
    Note the defaults configure no keys and refuse unknown ones: set ``keys`` or
    ``accept_unknown_keys: true``.
    """
    if path is None:
        return SimulatorConfig()
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read simulator config: {exc.strerror}") from exc
    try:
        data = orjson.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {file.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    if data is None:
        return SimulatorConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the simulator config must be a mapping")
    try:
        return SimulatorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from exc
