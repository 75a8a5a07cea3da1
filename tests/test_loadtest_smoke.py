"""The `smoke` load test, end to end: real simulator and gateway processes on free ports,
Locust and k6 for real, and a summary whose totals must equal the simulator's own counters.

The runner (loadtesting/run-loadtest.sh) saves the simulator's raw `GET /_sim/stats` before
and after each tool; this test recomputes what the simulator counted from those files and
compares it, independently of the runner's own check, with the totals the summary printed.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "loadtesting" / "run-loadtest.sh"

pytestmark = [pytest.mark.slow]


def run_profile(
    results: Path, profile: str = "smoke", timeout: float = 150, **env: str
) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    """Run the runner; return its result, its run directory and how long it took."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LT_", "SIM_"))}
    # A developer's real keys or Redis must not matter (the runner scrubs them too).
    for name in ("ANTHROPIC_API_KEYS", "ANTHROPIC_BASE_URL", "REDIS_URL", "SCALEGATE_CONFIG"):
        clean.pop(name, None)
    started = time.monotonic()
    proc = start_runner(results, profile, clean, env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_runner(proc)
        raise
    elapsed = time.monotonic() - started
    (run_dir,) = results.iterdir()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return result, run_dir, elapsed


def start_runner(
    results: Path, profile: str, base: dict[str, str], env: dict[str, str]
) -> subprocess.Popen[str]:
    # Its own session: on a timeout the whole group gets SIGTERM and the runner's trap
    # stops the servers (a bare SIGKILL of bash would orphan them).
    return subprocess.Popen(
        ["bash", str(SCRIPT), profile],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**base, "LT_RESULTS_DIR": str(results), **env},
        start_new_session=True,
    )


def stop_runner(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (the run directory: servers and tools)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return False
    except OSError:
        return True


def sim_counted(run_dir: Path, tool: str) -> dict[str, int]:
    before = json.loads((run_dir / f"sim-{tool}-before.json").read_text())["totals"]
    after = json.loads((run_dir / f"sim-{tool}-after.json").read_text())["totals"]
    return {
        "requests": after["requests"] - before["requests"],
        "ok": after["status_counts"].get("200", 0) - before["status_counts"].get("200", 0),
        "quota_429": after["quota_429"] - before["quota_429"],
        "in_flight": after["in_flight"],
    }


def test_smoke_profile_runs_both_tools_and_agrees_with_the_simulator(tmp_path: Path) -> None:
    result, run_dir, elapsed = run_profile(tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "RESULT: PASS" in out
    assert elapsed < 60, f"the smoke profile took {elapsed:.0f} s"
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is True
    assert set(summary["tools"]) == {"locust", "k6"}

    attempts_row = re.search(r"upstream attempts \(headers\)\s+(\S+)\s+(\S+)", out)
    sim_row = re.search(r"= simulator requests\s+(\S+) ✓\s+(\S+) ✓", out)
    ok_row = re.search(r"= simulator 200s\s+(\S+) ✓\s+(\S+) ✓", out)
    assert attempts_row, out
    assert sim_row, out
    assert ok_row, out
    for column, tool in enumerate(("locust", "k6"), start=1):
        report = summary["tools"][tool]
        counted = sim_counted(run_dir, tool)
        assert counted["in_flight"] == 0
        assert report["messages"] > 20, f"{tool} sent too little to mean anything"
        # The smoke keys are roomy: the simulator answered every request with a 200, so no
        # attempt was retried and every number below is exact.
        assert counted["quota_429"] == 0
        assert counted["ok"] == counted["requests"] > 0
        jobs = report["jobs"]
        if jobs.get("enabled") is False:
            assert jobs["reason"], "a disabled batch class says why"
        assert jobs.get("unfinished", 0) == 0
        completed = jobs.get("completed", 0)
        # What the gateway's headers say it sent upstream (+ one call per completed job,
        # made by the job workers) = what the simulator received; likewise the 200s.
        assert report["client_attempts"] + completed == counted["requests"]
        assert report["client_upstream_ok"] == counted["ok"]
        # ... and the printed summary shows exactly those numbers.
        assert int(attempts_row.group(column).replace(",", "")) == report["client_attempts"]
        assert int(sim_row.group(column).replace(",", "")) == counted["requests"]
        assert int(ok_row.group(column).replace(",", "")) == counted["ok"]
        assert report["errors"] == 0
        assert report["latency_ms"]["p95"] is not None
        assert report["latency_ms"]["p95"] < summary["thresholds"]["p95_ms"]
        # Cache hits (once the cache exists) are answers the simulator never saw.
        cache = report["cache"]
        assert sum(cache.values()) == report["ok"]
        answered = ("hit", "semantic-hit", "coalesced")
        assert report["cache_hits"] == sum(cache.get(c, 0) for c in answered)

    # The reports exist and hold the same count as the tally.
    html = (run_dir / "locust.html").read_text()
    assert "<html" in html.lower()
    with (run_dir / "locust_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    locust_messages = sum(
        int(r["Request Count"]) for r in rows if r["Name"].startswith("messages ")
    )
    assert locust_messages == summary["tools"]["locust"]["messages"]
    k6_summary = json.loads((run_dir / "k6-summary.json").read_text())
    assert (
        k6_summary["metrics"]["sg_messages"]["values"]["count"]
        == summary["tools"]["k6"]["messages"]
    )
    assert "http_req_duration" in k6_summary["metrics"]

    # Everything the runner started is gone.
    assert closed(summary["gateway_url"])
    assert closed(summary["sim_url"])
    assert processes_mentioning(str(run_dir)) == []
    # The summary never shows the (fake) upstream secrets.
    keys = json.loads((run_dir / "keys.json").read_text())
    for key in keys:
        assert key["secret"] not in out


def test_a_crossed_threshold_fails_the_run_and_still_reports(tmp_path: Path) -> None:
    result, run_dir, _ = run_profile(
        tmp_path, LT_TOOLS="k6", LT_K6_DURATION="3s", LT_P95_MS="1", LT_K6_VUS="4"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "RESULT: FAIL" in result.stdout
    assert re.search(r"k6\s+FAIL: k6: p95 \d+ ms >= 1 ms", result.stdout), result.stdout
    assert (run_dir / "k6.exit").read_text().strip() == "99", "k6's own threshold failed too"
    summary = json.loads((run_dir / "summary.json").read_text())
    report = summary["tools"]["k6"]
    # A failed threshold does not excuse the accounting: the totals still agree.
    assert report["attempts_match"] is True
    assert report["ok200_match"] is True
    assert closed(summary["gateway_url"])
    assert closed(summary["sim_url"])


def test_sigterm_mid_run_stops_everything(tmp_path: Path) -> None:
    """Interrupted while Locust runs: exit 143 within seconds, nothing left behind."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LT_", "SIM_"))}
    proc = start_runner(
        tmp_path, "smoke", clean, {"LT_TOOLS": "locust", "LT_LOCUST_RUN_TIME": "120s"}
    )
    try:
        deadline = time.monotonic() + 60
        run_dir = None
        while time.monotonic() < deadline:
            dirs = list(tmp_path.iterdir())
            if dirs and (dirs[0] / "locust.log").exists() and (dirs[0] / "run.json").exists():
                run_dir = dirs[0]
                break
            time.sleep(0.2)
        assert run_dir is not None, "the runner never started Locust"
        run = json.loads((run_dir / "run.json").read_text())
        time.sleep(2)  # Locust is sending load now
        assert processes_mentioning(str(run_dir)), "servers and Locust are running"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.returncode is None:
            stop_runner(proc)
    assert proc.returncode == 143
    assert time.monotonic() - started < 20
    assert closed(run["gateway_url"])
    assert closed(run["sim_url"])
    assert processes_mentioning(str(run_dir)) == []
