"""An upstream API key as the pool sees it, and its fingerprint (the only form that leaves it)."""

from __future__ import annotations

import enum
import fnmatch
import hashlib
from dataclasses import dataclass, field, replace

from scalegate.config import KeyConfig, KeyLimits


class KeyClass(enum.StrEnum):
    SHARED = "shared"
    CRITICAL = "critical"


def fingerprint(secret: str, name: str | None = None) -> str:
    """``key-`` + the first 8 hex digits of the secret's SHA-256, plus the optional name.

    A digest prefix shares no meaningful run of characters with the secret, so it can be
    logged, exported as a metric label and shown on the dashboard.
    """
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"key-{digest}" if not name else f"key-{digest}-{name}"


@dataclass(frozen=True, slots=True, eq=False)
class UpstreamKey:
    """One entry of the pool: its own buckets, class, weight and model patterns.

    ``repr`` and ``str`` never show the secret; use :attr:`fingerprint` in anything a human
    or another system reads.
    """

    fingerprint: str
    secret: str = field(repr=False)
    key_class: KeyClass
    weight: float
    models: tuple[str, ...]
    limits: KeyLimits  # this key's own (its share of its group's, for a key in a group)
    name: str | None = None
    group: str | None = None
    share: int = 1  # keys in its group serving the same models: limits are divided by it

    @classmethod
    def from_config(cls, cfg: KeyConfig, fp: str | None = None) -> UpstreamKey:
        secret = cfg.secret.get_secret_value()
        return cls(
            fingerprint=fp or fingerprint(secret, cfg.name),
            secret=secret,
            key_class=KeyClass(cfg.key_class),
            weight=cfg.weight,
            models=cfg.models,
            limits=cfg.limits,
            name=cfg.name,
            group=cfg.group,
        )

    def serves(self, model: str) -> bool:
        return any(p == "*" or fnmatch.fnmatchcase(model, p) for p in self.models)

    def __str__(self) -> str:
        return self.fingerprint


def keys_from_config(configs: tuple[KeyConfig, ...]) -> list[UpstreamKey]:
    """Build pool entries; a secret listed twice (one entry per model class) gets distinct ids.

    Keys of one ``group`` serving the same models share the organisation's limits: each
    gets an equal share of them (``share`` = how many split them).
    """
    keys: list[UpstreamKey] = []
    seen: dict[str, int] = {}
    for cfg in configs:
        fp = fingerprint(cfg.secret.get_secret_value(), cfg.name)
        seen[fp] = seen.get(fp, 0) + 1
        if seen[fp] > 1:
            fp = f"{fp}-{seen[fp]}"
        keys.append(UpstreamKey.from_config(cfg, fp))
    sizes: dict[tuple[str, tuple[str, ...]], int] = {}
    for key in keys:
        if key.group is not None:
            slot = (key.group, key.models)
            sizes[slot] = sizes.get(slot, 0) + 1
    return [
        _shared(key, sizes[(key.group, key.models)]) if key.group is not None else key
        for key in keys
    ]


def _shared(key: UpstreamKey, share: int) -> UpstreamKey:
    if share <= 1:
        return key
    scaled = {
        name: None if value is None else max(1, value // share)
        for name, value in key.limits.model_dump().items()
    }
    return replace(key, limits=KeyLimits(**scaled), share=share)
