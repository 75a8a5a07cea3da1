"""Helpers for ``run-loadtest.sh``: configs, readiness, simulator snapshots and the summary.

Standard library only (plus PyYAML, a scalegate dependency, for the configs), so it runs with
the project's virtualenv and imports nothing of Locust's or the gateway's::

    python loadtesting/loadtest.py free-ports 2
    python loadtesting/loadtest.py configs RUN_DIR          # from the profile's variables
    python loadtesting/loadtest.py wait URL SECONDS
    python loadtesting/loadtest.py snapshot SIM_URL FILE [--quiesce SECONDS]
    python loadtesting/loadtest.py summary RUN_DIR          # prints; exit 1 if a check fails

The summary's request totals come from the load generators' tallies of the gateway's
response headers, and are checked against the simulator's own counters (``GET /_sim/stats``,
snapshotted before and after each tool):

* the sum of ``x-scalegate-attempts`` over all responses = the requests the simulator saw
  (every upstream attempt, retries included; a cache hit or a shed request makes none);
* 2xx answers not served from the gateway's cache (+ jobs completed) = the simulator's 200s.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PRIORITIES = ("critical", "high", "normal", "low")
TOOLS = ("locust", "k6")
LIMITS = ("rpm", "itpm", "otpm")


# -- small commands ---------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


def wait_http(url: str, seconds: float) -> bool:
    """Poll ``url`` until it answers 2xx or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - 127.0.0.1 only
                if 200 <= resp.status < 300:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def snapshot(sim_url: str, quiesce: float = 0.0) -> dict[str, Any]:
    """``GET /_sim/stats``, after waiting (up to ``quiesce`` s) for nothing to be in flight."""
    deadline = time.monotonic() + quiesce
    stats = _get_json(sim_url.rstrip("/") + "/_sim/stats")
    quiet = 0
    while quiesce and time.monotonic() < deadline:
        quiet = quiet + 1 if stats["totals"]["in_flight"] == 0 else 0
        if quiet >= 3:  # three quiet looks 0.2 s apart: nothing more is arriving
            break
        time.sleep(0.2)
        stats = _get_json(sim_url.rstrip("/") + "/_sim/stats")
    stats["config"] = _get_json(sim_url.rstrip("/") + "/_sim/config")
    return stats


# -- configs ----------------------------------------------------------------------------------


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env.get(name) or default)


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    return float(env.get(name) or default)


def make_configs(run_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Write ``simulator.yaml``, ``gateway.yaml`` and ``keys.json`` for one run.

    The simulator and the gateway get the same keys with the same limits (the profile's
    ``SIM_*`` variables); the secrets are random and fake, made for this run only.
    """
    import yaml

    limits = {
        "rpm": _int_env(env, "SIM_RPM", 600),
        "itpm": _int_env(env, "SIM_ITPM", 200_000),
        "otpm": _int_env(env, "SIM_OTPM", 40_000),
    }
    keys = []
    for cls, count in (
        ("shared", _int_env(env, "SIM_SHARED_KEYS", 2)),
        ("critical", _int_env(env, "SIM_CRITICAL_KEYS", 1)),
    ):
        for i in range(count):
            name = f"{cls}-{i + 1}"
            keys.append(
                {
                    "name": name,
                    "class": cls,
                    "secret": f"sk-sim-lt-{name}-{secrets.token_hex(8)}",
                    "limits": limits,
                }
            )
    if not any(k["class"] == "shared" for k in keys):
        raise SystemExit("the profile needs at least one shared key (SIM_SHARED_KEYS)")
    sim = {
        "keys": {k["secret"]: limits for k in keys},
        "accept_unknown_keys": False,
        "latency": {
            "ttft_ms": _float_env(env, "SIM_TTFT_MS", 300),
            "tokens_per_second": _float_env(env, "SIM_TOKENS_PER_SECOND", 80),
        },
        "seed": _int_env(env, "SIM_SEED", 0),
    }
    gateway = {
        "upstream": {"base_url": env["SIM_URL"]},
        "keys": [
            {"secret": k["secret"], "name": k["name"], "class": k["class"], "limits": limits}
            for k in keys
        ],
        "server": {"graceful_shutdown_seconds": _float_env(env, "LT_GATEWAY_GRACEFUL_SECONDS", 5)},
    }
    run = {
        "profile": env.get("LT_PROFILE", "custom"),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "started_epoch": time.time(),
        "tools": env.get("LT_TOOLS", "locust k6").split(),
        "gateway_url": env["GATEWAY_URL"],
        "sim_url": env["SIM_URL"],
        "run_dir": str(run_dir),
        "thresholds": {
            "p95_ms": _float_env(env, "LT_P95_MS", 5000),
            "max_error_rate": _float_env(env, "LT_MAX_ERROR_RATE", 0.01),
        },
        "simulator": {"latency": sim["latency"]},
    }
    unknown = sorted(set(run["tools"]) - set(TOOLS))
    if unknown:
        raise SystemExit(f"LT_TOOLS: unknown tool(s) {', '.join(unknown)}; known: locust k6")
    (run_dir / "simulator.yaml").write_text(yaml.safe_dump(sim, sort_keys=False))
    (run_dir / "gateway.yaml").write_text(yaml.safe_dump(gateway, sort_keys=False))
    (run_dir / "keys.json").write_text(json.dumps(keys, indent=2))
    (run_dir / "run.json").write_text(json.dumps(run, indent=2))
    return {"keys": keys, "simulator": sim, "gateway": gateway, "run": run}


# -- the summary ------------------------------------------------------------------------------


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def sim_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the simulator counted between two snapshots, in total and per key."""

    def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("requests", "accepted", "input_tokens", "output_tokens", "quota_429"):
            out[name] = b.get(name, 0) - a.get(name, 0)
        statuses = set(a.get("status_counts", {})) | set(b.get("status_counts", {}))
        out["status_counts"] = {
            s: b.get("status_counts", {}).get(s, 0) - a.get("status_counts", {}).get(s, 0)
            for s in sorted(statuses)
        }
        injected = set(a.get("injected", {})) | set(b.get("injected", {}))
        out["injected"] = {
            f: b.get("injected", {}).get(f, 0) - a.get("injected", {}).get(f, 0)
            for f in sorted(injected)
        }
        out["in_flight"] = b.get("in_flight", 0)
        return out

    keys = {k: diff(before["keys"].get(k, {}), v) for k, v in after["keys"].items()}
    return {"totals": diff(before["totals"], after["totals"]), "keys": keys}


def _thresholds(run: dict[str, Any]) -> dict[str, float]:
    return {
        "p95_ms": float(run["thresholds"]["p95_ms"]),
        "max_error_rate": float(run["thresholds"]["max_error_rate"]),
    }


def tool_report(
    tool: str,
    tally: dict[str, Any] | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    keys: list[dict[str, Any]],
    thresholds: dict[str, float],
    exit_code: int | None,
) -> dict[str, Any]:
    """Everything the summary says about one tool's run, and whether its checks passed."""
    report: dict[str, Any] = {"tool": tool, "exit_code": exit_code, "failures": []}
    fail = report["failures"]
    if tally is None or before is None or after is None:
        fail.append(f"{tool} produced no results (exit code {exit_code})")
        return report
    msgs = tally["messages"]
    jobs = tally.get("jobs") or {}
    delta = sim_delta(before, after)
    duration = max(float(tally.get("duration_s") or 0), 1e-9)
    total = int(msgs["total"])
    errors = int(msgs["errors"])
    completed = int(jobs.get("completed", 0))
    unfinished = int(jobs.get("unfinished", 0))
    job_traffic = int(jobs.get("submitted", 0)) > 0
    sim_requests = delta["totals"]["requests"]
    statuses = delta["totals"]["status_counts"]
    sim_200 = statuses.get("200", 0)
    sim_not_200 = sim_requests - sim_200
    expected_200 = int(msgs["upstream_ok"]) + completed
    # Job workers call upstream too, and clients cannot see those attempts: they are what
    # the simulator counted beyond the synchronous attempts. Each completed job made exactly
    # one successful attempt; any extra attempt of a job is one the simulator did not answer
    # with a 200, so 0 <= extra <= the simulator's non-200 answers (and 0 when all were 200).
    job_attempts = sim_requests - int(msgs["attempts"]) if job_traffic else 0
    extra = job_attempts - completed
    if not job_traffic:
        attempts_ok = sim_requests == int(msgs["attempts"])
    elif unfinished:
        attempts_ok = job_attempts >= completed  # a job still running may land later
    else:
        attempts_ok = 0 <= extra <= sim_not_200
    ok200 = sim_200 == expected_200 if not unfinished else sim_200 >= expected_200
    cache = msgs.get("cache", {})
    hits = sum(int(cache.get(c, 0)) for c in ("hit", "semantic-hit", "coalesced"))
    latency = msgs["latency_ms"]
    error_rate = errors / total if total else 0.0
    report.update(
        {
            "duration_s": duration,
            "messages": total,
            "ok": int(msgs["ok"]),
            "throughput_rps": total / duration,
            "ok_rps": int(msgs["ok"]) / duration,
            "latency_ms": latency,
            "ttft_ms": msgs.get("ttft_ms"),
            "errors": errors,
            "error_rate": error_rate,
            "status": msgs.get("status", {}),
            "asked_cache": int(msgs.get("asked_cache", 0)),
            "cache": cache,
            "cache_hits": hits,
            "cache_hit_rate": hits / msgs["asked_cache"] if msgs.get("asked_cache") else None,
            "shed": {p: int(msgs.get("shed", {}).get(p, 0)) for p in PRIORITIES},
            "by_priority": msgs.get("by_priority", {}),
            "jobs": jobs,
            "client_attempts": int(msgs["attempts"]),
            "job_attempts": job_attempts,
            "job_traffic": job_traffic,
            "jobs_unfinished": unfinished,
            "sim_requests": sim_requests,
            "sim_not_200": sim_not_200,
            "client_upstream_ok": expected_200,
            "sim_200": sim_200,
            "sim_quota_429": delta["totals"]["quota_429"],
            "sim_injected": delta["totals"]["injected"],
            "attempts_match": attempts_ok,
            "ok200_match": ok200,
            "utilisation": _utilisation(delta, keys, duration),
            "stress": tally.get("stress"),
            "k6_thresholds": tally.get("thresholds"),
        }
    )
    if total == 0:
        fail.append(f"{tool} sent no /v1/messages request")
    if not attempts_ok and not job_traffic:
        fail.append(
            f"{tool}: upstream attempts by the gateway's headers ({msgs['attempts']}) != "
            f"requests counted by the simulator ({sim_requests})"
        )
    elif not attempts_ok:
        fail.append(
            f"{tool}: the simulator counted {sim_requests} requests: {msgs['attempts']} "
            f"synchronous attempts leave {job_attempts} for {completed} completed jobs"
        )
    if not ok200:
        fail.append(
            f"{tool}: upstream 2xx by the gateway's headers ({expected_200}) != "
            f"200s counted by the simulator ({sim_200})"
        )
    p95 = latency.get("p95")
    if p95 is not None and p95 >= thresholds["p95_ms"]:
        fail.append(f"{tool}: p95 {p95:.0f} ms >= {thresholds['p95_ms']:.0f} ms")
    if error_rate >= thresholds["max_error_rate"] and errors:
        fail.append(f"{tool}: error rate {error_rate:.2%} >= {thresholds['max_error_rate']:.2%}")
    if tool == "k6" and exit_code not in (0, 99):  # 99: thresholds crossed (checked above)
        fail.append(f"k6 exited with {exit_code}")
    if tool == "locust" and exit_code != 0:
        fail.append(f"locust exited with {exit_code}")
    return report


def _utilisation(
    delta: dict[str, Any], keys: list[dict[str, Any]], duration: float
) -> dict[str, dict[str, float | None]]:
    """Per key: what it carried per minute, as a share of each per-minute limit."""
    minutes = duration / 60
    out = {}
    for key in keys:
        used = delta["keys"].get(key["secret"], {})
        carried = {
            "rpm": used.get("accepted", 0),
            "itpm": used.get("input_tokens", 0),
            "otpm": used.get("output_tokens", 0),
        }
        out[key["name"]] = {
            name: (
                carried[name] / minutes / key["limits"][name] if key["limits"].get(name) else None
            )
            for name in LIMITS
        }
    return out


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗ MISMATCH"


def render(run: dict[str, Any], reports: dict[str, dict[str, Any]], passed: bool) -> str:
    tools = [t for t in run["tools"] if t in reports]
    keys = run["keys"]
    cfg = run["simulator"]
    lines = []
    lim = keys[0]["limits"]
    shared = sum(k["class"] == "shared" for k in keys)
    critical = len(keys) - shared
    lines.append(
        f"scalegate load test · profile {run['profile']} · {run['started']} · "
        f"{run.get('elapsed_s', 0):.0f} s in all"
    )
    lines.append(f"gateway   {run['gateway_url']}   simulator {run['sim_url']}")
    lines.append(
        f"keys      {shared} shared + {critical} critical · {lim['rpm']:,} rpm, "
        f"{lim['itpm']:,} itpm, {lim['otpm']:,} otpm each · ttft "
        f"{cfg['latency']['ttft_ms']:.0f} ms, {cfg['latency']['tokens_per_second']:.0f} tok/s"
    )
    lines.append(f"reports   {run['run_dir']}")
    width = 36
    col = 27

    def row(label: str, cells: list[str]) -> None:
        lines.append((f"{label:<{width}}" + "".join(f"{c:<{col}}" for c in cells)).rstrip())

    r = [reports[t] for t in tools if "messages" in reports[t]]
    lines.append("")
    row("", [x["tool"] for x in r])
    if r:
        row("duration", [f"{x['duration_s']:.1f} s" for x in r])
        row("/v1/messages sent", [f"{x['messages']:,}" for x in r])
        row("throughput (2xx answers)", [f"{x['ok_rps']:.1f} req/s" for x in r])
        row(
            "latency p50 / p95 / p99 (2xx)",
            [
                f"{_ms(x['latency_ms']['p50'])} / {_ms(x['latency_ms']['p95'])} / "
                f"{_ms(x['latency_ms']['p99'])} ms"
                for x in r
            ],
        )
        row(
            "stream time to first token p50/p95",
            [
                f"{_ms(x['ttft_ms']['p50'])} / {_ms(x['ttft_ms']['p95'])} ms"
                if x.get("ttft_ms") and x["ttft_ms"].get("count")
                else "n/a"
                for x in r
            ],
        )
        row("errors", [f"{x['errors']:,} ({x['error_rate']:.2%})" for x in r])
        row(
            "cache hit rate (asked exact)",
            [
                f"{x['cache_hits']}/{x['asked_cache']} = {x['cache_hit_rate']:.1%}"
                if x["cache_hit_rate"] is not None
                else "none asked"
                for x in r
            ],
        )
        row(
            "  x-scalegate-cache seen",
            [" ".join(f"{k} {v}" for k, v in sorted(x["cache"].items())) or "–" for x in r],
        )
        row(
            "shed (429) crit/high/norm/low",
            ["/".join(str(x["shed"][p]) for p in PRIORITIES) for x in r],
        )
        row("jobs", [_jobs_cell(x["jobs"]) for x in r])
        row("upstream attempts (headers)", [f"{x['client_attempts']:,}" for x in r])
        if any(x["job_traffic"] for x in r):
            row(
                "  + job workers' attempts",
                [f"{x['job_attempts']:,} (the rest)" if x["job_traffic"] else "0" for x in r],
            )
        row(
            "  = simulator requests",
            [f"{x['sim_requests']:,} {_mark(x['attempts_match'])}" for x in r],
        )
        row("upstream 2xx (non-cached + jobs)", [f"{x['client_upstream_ok']:,}" for x in r])
        row("  = simulator 200s", [f"{x['sim_200']:,} {_mark(x['ok200_match'])}" for x in r])
        row("simulator quota 429s", [f"{x['sim_quota_429']:,}" for x in r])
        row("key use ÷ limit: rpm/itpm/otpm", ["" for _ in r])
        for key in keys:
            row(
                f"  {key['name']}",
                [
                    " / ".join(
                        "–" if v is None else f"{v:.0%}"
                        for v in (x["utilisation"][key["name"]][n] for n in LIMITS)
                    )
                    for x in r
                ],
            )
        if any(
            v is not None and v > 1
            for x in r
            for u in x["utilisation"].values()
            for v in u.values()
        ):
            lines.append(
                "  (>100 %: buckets start full; a short run adds a minute's burst to the rate)"
            )
        for x in r:
            stress = x.get("stress")
            if stress:
                sat = stress.get("saturation")
                lines.append(
                    f"stress ({x['tool']}): "
                    + (
                        f"saturated at {sat['users']} users ({sat['ok_per_s']} ok/s, "
                        f"{sat['shed']} shed, {sat['errors']} errors in that step)"
                        if sat
                        else "no saturation reached "
                        f"(max {stress['steps'][-1]['users'] if stress['steps'] else 0} users)"
                    )
                )
    notes = {x["jobs"].get("reason") for x in r if x["jobs"].get("enabled") is False}
    for note in sorted(n for n in notes if n):
        lines.append(f"note: jobs traffic off: {note}")
    th = run["thresholds"]
    lines.append("")
    lines.append(
        f"checks    p95 < {float(th['p95_ms']):,.0f} ms · error rate < "
        f"{float(th['max_error_rate']):.1%} · totals equal the simulator's · tools exit cleanly"
    )
    for t in run["tools"]:
        x = reports[t]
        lines.append(
            f"  {t:<8}{'PASS' if not x['failures'] else 'FAIL: ' + '; '.join(x['failures'])}"
        )
    lines.append(f"RESULT: {'PASS' if passed else 'FAIL'}")
    return "\n".join(lines)


def _jobs_cell(jobs: dict[str, Any]) -> str:
    if jobs.get("enabled") is False:
        return "off (see note)"
    if not jobs.get("submitted"):
        return "none submitted"
    parts = [f"{jobs['submitted']} sent"]
    for state in ("completed", "failed", "dead", "canceled", "unfinished"):
        if jobs.get(state):
            parts.append(f"{jobs[state]} {state}")
    return ", ".join(parts)


def summarize(run_dir: Path) -> tuple[str, dict[str, Any], bool]:
    run = json.loads((run_dir / "run.json").read_text())
    run["keys"] = json.loads((run_dir / "keys.json").read_text())
    run["elapsed_s"] = time.time() - float(run["started_epoch"])
    run["exit_codes"] = {}
    for tool in run["tools"]:
        code = run_dir / f"{tool}.exit"
        run["exit_codes"][tool] = int(code.read_text()) if code.exists() else None
    thresholds = _thresholds(run)
    reports = {}
    for tool in run["tools"]:
        reports[tool] = tool_report(
            tool,
            _read(run_dir / f"{tool}-tally.json"),
            _read(run_dir / f"sim-{tool}-before.json"),
            _read(run_dir / f"sim-{tool}-after.json"),
            run["keys"],
            thresholds,
            run.get("exit_codes", {}).get(tool),
        )
    passed = all(not r["failures"] for r in reports.values()) and bool(reports)
    text = render(run, reports, passed)
    public_keys = [{k: v for k, v in key.items() if k != "secret"} for key in run["keys"]]
    document = {
        "profile": run["profile"],
        "passed": passed,
        "gateway_url": run["gateway_url"],
        "sim_url": run["sim_url"],
        "keys": public_keys,
        "thresholds": thresholds,
        "tools": reports,
    }
    return text, document, passed


# -- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("free-ports")
    p.add_argument("n", type=int)
    p = sub.add_parser("configs")
    p.add_argument("run_dir", type=Path)
    p = sub.add_parser("wait")
    p.add_argument("url")
    p.add_argument("seconds", type=float)
    p = sub.add_parser("snapshot")
    p.add_argument("sim_url")
    p.add_argument("file", type=Path)
    p.add_argument("--quiesce", type=float, default=0.0)
    p = sub.add_parser("summary")
    p.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)

    if args.cmd == "free-ports":
        print(" ".join(str(port) for port in free_ports(args.n)))
    elif args.cmd == "configs":
        make_configs(args.run_dir, os.environ)
    elif args.cmd == "wait":
        if not wait_http(args.url, args.seconds):
            print(f"{args.url} did not answer within {args.seconds:.0f} s", file=sys.stderr)
            return 1
    elif args.cmd == "snapshot":
        args.file.write_text(json.dumps(snapshot(args.sim_url, args.quiesce), indent=1))
    elif args.cmd == "summary":
        text, document, passed = summarize(args.run_dir)
        (args.run_dir / "summary.txt").write_text(text + "\n")
        (args.run_dir / "summary.json").write_text(json.dumps(document, indent=2))
        print(text)
        return 0 if passed else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
