#!/usr/bin/env python3
"""Scale curve 2: SSE events relayed per second per core — scalegate, direct, and Portkey.

A fast upstream (``sse_upstream.py --interval 0``: long streams of ``--events`` text deltas
each, ``--batch`` deltas per write, the Anthropic event sequence) and the load generator
(``sse_client.py --mode count``: ``--concurrency`` loops, each reading one stream after another
and counting ``event:`` lines) share the first CPU; the proxy under test runs alone on the
second. For each framing (``--batch``: deltas per upstream write, 1 and 4 by default):

* **direct** — the client reads the upstream itself (the ceiling of this setup), once;
* **scalegate** — one ``scalegate serve`` process (two keys whose limits never bind);
* **portkey** — Portkey's open-source gateway (npm ``@portkey-ai/gateway``, one Node process,
  ``x-portkey-provider: anthropic`` and ``x-portkey-custom-host`` pointing at the upstream),
  installed by ``scripts/bench-deps.sh`` under ``benchmarks/.node``; started with
  ``portkey_fetch_shim.mjs`` preloaded, without which Portkey 1.15 on Node answers every
  request with a 500 (``TypeError: immutable``, Portkey-AI/gateway #1389 and #1550);

scalegate and Portkey alternately, ``--rounds`` times each (how a relay's reads coalesce
depends on timing, so one run of each moves by up to 2x on this machine; the summary is the
median of the rounds and its ratio).

Printed: events/s the client received, the proxy's CPU (% of one core), events/s per core of
the proxy (events/s ÷ its CPU share: comparable even when the proxy is not the bottleneck),
events per completed stream (2,000 deltas + 5 framing events when nothing is lost) and
errors. Results: ``benchmarks/results/curve_sse_relay.json``.

    .venv/bin/python benchmarks/curve_sse_relay.py [--duration 10] [--events 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc
import gateway_overhead as core

PORTKEY_JS = cc.BENCH / ".node" / "node_modules" / "@portkey-ai" / "gateway" / "build"
PORTKEY_SERVER = PORTKEY_JS / "start-server.js"
FETCH_SHIM = cc.BENCH / "portkey_fetch_shim.mjs"  # why: see the file


def start_portkey(
    children: core.Children, workdir: Path, pinning: core.Pinning
) -> tuple[core.Child, str] | None:
    node = shutil.which("node")
    if node is None or not PORTKEY_SERVER.exists():
        return None
    port = core.free_port()
    argv = [
        *pinning.prefix(pinning.gateway_cpu),
        node,
        "--import",
        FETCH_SHIM.as_uri(),
        str(PORTKEY_SERVER),
        f"--port={port}",
        "--headless",
    ]
    env = {**os.environ, "NODE_ENV": "production"}
    child = children.start("portkey", argv, workdir, env=env)
    url = f"http://127.0.0.1:{port}"
    # Portkey answers GET / with a plain "AI Gateway says hey!".
    core.wait_ready(child, lambda: core.get_status(url + "/") == 200, "portkey", child.stderr)
    return child, url


def measure(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    name: str,
    url: str,
    groups: dict[str, int],
    args: argparse.Namespace,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    print(f"  {name}: {args.concurrency} streams at a time ...", file=sys.stderr)
    cc.run_sse_client(
        children, workdir, pinning.load_cpu, url, "count", args.concurrency,
        duration=2, name=f"{name}-warmup", extra=extra,
    )  # fmt: skip
    before = core.CpuSnapshot.take(groups)
    raw = cc.run_sse_client(
        children, workdir, pinning.load_cpu, url, "count", args.concurrency,
        duration=args.duration, name=name, extra=extra,
    )  # fmt: skip
    after = core.CpuSnapshot.take(groups)
    cpu, busy = core.cpu_usage(before, after, reaped_as="client")
    proxy_pct = cpu.get("proxy")
    eps = raw["events_per_s"]
    return {
        "target": name,
        "events_per_s": eps,
        "mb_per_s": raw["bytes"] / raw["elapsed_s"] / 1e6,
        "streams_completed": raw["streams_completed"],
        "events_per_stream": raw["events"] / raw["streams_completed"]
        if raw["streams_completed"]
        else None,
        "proxy_cpu_pct": proxy_pct,
        "events_per_s_per_core": eps / (proxy_pct / 100) if proxy_pct else None,
        "errors": raw["errors"],
        "cpu_pct": cpu,
        "core_busy_pct": busy,
    }


def render(rows: list[dict[str, Any]]) -> str:
    headers = (
        "",
        "events/s",
        "MB/s",
        "proxy CPU %",
        "events/s per proxy core",
        "events/stream",
        "upstream+client CPU %",
        "errors",
    )
    out = []
    for r in rows:
        load = r["cpu_pct"].get("upstream", 0.0) + r["cpu_pct"].get("client", 0.0)
        out.append(
            (
                r["target"] + (f" #{r['round']}" if "round" in r else ""),
                r["events_per_s"],
                r["mb_per_s"],
                r["proxy_cpu_pct"],
                r["events_per_s_per_core"],
                r["events_per_stream"],
                load,
                ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0",
            )
        )
    return cc.table(headers, out)


def summarise(rows: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """Medians over the rounds of one framing, and scalegate's ratio to Portkey per core."""
    med: dict[str, float | None] = {}
    for name in ("scalegate", "portkey"):
        values = [
            r["events_per_s_per_core"]
            for r in rows
            if r["target"] == name and r["batch"] == batch and r["events_per_s_per_core"]
        ]
        med[name] = statistics.median(values) if values else None
    sg, pk = med["scalegate"], med["portkey"]
    return {
        "batch": batch,
        "scalegate_per_core_median": sg,
        "portkey_per_core_median": pk,
        "ratio": sg / pk if sg and pk else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--events", type=int, default=2000, help="text deltas per stream")
    parser.add_argument(
        "--batch", default="1,4", help="deltas per upstream write, one run each (comma list)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="scalegate/portkey alternations")
    parser.add_argument("--concurrency", type=int, default=8, help="streams at a time")
    parser.add_argument("--full", action="store_true", help="20 s runs, 16 streams at a time")
    parser.add_argument("--no-portkey", action="store_true")
    args = parser.parse_args()
    if args.full:  # longer, and more streams at a time so that each proxy is CPU-bound
        args.duration = max(args.duration, 20)
        args.concurrency = max(args.concurrency, 16)
    batches = [int(b) for b in str(args.batch).split(",")]
    pinning = core.choose_pinning()
    if pinning.load_cpu is not None:
        os.sched_setaffinity(0, {pinning.load_cpu})
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    children = core.Children()
    with tempfile.TemporaryDirectory(prefix="sg-curve-relay-") as tmp, core.signals_raise():
        workdir = Path(tmp)
        try:
            proxies = start_proxies(children, workdir, pinning, args, failures)
            for batch in batches:
                run_framing(children, workdir, pinning, args, batch, proxies, rows)
        except core.StepFailed as exc:
            failures.append(str(exc))
        except KeyboardInterrupt:
            failures.append("interrupted")
        finally:
            children.close()
    summary = [summarise(rows, batch) for batch in batches]
    note = cc.pin_note(pinning, "upstream + client", "the proxy")
    print(
        f"scale curve: SSE events relayed per second ({note}; "
        f"{args.events} deltas per stream, {args.concurrency} streams at a time, "
        f"{args.duration:g} s runs, {args.rounds} alternating rounds per proxy)"
    )
    for batch in batches:
        print(f"\n  {batch} delta(s) per upstream write")
        print(render([r for r in rows if r["batch"] == batch]))
    print()
    for s in summary:
        sg, pk, ratio = s["scalegate_per_core_median"], s["portkey_per_core_median"], s["ratio"]
        print(
            f"  {s['batch']} per write: events/s per proxy core, median of rounds: "
            f"scalegate {sg or 0:,.0f}, portkey {pk or 0:,.0f}"
            + (f" = {ratio:.2f}x" if ratio else "")
        )
    for failure in failures:
        print("  FAILED: " + failure)
    settings = {
        "duration_s": args.duration,
        "events_per_stream": args.events,
        "batches": batches,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "pinning": cc.pin_note(pinning, "upstream + client", "the proxy"),
    }
    result = {"rows": rows, "summary": summary, "failures": failures}
    cc.write_result("curve_sse_relay", settings, result)
    return 1 if failures else 0


Proxies = dict[str, tuple[str, tuple[str, ...], int]]  # name → (url, client flags, pid)


def start_proxies(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    args: argparse.Namespace,
    failures: list[str],
) -> Proxies:
    """Both proxies, started once, idle while the other is measured; their upstream (one
    per framing) is named per request by a header (Portkey) or by a gateway per upstream."""
    proxies: Proxies = {}
    if not args.no_portkey:
        started = start_portkey(children, workdir, pinning)
        if started is None:
            failures.append("portkey not installed: run `bash scripts/bench-deps.sh`")
        else:
            portkey, pk_url = started
            proxies["portkey"] = (
                pk_url,
                ("--header", "x-portkey-provider:anthropic"),
                portkey.proc.pid,
            )
    return proxies


def run_framing(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    args: argparse.Namespace,
    batch: int,
    proxies: Proxies,
    rows: list[dict[str, Any]],
) -> None:
    """direct once, then scalegate and Portkey alternately, ``args.rounds`` times each."""
    upstream, up_url = cc.start_sse_upstream(
        children, workdir, pinning.load_cpu, events=args.events, interval=0, batch=batch
    )
    up = {"upstream": upstream.proc.pid}
    rows.append({**measure(children, workdir, pinning, "direct", up_url, up, args), "batch": batch})
    gateway, gw_url = cc.start_gateway_with(
        children, workdir, pinning, up_url, max_connections=10_000
    )
    targets = {"scalegate": (gw_url, (), gateway.proc.pid)}
    if "portkey" in proxies:
        pk_url, flags, pid = proxies["portkey"]
        host = ("--header", f"x-portkey-custom-host:{up_url}/v1")
        targets["portkey"] = (pk_url, (*flags, *host), pid)
    for round_ in range(1, args.rounds + 1):
        for name, (url, extra, pid) in targets.items():
            groups = {**up, "proxy": pid}
            row = measure(children, workdir, pinning, name, url, groups, args, extra)
            rows.append({**row, "batch": batch, "round": round_})
    children.stop(gateway)
    children.stop(upstream)


if __name__ == "__main__":
    sys.exit(main())
