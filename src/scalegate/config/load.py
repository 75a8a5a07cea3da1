"""Loading settings: a YAML file, ``${VAR}`` expansion, and the environment's overrides.

:func:`load_settings` is the only entry point; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from scalegate.config.schema import Settings
from scalegate.errors import ConfigError


class EnvOverrides(BaseSettings):
    """The flat environment variables of the original design; each overrides the file."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    ANTHROPIC_API_KEYS: str | None = None
    ANTHROPIC_BASE_URL: str | None = None
    REDIS_URL: str | None = None
    SCALEGATE_ADMIN_TOKEN: str | None = None
    SCALEGATE_PUBLIC_URL: str | None = None
    SCALEGATE_REQUIRE_KEYS: bool | None = None
    CACHE_TTL: float | None = None
    MAX_CACHE_SIZE: int | None = None
    SEMANTIC_CACHE_THRESHOLD: float | None = None
    MAX_QUEUE_CONCURRENT: int | None = None
    QUEUE_MAX_ATTEMPTS: int | None = None
    WORKER_CONCURRENCY: int | None = None
    WORKER_AUTO_RESTART: bool | None = None
    SCALEGATE_CALLBACK_SECRET: str | None = None
    METRICS_ENABLED: bool | None = None
    HEALTH_CHECK_INTERVAL: float | None = None


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_vars(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string of a parsed YAML tree."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigError(f"environment variable {name} is not set (named as ${{{name}}})")

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [expand_vars(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: expand_vars(v, environ) for k, v in value.items()}
    return value


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None else child
            node[part] = child
        node = child
    node[leaf] = value


_ENV_PATHS = {
    "ANTHROPIC_BASE_URL": "upstream.base_url",
    "REDIS_URL": "redis_url",
    "SCALEGATE_ADMIN_TOKEN": "admin_token",
    "SCALEGATE_PUBLIC_URL": "server.public_url",
    "SCALEGATE_REQUIRE_KEYS": "upstream.require_keys",
    "CACHE_TTL": "cache.exact.ttl_seconds",
    "MAX_CACHE_SIZE": "cache.exact.max_entries",
    "SEMANTIC_CACHE_THRESHOLD": "cache.semantic.threshold",
    "MAX_QUEUE_CONCURRENT": "queue.max_concurrency",
    "QUEUE_MAX_ATTEMPTS": "queue.max_attempts",
    "WORKER_CONCURRENCY": "queue.worker_concurrency",
    "WORKER_AUTO_RESTART": "queue.auto_restart",
    "SCALEGATE_CALLBACK_SECRET": "queue.callback_secret",
    "METRICS_ENABLED": "metrics_enabled",
    "HEALTH_CHECK_INTERVAL": "health_check_interval",
}


def _read_file(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping at the top level")
    expanded: dict[str, Any] = expand_vars(raw, environ)
    return expanded


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{loc}: {msg}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from ``path`` (or ``SCALEGATE_CONFIG``), then the environment.

    ``overrides`` are dotted paths applied last (the CLI's flags), e.g.
    ``load_settings(None, {}, **{"upstream.base_url": "http://127.0.0.1:9000"})``.
    Raises :class:`ConfigError` with every invalid field's path.
    """
    env = dict(os.environ if environ is None else environ)
    file = path or env.get("SCALEGATE_CONFIG")
    tree: dict[str, Any] = _read_file(Path(file), env) if file else {}
    try:
        flat = EnvOverrides.model_validate(
            {k: v for k, v in env.items() if k in EnvOverrides.model_fields}
        )
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    for name, dotted in _ENV_PATHS.items():
        value = getattr(flat, name)
        if value is not None:
            _set(tree, dotted, value)
    if flat.ANTHROPIC_API_KEYS:
        keys = list(tree.get("keys") or [])
        known = {str(k.get("secret")) for k in keys if isinstance(k, dict)}
        for secret in (s.strip() for s in flat.ANTHROPIC_API_KEYS.split(",")):
            if secret and secret not in known:
                keys.append({"secret": secret})
                known.add(secret)
        tree["keys"] = keys
    for dotted, value in overrides.items():
        _set(tree, dotted, value)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
