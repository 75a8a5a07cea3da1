"""deploy/monitoring: the alert rules and Grafana dashboards agree with the gateway.

* ``promtool check rules`` and ``promtool test rules`` (Debian's ``prometheus`` package,
  installed by scripts/extras-observe.sh) pass, and every alert has a case where it fires and
  one where it stays quiet;
* every metric a rule, a dashboard or an autoscaler names is defined in
  :mod:`scalegate.observe.metrics` and has a sample in a live gateway's scrape after
  representative traffic (an embedded gateway driven through every path, plus a shared-mode
  one for the Redis metrics).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scalegate.config import Settings
from scalegate.observe.metrics import BY_NAME
from scalegate.simulator import SimulatorConfig, SimulatorThread
from tests.conftest import KEY_A, gateway_settings, sim_config
from tests.helpers import messages_body
from tests.servers import ServerThread
from tests.test_metrics import LIMITS, Samples, post, scrape
from tests.test_metrics_secrets import drive_every_path, every_path_gateway
from tests.test_metrics_webhook import Receiver

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "rules" / "scalegate.yml"
RULE_TESTS = MONITORING / "tests" / "scalegate-rules.test.yml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
AUTOSCALING = [
    ROOT / "deploy" / "k8s" / "monitoring" / "prometheus-adapter-values.yaml",
    ROOT / "deploy" / "k8s" / "keda" / "scaledobject.yaml",
]
_SUFFIXES = ("_bucket", "_count", "_sum")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: run `bash scripts/extras-observe.sh` (make test does)"
        )
    return found


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def expressions() -> dict[str, list[str]]:
    """Every PromQL expression of the rules, dashboards and autoscalers, by file."""
    out: dict[str, list[str]] = {str(RULES.relative_to(ROOT)): [r["expr"] for r in alert_rules()]}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        out[str(path.relative_to(ROOT))] = [
            t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])
        ]
    for path in AUTOSCALING:
        out[str(path.relative_to(ROOT))] = re.findall(r"scalegate_[a-z_]+", path.read_text())
    return out


def named_samples(expr: str) -> set[str]:
    """The sample names an expression reads (``_bucket`` of a histogram kept as such)."""
    return set(re.findall(r"\bscalegate_[a-z0-9_]+", expr)) - {"scalegate_requests_per_second"}


def family(sample: str) -> str:
    for suffix in _SUFFIXES:
        base = sample.removesuffix(suffix)
        if base != sample and base in BY_NAME and BY_NAME[base].kind in ("histogram", "summary"):
            return base
    return sample


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    checked = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout
    tested = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())
    assert cases["rule_files"] == ["../rules/scalegate.yml"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for group in cases["tests"]:
        for check in group.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {r["alert"] for r in alert_rules()}
    assert len(names) >= 14
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a quiet case"
    assert firing | quiet <= names, "test cases for alerts that do not exist"
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_issue_s_alerts_are_all_there() -> None:
    exprs = {r["alert"]: r["expr"] for r in alert_rules()}
    wanted = {
        "quota exhaustion forecast": "scalegate_key_exhaustion_seconds",
        "error rate": 'status=~"5.."',
        "p95 latency": "histogram_quantile(0.95",
        "breaker open": "scalegate_key_breaker_state",
        "dead letters growing": 'scalegate_queue_jobs{state="dead"}',
        "queue backlog": "scalegate_queue_depth",
        "Redis down": "scalegate_redis_up",
    }
    for what, fragment in wanted.items():
        assert any(fragment in e for e in exprs.values()), what


def test_dashboards_are_one_per_area_and_importable() -> None:
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        assert dashboard["schemaVersion"] >= 36
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in dashboard["panels"]:
            assert panel["targets"], (path.name, panel["title"])
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (path.name, panel["title"])
    assert uids == {"scalegate-traffic", "scalegate-keys", "scalegate-cache", "scalegate-queue"}


def test_every_named_metric_is_defined() -> None:
    for where, exprs in expressions().items():
        for expr in exprs:
            for sample in named_samples(expr):
                assert family(sample) in BY_NAME, (where, sample)


@pytest.mark.slow
def test_every_named_metric_has_a_sample_after_representative_traffic(
    start_sim: Callable[[SimulatorConfig], SimulatorThread],
    start_gateway: Callable[[Settings], ServerThread],
    redis_url: str,
) -> None:
    hook = Receiver([200])
    hook.thread.start()
    try:
        gw, sim = every_path_gateway(start_sim, start_gateway, hook.url)
        drive_every_path(gw, sim)
        samples: Samples = scrape(gw.url)
    finally:
        hook.close()
    # Shared mode adds the Redis metrics.
    sim2 = start_sim(sim_config({KEY_A: LIMITS}))
    shared = start_gateway(
        gateway_settings(sim2.url, [{"secret": KEY_A, "limits": LIMITS}], redis_url=redis_url)
    )
    assert post(shared.url, messages_body()).status == 200
    for name, values in scrape(shared.url).items():
        samples.setdefault(name, []).extend(values)

    missing = {
        (where, sample)
        for where, exprs in expressions().items()
        for expr in exprs
        for sample in named_samples(expr)
        if not samples.get(sample)
    }
    assert not missing, sorted(missing)
    # And the gateway exports nothing undeclared.
    exported = {family(name) for name in samples if name.startswith("scalegate_")}
    assert exported <= set(BY_NAME), exported - set(BY_NAME)
