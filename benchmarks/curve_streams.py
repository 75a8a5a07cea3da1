#!/usr/bin/env python3
"""Scale curve 1: open streams per gateway process, 100 → 10,000.

An upstream that paces its streams (``sse_upstream.py --interval 1``: one text delta per
second per stream, the Anthropic event sequence) runs as its own process; the load generator
(``sse_client.py --mode paced``, one asyncio process) opens ``N`` streams evenly over a ramp
and reads each to its end, first straight from the upstream, then through one fresh
``scalegate serve`` process pinned to its own core (upstream and client share the other).
The gateway has two keys with limits that never bind, its default upstream pool (20,000
connections) and ``server.max_open_streams`` 20,000 (``--max-open-streams``; the default,
10,000, lets NORMAL traffic fill 90 % of it and answers the rest ``529``); with
``--defaults-at N`` one more run at the largest size ≤ N uses every default.

Printed per ``N``: the gateway's RSS (idle, peak, and bytes per open stream), its CPU, the
time to the first event and to the first content event (p50/p99, direct and added by the
gateway: until content begins the gateway holds a stream's opening events back, so that a
stream failing before content can be retried on another key), how much later each
delta arrives through the gateway than directly (p50/p99 of the write→read delay), and errors
by status. Results: ``benchmarks/results/curve_streams.json``.

    .venv/bin/python benchmarks/curve_streams.py [--sizes 100,1000,3000,10000] [--max N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc
import gateway_overhead as core

from scalegate.config.schema import ServerConfig, UpstreamConfig

QUICK_SIZES = (100, 1000)
FULL_SIZES = (100, 1000, 3000, 10000)
DEFAULT_POOL = UpstreamConfig().max_connections  # 20,000 since issue 16
DEFAULT_STREAMS = ServerConfig().max_open_streams  # 10,000: NORMAL traffic may fill 90 %


def run_size(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    n: int,
    args: argparse.Namespace,
    max_connections: int | None,
    max_streams: int | None,
    direct: bool = True,
) -> dict[str, Any]:
    ramp = max(2.0, n / args.open_rate)
    events = int(ramp + args.hold)
    upstream, up_url = cc.start_sse_upstream(
        children, workdir, pinning.load_cpu, events=events, interval=1.0
    )
    row: dict[str, Any] = {"streams": n, "events_per_stream": events, "ramp_s": ramp}
    row["max_connections"] = max_connections or f"default ({DEFAULT_POOL})"
    row["max_open_streams"] = max_streams or f"default ({DEFAULT_STREAMS})"
    timeout = events + ramp + 180
    try:
        if direct:
            print(f"  {n} streams direct ...", file=sys.stderr)
            d = cc.run_sse_client(
                children, workdir, pinning.load_cpu, up_url, "paced", n, ramp=ramp, timeout=timeout
            )
            row["direct"] = summarize(d)
        print(
            f"  {n} streams via gateway (max_connections {row['max_connections']}, "
            f"max_open_streams {row['max_open_streams']}) ...",
            file=sys.stderr,
        )
        sized = f"server:\n  max_open_streams: {max_streams}\n" if max_streams else ""
        gateway, gw_url = cc.start_gateway_with(
            children, workdir, pinning, up_url, max_connections=max_connections, extra_config=sized
        )
        pid = gateway.proc.pid
        try:
            time.sleep(0.5)
            idle_kb = core.read_status_kb(pid, "VmRSS") or 0
            before = core.CpuSnapshot.take({"gateway": pid, "upstream": upstream.proc.pid})
            with core.RssSampler(pid, 0.1) as sampler, cc.CpuPeakSampler(pid) as cpu_peak:
                g = cc.run_sse_client(
                    children, workdir, pinning.load_cpu, gw_url, "paced", n, ramp=ramp,
                    timeout=timeout,
                )  # fmt: skip
            after = core.CpuSnapshot.take({"gateway": pid, "upstream": upstream.proc.pid})
            cpu, busy = core.cpu_usage(before, after, reaped_as="client")
            row["gateway"] = summarize(g)
            row["gateway_rss_idle_mb"] = idle_kb / 1024
            row["gateway_rss_peak_mb"] = sampler.peak_kb / 1024
            row["bytes_per_stream"] = (sampler.peak_kb - idle_kb) * 1024 / n
            row["cpu_pct"] = cpu
            row["core_busy_pct"] = busy
            row["gateway_cpu_peak_pct"] = cpu_peak.peak_pct  # busiest second
            row["gateway_cpu_series_pct"] = cpu_peak.series
            row["gateway_cpu_s_per_1k_events"] = (
                (after.groups["gateway"] - before.groups["gateway"])
                / max(1, len(g["event_delay_ms"]))
                * 1000
            )
            if gateway.proc.poll() is not None:
                row["gateway_exit"] = gateway.proc.returncode
        finally:
            children.stop(gateway)
    finally:
        children.stop(upstream)
    if "direct" in row:
        for what in ("first_event_ms", "first_content_ms", "event_delay_ms"):
            for q in ("p50", "p99"):
                a, b = row["direct"][what][q], row["gateway"][what][q]
                row.setdefault("added", {})[f"{what}_{q}"] = (
                    None if a is None or b is None else b - a
                )
    return row


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "completed": raw["completed"],
        "errors": raw["errors"],
        "all_open_s": raw["all_open_s"],
        "elapsed_s": raw["elapsed_s"],
        "first_event_ms": cc.quantiles(raw["first_event_ms"]),
        "first_content_ms": cc.quantiles(raw["first_content_ms"]),
        "event_delay_ms": cc.quantiles(raw["event_delay_ms"]),
    }


def render(rows: list[dict[str, Any]]) -> str:
    headers = (
        "streams",
        "max streams",
        "RSS idle/peak MB",
        "KB/stream",
        "gw CPU avg/peak %",
        "1st event p50/p99 direct ms",
        "added p50/p99 ms",
        "1st content added p50/p99 ms",
        "event delay added p50/p99 ms",
        "errors (gateway)",
        "other CPU %",
    )
    out = []
    for r in rows:
        g, d, a = r["gateway"], r.get("direct"), r.get("added", {})
        out.append(
            (
                r["streams"],
                str(r.get("max_open_streams", "-")),
                f"{r['gateway_rss_idle_mb']:.0f} / {r['gateway_rss_peak_mb']:.0f}",
                r["bytes_per_stream"] / 1024,
                f"{r['cpu_pct'].get('gateway', 0.0):.0f} / {r.get('gateway_cpu_peak_pct', 0):.0f}",
                "-"
                if d is None
                else f"{_f(d['first_event_ms']['p50'])} / {_f(d['first_event_ms']['p99'])}",
                "-" if not a else f"{_f(a['first_event_ms_p50'])} / {_f(a['first_event_ms_p99'])}",
                "-"
                if not a
                else f"{_f(a['first_content_ms_p50'])} / {_f(a['first_content_ms_p99'])}",
                "-" if not a else f"{_f(a['event_delay_ms_p50'])} / {_f(a['event_delay_ms_p99'])}",
                ", ".join(f"{k}: {v}" for k, v in g["errors"].items()) or "0",
                r["cpu_pct"].get("other processes", 0.0),
            )
        )
    return cc.table(headers, out)


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--full", action="store_true", help=f"sizes {FULL_SIZES}")
    parser.add_argument("--max", type=int, default=None, help="cap every size at this")
    parser.add_argument("--hold", type=float, default=10, help="seconds all streams are open")
    parser.add_argument(
        "--max-connections", type=int, default=None, help="upstream pool (default: the gateway's)"
    )
    parser.add_argument(
        "--max-open-streams",
        type=int,
        default=20_000,
        help="server.max_open_streams (0: the gateway's default, of which NORMAL traffic may "
        "fill 90 %%)",
    )
    parser.add_argument(
        "--open-rate", type=float, default=500, help="new streams per second during the ramp"
    )
    parser.add_argument(
        "--defaults-at",
        type=int,
        default=0,
        help="one more run at the largest size up to this with the gateway's defaults (0: none)",
    )
    args = parser.parse_args()
    sizes = args.sizes or list(FULL_SIZES if args.full else QUICK_SIZES)
    if args.max:
        sizes = sorted({min(s, args.max) for s in sizes})
    nofile = cc.raise_nofile(65536)
    # Through the gateway each stream holds two sockets in it (client side, upstream side).
    fd_cap = (nofile - 512) // 2
    capped = [s for s in sizes if s > fd_cap]
    sizes = sorted({min(s, fd_cap) for s in sizes})
    pinning = core.choose_pinning()
    if pinning.load_cpu is not None:
        import os

        os.sched_setaffinity(0, {pinning.load_cpu})
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    children = core.Children()
    with tempfile.TemporaryDirectory(prefix="sg-curve-streams-") as tmp, core.signals_raise():
        try:
            for n in sizes:
                rows.append(
                    run_size(
                        children, Path(tmp), pinning, n, args, args.max_connections,
                        args.max_open_streams or None,
                    )
                )  # fmt: skip
            at = max((s for s in sizes if s <= args.defaults_at), default=0)
            if args.defaults_at and at:
                rows.append(
                    run_size(children, Path(tmp), pinning, at, args, None, None, direct=False)
                )
        except core.StepFailed as exc:
            failures.append(str(exc))
        except KeyboardInterrupt:
            failures.append("interrupted")
        finally:
            children.close()
    note = cc.pin_note(pinning, "upstream + client", "the gateway")
    print(
        f"scale curve: open streams per gateway process ({note}; "
        f"1 delta/s per stream, opened at {args.open_rate:g}/s; open-file limit {nofile})"
    )
    if rows:
        print(render(rows))
    for failure in failures:
        print("  FAILED: " + failure)
    if capped:
        print(
            f"  NOTE: sizes {capped} capped at {fd_cap:,} streams: the open-file limit is "
            f"{nofile:,} and cannot be raised here (no CAP_SYS_RESOURCE); the gateway needs 2 "
            "sockets per stream"
        )
    settings = {
        "sizes": sizes,
        "open_rate_per_s": args.open_rate,
        "capped_by_open_file_limit": capped,
        "nofile": nofile,
        "hold_s": args.hold,
        "max_connections": args.max_connections,
        "max_open_streams": args.max_open_streams,
    }
    cc.write_result("curve_streams", settings, {"rows": rows, "failures": failures})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
