#!/usr/bin/env python3
"""Scale curve 6: gateway processes on one Redis — throughput, Redis round trips, CPU.

The setup of ``shared_mode.py`` (whose ``start_redis`` / ``start_variant`` this uses): nginx
with a fixed Messages reply as the upstream, wrk as the load (50 connections in all), a local
``redis-server``; nginx, wrk and Redis on the first CPU. Variants:

* **embedded, 1 process** — state in memory, the gateway pinned to the second CPU;
* **redis, 1 process** — the same with state in Redis;
* **redis, --workers 2** — two processes on one port (not pinned);
* **redis, 2 replicas** — two separate ``scalegate serve`` processes on two ports, one wrk
  each (25 connections each), as two machines of a fleet would be.

Printed: requests/s (and per process), Redis round trips per request (``EVALSHA``/``EVAL``
calls in ``INFO commandstats`` during the run, less the idle background rate), the gateway's
CPU per request (all its processes), Redis's CPU per request and its own µs per script call,
and from them what one Redis can carry: ``1 / (Redis CPU seconds per request)`` requests/s
(Redis runs scripts on one thread), divided by one process's requests/s. ``redis-benchmark``
gives the same server's ceiling for plain ``GET``/``SET`` next to it. Results:
``benchmarks/results/curve_processes.json``.

    .venv/bin/python benchmarks/curve_processes.py [--duration 10] [--full]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc
import gateway_overhead as core
import shared_mode

CONNECTIONS = 50


def wrk_parallel(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    script: Path,
    urls: list[str],
    duration: int,
    name: str,
) -> list[dict[str, Any]]:
    """One wrk per URL, at the same time, ``CONNECTIONS`` split between them."""
    results: list[dict[str, Any] | BaseException] = [RuntimeError("not run")] * len(urls)
    conns = CONNECTIONS // len(urls)

    def one(i: int, url: str) -> None:
        try:
            results[i] = core.run_wrk(
                children, workdir, pinning, script, url, conns, duration, f"{name}-{i}"
            )
        except BaseException as exc:  # re-raised below, in the caller's thread
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i, u)) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, dict)]


def run_variant(
    name: str,
    args: argparse.Namespace,
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    script: Path,
    upstream: str,
    redis: tuple[core.Child, int] | None,
    workers: int,
    replicas: int,
) -> dict[str, Any]:
    print(f"  {name} ...", file=sys.stderr)
    port = None if redis is None else redis[1]
    # Replicas share the machine's two cores with the load side: not pinned, like --workers.
    pin = pinning if replicas == 1 else core.Pinning(pinning.load_cpu, None, pinning.note)
    started = [
        shared_mode.start_variant(children, workdir, pin, upstream, port, workers)
        for _ in range(replicas)
    ]
    urls = [url for _, url in started]
    groups = {f"gateway{i}": child.proc.pid for i, (child, _) in enumerate(started)}
    if redis is not None:
        groups["redis"] = redis[0].proc.pid
    try:
        wrk_parallel(children, workdir, pinning, script, urls, 2, f"{name}-warm")
        background = 0.0
        if port is not None:
            before = shared_mode.script_calls(port)
            time.sleep(args.idle)
            background = (shared_mode.script_calls(port) - before) / args.idle
            shared_mode.redis_command(port, "CONFIG", "RESETSTAT")
        cpu_before = core.CpuSnapshot.take(groups)
        t0 = time.monotonic()
        runs = wrk_parallel(children, workdir, pinning, script, urls, args.duration, name)
        elapsed = time.monotonic() - t0
        cpu_after = core.CpuSnapshot.take(groups)
        requests = sum(r["requests"] for r in runs)
        seconds = max(r["duration_us"] for r in runs) / 1e6
        gw_cpu = sum(
            cpu_after.groups[g] - cpu_before.groups[g] for g in groups if g.startswith("gateway")
        )
        row: dict[str, Any] = {
            "variant": name,
            "processes": workers * replicas,
            "requests": requests,
            "requests_per_s": requests / seconds,
            "requests_per_s_per_process": requests / seconds / (workers * replicas),
            "p50_ms": max(r["latency_us"]["p50"] for r in runs) / 1000,
            "p99_ms": max(r["latency_us"]["p99"] for r in runs) / 1000,
            "errors": sum(sum(r["errors"].values()) for r in runs),
            "non_2xx": sum(
                v for r in runs for k, v in r["statuses"].items() if not str(k).startswith("2")
            ),
            "gateway_cpu_ms_per_request": 1000 * gw_cpu / max(1, requests),
            "gateway_cpu_pct": 100 * gw_cpu / elapsed,
            # Everything else on the machine (other sessions' tests): above ~10 % it is noise.
            "other_cpu_pct": core.cpu_usage(cpu_before, cpu_after, "wrk")[0].get(
                "other processes", 0.0
            ),
        }
        if port is not None and redis is not None:
            stats = cc.redis_script_stats(port)
            redis_cpu = cpu_after.groups["redis"] - cpu_before.groups["redis"]
            calls = stats["calls"] - background * elapsed
            row["redis_round_trips_per_request"] = calls / max(1, requests)
            row["redis_background_calls_per_s"] = background
            row["redis_usec_per_call"] = stats["usec_per_call"]
            row["redis_cpu_ms_per_request"] = 1000 * redis_cpu / max(1, requests)
            row["redis_cpu_pct"] = 100 * redis_cpu / elapsed
            row["redis_ceiling_requests_per_s"] = requests / redis_cpu if redis_cpu > 0 else None
        return row
    finally:
        for child, _ in started:
            children.stop(child)


def redis_benchmark(port: int, cpu: int | None) -> dict[str, float]:
    """Plain GET/SET requests/s of the same redis-server (50 clients, no pipelining)."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {}
    argv = [*core.Pinning(None, None, "").prefix(cpu), binary, "-p", str(port)]
    argv += ["-t", "get,set", "-n", "100000", "-c", "50", "-q", "--csv"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    out = {}
    for line in done.stdout.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) >= 2 and parts[0] in ("GET", "SET"):
            out[parts[0]] = float(parts[1])
    return out


def render(rows: list[dict[str, Any]]) -> str:
    headers = (
        "",
        "procs",
        "req/s",
        "req/s/proc",
        "p50/p99 ms",
        "Redis RT/req",
        "gw CPU ms/req",
        "Redis CPU µs/req",
        "Redis µs/call",
        "errors",
        "other CPU %",
    )
    out = []
    for r in rows:
        redis_cpu = r.get("redis_cpu_ms_per_request")
        out.append(
            (
                r["variant"],
                r["processes"],
                r["requests_per_s"],
                r["requests_per_s_per_process"],
                f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}",
                r.get("redis_round_trips_per_request"),
                r["gateway_cpu_ms_per_request"],
                None if redis_cpu is None else redis_cpu * 1000,
                r.get("redis_usec_per_call"),
                r["errors"] + r["non_2xx"],
                r["other_cpu_pct"],
            )
        )
    return cc.table(headers, out)


def fleet(rows: list[dict[str, Any]], bench: dict[str, float]) -> dict[str, Any]:
    """How many gateway processes one Redis carries, from the one-process Redis run."""
    one = next((r for r in rows if r["variant"] == "redis, 1 process"), None)
    if one is None or not one.get("redis_ceiling_requests_per_s"):
        return {}
    ceiling = one["redis_ceiling_requests_per_s"]
    per_proc = one["requests_per_s_per_process"]
    trips = one["redis_round_trips_per_request"]
    return {
        "requests_per_s_per_process": per_proc,
        "redis_round_trips_per_request": trips,
        "redis_script_calls_per_s_ceiling": ceiling * trips,
        "redis_ceiling_requests_per_s": ceiling,
        "processes_per_redis": ceiling / per_proc,
        "redis_benchmark_ops_per_s": bench,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (5)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of background count")
    parser.add_argument("--full", action="store_true", help="10 s runs")
    args = parser.parse_args()
    args.duration = args.duration or (10 if args.full else 5)
    pinning = core.choose_pinning()
    rows: list[dict[str, Any]] = []
    bench: dict[str, float] = {}
    failures: list[str] = []
    children = core.Children()
    with tempfile.TemporaryDirectory(prefix="sg-curve-procs-") as tmp, core.signals_raise():
        workdir = Path(tmp)
        try:
            _, upstream = core.start_nginx(children, workdir, pinning, core.free_port())
            script = core.write_wrk_script(workdir)
            redis = shared_mode.start_redis(children, workdir, pinning)
            plan = [
                ("embedded, 1 process", None, 1, 1),
                ("redis, 1 process", redis, 1, 1),
                ("redis, --workers 2", redis, 2, 1),
                ("redis, 2 replicas", redis, 1, 2),
            ]
            for name, r, workers, replicas in plan:
                rows.append(
                    run_variant(
                        name, args, children, workdir, pinning, script, upstream, r,
                        workers, replicas,
                    )
                )  # fmt: skip
            bench = redis_benchmark(redis[1], pinning.gateway_cpu)
        except core.StepFailed as exc:
            failures.append(str(exc))
        except KeyboardInterrupt:
            failures.append("interrupted")
        finally:
            children.close()
    print(
        f"scale curve: gateway processes on one Redis ({args.duration} s runs, wrk "
        f"{CONNECTIONS} connections in all; nginx, wrk and Redis on CPU {pinning.load_cpu})"
    )
    print(render(rows))
    summary = fleet(rows, bench)
    if summary:
        print(
            f"  one Redis: {summary['redis_ceiling_requests_per_s']:,.0f} gateway requests/s "
            f"at 100 % of its core ({summary['redis_script_calls_per_s_ceiling']:,.0f} script "
            f"calls/s) = {summary['processes_per_redis']:.1f} processes at "
            f"{summary['requests_per_s_per_process']:,.0f} req/s each; redis-benchmark "
            + ", ".join(f"{k} {v:,.0f}/s" for k, v in bench.items())
        )
    for failure in failures:
        print("  FAILED: " + failure)
    cc.write_result(
        "curve_processes",
        {"duration_s": args.duration, "connections": CONNECTIONS, "pinning": pinning.note},
        {"rows": rows, "fleet": summary, "failures": failures},
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
