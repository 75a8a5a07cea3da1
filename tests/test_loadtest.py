"""loadtesting/: the Locust file, the k6 script, the runner and its summary — fast checks.

The end-to-end run of both tools is tests/test_loadtest_smoke.py. Here: the scenarios each
tool would run (Locust's own `--list`, `k6 inspect`), the stress shape's steps, the
summary's arithmetic and failure detection, the configs the runner generates, and the shell
scripts under shellcheck. Locust is only ever imported in a subprocess: it monkey-patches
the standard library with gevent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from scalegate.config import load_settings
from scalegate.simulator import load_simulator_config

ROOT = Path(__file__).resolve().parent.parent
LT = ROOT / "loadtesting"
BIN = Path(sys.executable).parent
USER_CLASSES = ["ChatUser", "PremiumUser", "BackgroundUser", "RepeatAsker", "BatchSubmitter"]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/extras-deploy.sh (make test does)")
    return found


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LT_", "SIM_"))}
    base["K6_NO_USAGE_REPORT"] = "true"
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**base, **(env or {})},
    )


def helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loadtest_helper", LT / "loadtest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Locust -------------------------------------------------------------------------------------


def test_locustfile_defines_every_user_class() -> None:
    result = run(tool("locust"), "-f", str(LT / "locustfile.py"), "--list")
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.splitlines()[1:] if line.strip()]
    assert listed == USER_CLASSES


def test_a_zero_weight_removes_a_locust_class() -> None:
    result = run(
        tool("locust"), "-f", str(LT / "locustfile.py"), "--list", env={"LT_WEIGHT_BATCH": "0"}
    )
    assert result.returncode == 0, result.stderr
    assert "BatchSubmitter" not in result.stdout
    assert "ChatUser" in result.stdout


def test_stress_shape_steps_up_and_stops_after_saturation() -> None:
    """Drive StressShape.tick() with a fake clock and a tally that saturates at step 3."""
    script = textwrap.dedent(
        """
        import json, sys
        import locust  # noqa: F401 - gevent's monkey patching first, as locust itself does
        sys.path.insert(0, sys.argv[1])
        import locustfile as lf
        from collections import Counter
        shape = lf.StressShape()
        clock = [0.0]
        shape.get_run_time = lambda: clock[0]
        out = []
        for second in range(0, 200, 10):
            clock[0] = float(second)
            tick = shape.tick()
            out.append(tick)
            step = lf.TALLY.step
            # 20 requests per step; from step 3 on, 5 of them are shed (25 % > 5 %).
            lf.TALLY.steps[step] = Counter(ok=15 if step >= 3 else 20, shed=5 if step >= 3 else 0)
            if tick is None:
                break
        report = lf._stress_report(lf.TALLY.steps)
        print(json.dumps({"ticks": out, "saturation": report["saturation"]}))
        """
    )
    env = {
        "LT_SHAPE": "stress",
        "LT_STRESS_START_USERS": "4",
        "LT_STRESS_STEP_USERS": "6",
        "LT_STRESS_STEP_SECONDS": "20",
        "LT_STRESS_MAX_USERS": "100",
        "LT_STRESS_SPAWN_RATE": "3",
        "LT_STRESS_STOP_AT_SATURATION": "1",
    }
    result = run(sys.executable, "-c", script, str(LT), env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    ticks = data["ticks"]
    users = [t[0] for t in ticks if t is not None]
    # Two ticks per 20 s step: 4, 4, 10, 10, 16, 16, 22, 22, 28, 28 (step 4), then stop: the
    # first saturated step is 3, and the shape runs one full step after it.
    assert users == [4, 4, 10, 10, 16, 16, 22, 22, 28, 28]
    assert ticks[-1] is None
    assert all(t is None or t[1] == 3.0 for t in ticks)
    assert data["saturation"]["users"] == 22


def test_stress_shape_only_with_lt_shape() -> None:
    script = "import locust, sys; sys.path.insert(0, sys.argv[1]); import locustfile as lf; "
    script += "print(hasattr(lf, 'StressShape'))"
    assert run(sys.executable, "-c", script, str(LT)).stdout.strip() == "False"
    bad = run(sys.executable, "-c", script, str(LT), env={"LT_SHAPE": "spike"})
    assert bad.returncode != 0
    assert "the only shape is 'stress'" in bad.stderr


# -- k6 -----------------------------------------------------------------------------------------


def k6_inspect(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # `k6 inspect` does not read the process environment into __ENV (`k6 run` does): -e.
    flags = [f"-e={name}={value}" for name, value in env.items()]
    return run(tool("k6"), "inspect", *flags, str(LT / "k6-test.js"))


def k6_options(**env: str) -> dict[str, Any]:
    result = k6_inspect(env)
    assert result.returncode == 0, result.stdout + result.stderr
    options: dict[str, Any] = json.loads(result.stdout)
    return options


def test_k6_scenarios_and_thresholds() -> None:
    options = k6_options(LT_K6_VUS="12", LT_K6_DURATION="20s", LT_P95_MS="1500")
    scenarios = options["scenarios"]
    assert set(scenarios) == {"chat", "premium", "background", "repeat", "batch"}
    for name, scenario in scenarios.items():
        assert scenario["executor"] == "constant-vus"
        assert scenario["exec"] == name
        assert scenario["duration"] == "20s"
    # 12 VUs split 6:2:1:2:1 (the same weights as the Locust classes).
    assert {n: s["vus"] for n, s in scenarios.items()} == {
        "chat": 6,
        "premium": 2,
        "background": 1,
        "repeat": 2,
        "batch": 1,
    }
    assert options["thresholds"] == {
        "sg_latency": ["p(95)<1500"],
        "sg_error_rate": ["rate<0.01"],
    }


def test_k6_weights_and_stress_shape() -> None:
    options = k6_options(LT_WEIGHT_BATCH="0", LT_WEIGHT_REPEAT="0")
    assert set(options["scenarios"]) == {"chat", "premium", "background"}
    stress = k6_options(
        LT_SHAPE="stress",
        LT_K6_STRESS_START_RATE="2",
        LT_K6_STRESS_MAX_RATE="20",
        LT_K6_STRESS_STAGES="3",
        LT_K6_STRESS_STAGE_SECONDS="10",
    )["scenarios"]
    assert list(stress) == ["stress"]
    assert stress["stress"]["executor"] == "ramping-arrival-rate"
    assert [s["target"] for s in stress["stress"]["stages"]] == [8, 14, 20]


def test_k6_refuses_an_unknown_shape() -> None:
    result = k6_inspect({"LT_SHAPE": "spike"})
    assert result.returncode != 0
    assert "the only shape is 'stress'" in result.stdout + result.stderr


# -- the runner ---------------------------------------------------------------------------------


def test_scripts_pass_shellcheck() -> None:
    result = run(
        tool("shellcheck"),
        str(LT / "run-loadtest.sh"),
        str(ROOT / "scripts" / "extras-deploy.sh"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_profile_is_a_usage_error() -> None:
    result = run("bash", str(LT / "run-loadtest.sh"), "no-such-profile", timeout=30)
    assert result.returncode == 2
    assert "unknown profile 'no-such-profile'" in result.stderr
    assert "smoke" in result.stderr


@pytest.mark.parametrize("profile", sorted(p.stem for p in (LT / "profiles").glob("*.env")))
def test_profiles_set_their_thresholds_and_bounds(profile: str) -> None:
    script = f"source {LT / 'profiles' / profile}.env; "
    script += 'echo "$LT_P95_MS $LT_MAX_ERROR_RATE $LT_TOOL_TIMEOUT"'
    result = run("bash", "-c", script)
    p95, error_rate, bound = result.stdout.split()
    assert float(p95) > 0
    assert 0 < float(error_rate) < 1
    assert 0 < int(bound) <= 600, "every tool run is bounded in time"


def test_generated_configs_load_and_agree(tmp_path: Path) -> None:
    lt = helper()
    env = {
        "SIM_URL": "http://127.0.0.1:1",
        "GATEWAY_URL": "http://127.0.0.1:2",
        "SIM_SHARED_KEYS": "3",
        "SIM_CRITICAL_KEYS": "1",
        "SIM_RPM": "120",
        "SIM_TTFT_MS": "50",
        "LT_PROFILE": "unit",
        "LT_TOOLS": "k6",
    }
    made = lt.make_configs(tmp_path, env)
    settings = load_settings(tmp_path / "gateway.yaml", environ={})
    sim = load_simulator_config(str(tmp_path / "simulator.yaml"))
    assert settings.upstream.base_url == "http://127.0.0.1:1"
    assert [k.key_class for k in settings.keys] == ["shared"] * 3 + ["critical"]
    for key in settings.keys:
        limits = sim.keys[key.secret.get_secret_value()]
        assert limits.rpm == key.limits.rpm == 120
        assert limits.itpm == key.limits.itpm
    assert sim.latency.ttft_ms == 50
    assert not sim.accept_unknown_keys
    run_doc = json.loads((tmp_path / "run.json").read_text())
    assert run_doc["tools"] == ["k6"]
    assert run_doc["profile"] == "unit"
    assert made["keys"][0]["secret"].startswith("sk-sim-lt-shared-1-")
    with pytest.raises(SystemExit, match="unknown tool"):
        lt.make_configs(tmp_path, {**env, "LT_TOOLS": "jmeter"})


# -- the summary's arithmetic -------------------------------------------------------------------


def snapshot(requests: int, ok: int, quota_429: int = 0, key: str = "sk-1") -> dict[str, Any]:
    counters = {
        "requests": requests,
        "accepted": ok,
        "input_tokens": 10 * ok,
        "output_tokens": 40 * ok,
        "quota_429": quota_429,
        "status_counts": {"200": ok, **({"429": quota_429} if quota_429 else {})},
        "injected": {},
        "in_flight": 0,
    }
    return {"keys": {key: counters}, "totals": counters}


def tally(total: int, attempts: int, upstream_ok: int, **extra: Any) -> dict[str, Any]:
    messages = {
        "total": total,
        "ok": upstream_ok,
        "upstream_ok": upstream_ok,
        "attempts": attempts,
        "errors": extra.pop("errors", 0),
        "asked_cache": 0,
        "cache": {"bypass": upstream_ok},
        "shed": extra.pop("shed", {}),
        "status": {"200": upstream_ok},
        "latency_ms": {"count": upstream_ok, "p50": 100.0, "p95": extra.pop("p95", 200.0)},
        "ttft_ms": {"count": 0},
    }
    return {"duration_s": 10.0, "messages": messages, "jobs": extra.pop("jobs", {})}


KEYS = [{"name": "shared-1", "class": "shared", "secret": "sk-1", "limits": {"rpm": 600}}]
THRESHOLDS = {"p95_ms": 1000.0, "max_error_rate": 0.01}


def test_summary_passes_when_every_total_agrees() -> None:
    lt = helper()
    before, after = snapshot(5, 5), snapshot(5 + 103, 5 + 100, quota_429=3)
    report = lt.tool_report(
        "k6", tally(104, 103, 100, shed={"low": 4}), before, after, KEYS, THRESHOLDS, 0
    )
    assert report["failures"] == []
    assert report["sim_requests"] == 103
    assert report["sim_200"] == 100
    assert report["sim_quota_429"] == 3
    assert report["shed"] == {"critical": 0, "high": 0, "normal": 0, "low": 4}
    # 100 requests over 10 s on a 600 rpm key: 600 per minute, 100 % of the limit.
    assert report["utilisation"]["shared-1"]["rpm"] == pytest.approx(1.0)


def test_summary_fails_on_a_mismatch_a_slow_p95_errors_or_a_bad_exit() -> None:
    lt = helper()
    before = snapshot(0, 0)
    off_by_one = lt.tool_report(
        "k6", tally(100, 100, 100), before, snapshot(101, 100), KEYS, THRESHOLDS, 0
    )
    assert any("!= requests counted by the simulator (101)" in f for f in off_by_one["failures"])
    ok_mismatch = lt.tool_report(
        "k6", tally(100, 100, 99), before, snapshot(100, 100), KEYS, THRESHOLDS, 0
    )
    assert any("200s counted by the simulator (100)" in f for f in ok_mismatch["failures"])
    slow = lt.tool_report(
        "locust", tally(10, 10, 10, p95=1500.0), before, snapshot(10, 10), KEYS, THRESHOLDS, 0
    )
    assert any("p95 1500 ms >= 1000 ms" in f for f in slow["failures"])
    errors = lt.tool_report(
        "locust", tally(10, 10, 10, errors=1), before, snapshot(10, 10), KEYS, THRESHOLDS, 0
    )
    assert any("error rate 10.00%" in f for f in errors["failures"])
    crashed = lt.tool_report(
        "k6", tally(10, 10, 10), before, snapshot(10, 10), KEYS, THRESHOLDS, 107
    )
    assert "k6 exited with 107" in crashed["failures"]
    missing = lt.tool_report("k6", None, before, None, KEYS, THRESHOLDS, 124)
    assert missing["failures"] == ["k6 produced no results (exit code 124)"]
    empty = lt.tool_report("k6", tally(0, 0, 0), before, snapshot(0, 0), KEYS, THRESHOLDS, 0)
    assert "k6 sent no /v1/messages request" in empty["failures"]


def test_summary_counts_completed_jobs_as_upstream_work() -> None:
    lt = helper()
    jobs = {"enabled": True, "submitted": 5, "completed": 5}
    # 20 synchronous answers + 5 jobs = 25 upstream 200s; the workers made 6 attempts (a retry).
    report = lt.tool_report(
        "locust",
        tally(20, 20, 20, jobs=jobs),
        snapshot(0, 0),
        snapshot(26, 25),
        KEYS,
        THRESHOLDS,
        0,
    )
    assert report["failures"] == []
    assert report["client_upstream_ok"] == 25
