"""The configuration file is a public contract: loading, ${VAR}, env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from scalegate.config import DEFAULT_KEY_LIMITS, load_settings
from scalegate.errors import ConfigError
from scalegate.priority import Priority

FULL = """
upstream:
  base_url: https://api.anthropic.com
keys:
  - secret: ${ANTHROPIC_KEY_1}
    name: primary-1
    class: critical
    weight: 2
    models: ["claude-sonnet-*"]
    limits: {rpm: 4000, rph: null, rpd: null, itpm: 2000000, otpm: 400000}
admission:
  max_wait_seconds: {critical: 30, high: 15, normal: 5, low: 1}
retry:
  max_attempts: 8
  base_seconds: 0.5
  cap_seconds: 30
cache:
  mode: off
  exact: {enabled: true, ttl_seconds: 3600, max_entries: 10000}
  semantic: {enabled: false, embedder: minilm, threshold: 0.92}
queue:
  max_attempts: 3
  worker_concurrency: 5
  min_concurrency: 1
  max_concurrency: 20
  aging_seconds: 60
tenants:
  - name: web-app
    keys: ["${CLIENT_KEY_WEB}"]
    tier: standard
    priority: normal
    max_priority: high
    cache_mode: exact
    limits: {rpm: 600, rpd: null, tpm: 200000, tpd: null}
    monthly_budget_usd: 500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scalegate.yaml"
    path.write_text(text)
    return path


def test_the_documented_file_loads(tmp_path: Path) -> None:
    env = {"ANTHROPIC_KEY_1": "sk-from-env-1", "CLIENT_KEY_WEB": "client-web"}
    s = load_settings(write(tmp_path, FULL), env)
    key = s.keys[0]
    assert key.secret.get_secret_value() == "sk-from-env-1"
    assert key.key_class == "critical"
    assert key.weight == 2
    assert key.limits.rpm == 4000
    assert s.cache.mode == "off"  # YAML's bare `off` is the word, not False
    assert s.tenants[0].keys[0].get_secret_value() == "client-web"
    assert s.admission.wait_for(Priority.LOW) == 1
    assert "sk-from-env-1" not in repr(s)  # secrets never in reprs


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "ANTHROPIC_KEY_1": "sk-1",
        "CLIENT_KEY_WEB": "c",
        "ANTHROPIC_API_KEYS": "sk-extra-a, sk-extra-b,sk-1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9999/",
        "CACHE_TTL": "60",
        "MAX_CACHE_SIZE": "7",
        "SEMANTIC_CACHE_THRESHOLD": "0.95",
        "MAX_QUEUE_CONCURRENT": "9",
        "QUEUE_MAX_ATTEMPTS": "4",
        "WORKER_CONCURRENCY": "3",
        "WORKER_AUTO_RESTART": "false",
        "METRICS_ENABLED": "false",
        "HEALTH_CHECK_INTERVAL": "10",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    s = load_settings(write(tmp_path, FULL), env)
    assert [k.secret.get_secret_value() for k in s.keys] == ["sk-1", "sk-extra-a", "sk-extra-b"]
    assert s.keys[1].limits == DEFAULT_KEY_LIMITS  # the provider's entry tier
    assert s.upstream.base_url == "http://127.0.0.1:9999"
    assert (s.cache.exact.ttl_seconds, s.cache.exact.max_entries) == (60, 7)
    assert s.cache.semantic.threshold == 0.95
    assert (s.queue.max_concurrency, s.queue.max_attempts, s.queue.worker_concurrency) == (9, 4, 3)
    assert s.queue.auto_restart is False
    assert s.metrics_enabled is False
    assert s.health_check_interval == 10
    assert s.redis_url == "redis://127.0.0.1:6379/0"


def test_keys_from_the_environment_alone() -> None:
    s = load_settings(None, {"ANTHROPIC_API_KEYS": "sk-a,sk-b"})
    assert len(s.keys) == 2
    assert not s.simulated
    assert load_settings(None, {}).simulated


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("keys: [{secret: x, limits: {rpmm: 5}}]", "keys.0.limits.rpmm: unknown field"),
        ("cache: {mode: sometimes}", "cache.mode"),
        ("keys: [{secret: x, class: vip}]", "keys.0.class"),
        ("tenants: [{name: 'a b', keys: [k]}]", "tenants.0.name"),
        ("retry: {max_attempts: 20}", "retry.max_attempts"),
        ("upstream: {base_url: ftp://x}", "upstream.base_url"),
        ("surprise: 1", "surprise: unknown field"),
        ("keys: [{secret: '${NOT_SET}'}]", "NOT_SET is not set"),
        ("- a list", "must hold a mapping"),
        ("keys: [", "not valid YAML"),
    ],
)
def test_errors_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(write(tmp_path, text), {})


def test_defaults_for_unset_variables(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "keys: [{secret: '${K:-sk-default}'}]"), {})
    assert s.keys[0].secret.get_secret_value() == "sk-default"


def test_require_keys_refuses_the_simulator() -> None:
    with pytest.raises(ConfigError, match="require_keys"):
        load_settings(None, {"SCALEGATE_REQUIRE_KEYS": "1"})
    assert load_settings(None, {"SCALEGATE_REQUIRE_KEYS": "1", "ANTHROPIC_API_KEYS": "k"})


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_settings(tmp_path / "nope.yaml", {})
