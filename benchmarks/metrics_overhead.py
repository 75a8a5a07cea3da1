#!/usr/bin/env python3
"""What the metrics cost: the core benchmark with metrics on and off, side by side.

The setup of ``gateway_overhead.py`` (whose helpers this script imports): nginx as a fast
upstream answering every ``POST /v1/messages`` with a fixed Messages reply and rate-limit
headers, one ``scalegate serve`` process pinned to its own core, ``wrk`` on the other core.
Two gateway configurations, otherwise identical:

* **off** — ``metrics_enabled: false`` and ``monitoring.access_log: off``: nothing of the
  observability work runs on the request path (no route wrapper, no usage hook);
* **on** — the defaults (metrics on, the access log for failed requests only), and a
  scraper in this script reading ``/metrics`` every ``--scrape-interval`` seconds during
  the run (a Prometheus at 15 s would cost less), plus the dashboard sampler every 2 s.

The two alternate for ``--rounds`` rounds (off, on, off, on, …), each a fresh gateway
process with its own warm-up, so that drift on a shared machine hits both alike; the median
round of each is compared. Also measured: one connection (the latency the metrics add per
request) and the gateway's own ``x-scalegate-overhead-ms`` over sequential requests. The
target (the observability issue): metrics cost less than 5 % of throughput. A measurement:
it prints and writes JSON, it never asserts; exit status 0 when every run completed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway_overhead as core

DEFAULT_JSON = core.REPO / "benchmarks" / "results" / "metrics_overhead.json"
TARGET_COST_PCT = 5.0
VARIANTS = {
    "off": "metrics_enabled: false\nmonitoring: {access_log: 'off'}\n",
    "on": "metrics_enabled: true\nmonitoring: {access_log: errors, sample_seconds: 2}\n",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3, help="off/on pairs at --connections")
    p.add_argument("--scrape-interval", type=float, default=5.0, help="seconds between scrapes")
    p.add_argument("--samples", type=int, default=200, help="sequential requests per variant")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    p.add_argument("--gateway-cmd", default=core.default_gateway_cmd())
    return p.parse_args(argv)


def start_variant(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    args: argparse.Namespace,
    upstream: str,
    variant: str,
) -> tuple[core.Child, str]:
    here = workdir / f"{variant}-{time.monotonic_ns()}"
    here.mkdir()
    child, url = core.start_gateway(
        children, here, pinning, args.gateway_cmd, upstream, core.free_port(), VARIANTS[variant]
    )
    status, _, body = core.post_once(url)
    if status != 200:
        raise core.StepFailed(f"gateway ({variant}) answered {status}: {body[:300]!r}")
    return child, url


class Scraper(threading.Thread):
    """Reads /metrics every ``interval`` seconds until stopped; records how long each took."""

    def __init__(self, url: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        self.seconds: list[float] = []
        self.bytes = 0
        self.failures = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        host, port = core._split(self.url)
        while not self._stop_event.wait(self.interval):
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=10)
                conn.request("GET", "/metrics")
                resp = conn.getresponse()
                self.bytes = len(resp.read())
                conn.close()
                if resp.status != 200:
                    self.failures += 1
                    continue
            except (OSError, http.client.HTTPException):
                self.failures += 1
                continue
            self.seconds.append(time.perf_counter() - started)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=15)


def one_run(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    args: argparse.Namespace,
    upstream: str,
    nginx: core.Child,
    variant: str,
    connections: int,
    label: str,
) -> dict[str, Any]:
    gateway, url = start_variant(children, workdir, pinning, args, upstream, variant)
    scraper = Scraper(url, args.scrape_interval) if variant == "on" else None
    try:
        script = core.write_wrk_script(workdir)
        groups = {"gateway": gateway.proc.pid, "nginx": nginx.proc.pid}
        run = core.WrkRun(label, "gateway", url, connections, args.duration)
        if scraper is not None:
            scraper.start()
        core.measure(children, workdir, pinning, script, run, args.warmup, groups)
        if scraper is not None:
            scraper.stop()
        sequential = core.sequential_samples(url, args.samples) if connections == 1 else None
        if gateway.proc.poll() is not None:
            raise core.StepFailed(f"the gateway ({variant}) exited:\n{core.tail(gateway.stderr)}")
    finally:
        if scraper is not None and scraper.is_alive():
            scraper.stop()
        children.stop(gateway)
    out: dict[str, Any] = {
        "variant": variant,
        "connections": connections,
        "requests_per_s": run.requests_per_s,
        "latency_ms": run.latency_ms,
        "non_2xx": run.non_2xx,
        "socket_errors": run.socket_errors,
        "gateway_cpu_pct": run.cpu_pct.get("gateway"),
        "other_cpu_pct": run.cpu_pct.get("other processes"),
    }
    if scraper is not None:
        out["scrapes"] = {
            "count": len(scraper.seconds),
            "failures": scraper.failures,
            "median_ms": round(statistics.median(scraper.seconds) * 1000, 2)
            if scraper.seconds
            else None,
            "bytes": scraper.bytes,
        }
    if sequential is not None:
        out["sequential"] = sequential
    return out


def pct(a: float, b: float) -> float:
    return (b - a) / a * 100 if a else 0.0


def render(result: dict[str, Any]) -> str:
    rounds = result["rounds"]
    off = [r["requests_per_s"] for r in rounds if r["variant"] == "off"]
    on = [r["requests_per_s"] for r in rounds if r["variant"] == "on"]
    c1 = {r["variant"]: r for r in result["single"]}
    lines = [
        "",
        "scalegate metrics overhead (benchmarks/metrics_overhead.py)",
        f"  {result['pinning']}; {result['settings']}",
        "",
        f"  {'':34}{'metrics off':>16}{'metrics on':>16}{'difference':>14}",
    ]

    def row(name: str, a: float | None, b: float | None, fmt: str, diff: bool = True) -> None:
        if a is None or b is None:
            lines.append(f"  {name:34}{'-':>16}{'-':>16}")
            return
        change = f"{pct(a, b):+.1f} %" if diff else ""
        lines.append(f"  {name:34}{format(a, fmt):>16}{format(b, fmt):>16}{change:>14}")

    med_off, med_on = statistics.median(off), statistics.median(on)
    row(f"requests/s at c={result['connections']} (median)", med_off, med_on, ",.0f")
    for i, (a, b) in enumerate(zip(off, on, strict=False), start=1):
        row(f"  round {i}", a, b, ",.0f")
    p50 = [
        statistics.median(r["latency_ms"]["p50"] for r in rounds if r["variant"] == v)
        for v in ("off", "on")
    ]
    p99 = [
        statistics.median(r["latency_ms"]["p99"] for r in rounds if r["variant"] == v)
        for v in ("off", "on")
    ]
    row("latency p50 at c=50 (ms)", p50[0], p50[1], ".2f")
    row("latency p99 at c=50 (ms)", p99[0], p99[1], ".2f")
    cpu = [
        statistics.median(r["gateway_cpu_pct"] or 0 for r in rounds if r["variant"] == v)
        for v in ("off", "on")
    ]
    row("gateway CPU, % of its core", cpu[0], cpu[1], ".0f", diff=False)
    if "off" in c1 and "on" in c1:
        row("requests/s at c=1", c1["off"]["requests_per_s"], c1["on"]["requests_per_s"], ",.0f")
        row(
            "latency p50 at c=1 (ms)",
            c1["off"]["latency_ms"]["p50"],
            c1["on"]["latency_ms"]["p50"],
            ".3f",
        )
        own = [c1[v]["sequential"]["overhead_header_ms"]["median"] for v in ("off", "on")]
        row("x-scalegate-overhead-ms median", own[0], own[1], ".3f")
        rtt = [c1[v]["sequential"]["rtt_ms"]["median"] for v in ("off", "on")]
        row("client round trip median (ms)", rtt[0], rtt[1], ".3f")
    scrapes = [r["scrapes"] for r in rounds if "scrapes" in r]
    timed = [s["median_ms"] for s in scrapes if s["median_ms"] is not None]
    if timed:
        count = sum(s["count"] for s in scrapes)
        med = statistics.median(timed)
        lines.append(
            f"  /metrics scrapes during the 'on' runs: {count}, median {med:.1f} ms, "
            f"{scrapes[-1]['bytes']:,} bytes"
        )
    errors = sum(r["non_2xx"] + r["socket_errors"] for r in [*rounds, *result["single"]])
    lines.append(f"  non-2xx / socket errors over all runs: {errors}")
    noisy = [r for r in rounds if (r["other_cpu_pct"] or 0) > 10]
    if noisy:
        lines.append(f"  NOISE: other processes used > 10 % of a core in {len(noisy)} run(s)")
    cost = -pct(med_off, med_on)
    verdict = "met" if cost < TARGET_COST_PCT else "MISSED"
    lines += [
        "",
        f"  metrics cost {cost:.1f} % of throughput (target < {TARGET_COST_PCT:g} %): {verdict}",
    ]
    if noisy:
        verdict += " (noisy)"
        lines.append("  (measured while other processes were busy: re-run on a quiet machine)")
    result["cost_pct"] = round(cost, 2)
    result["verdict"] = verdict
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": core.machine_info(),
        "connections": args.connections,
        "settings": f"{args.rounds} rounds of {args.duration} s (+{args.warmup} s warm-up), "
        f"scrape every {args.scrape_interval:g} s",
        "rounds": [],
        "single": [],
        "failures": [],
    }
    code = 0
    with contextlib.ExitStack() as stack, core.signals_raise():
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sg-mbench-")))
        children = core.Children()
        stack.callback(children.close)
        try:
            pinning = core.choose_pinning()
            result["pinning"] = pinning.note
            if pinning.load_cpu is not None:
                os.sched_setaffinity(0, {pinning.load_cpu})
            nginx, upstream = core.start_nginx(children, workdir, pinning, core.free_port())
            for i in range(args.rounds):
                for variant in ("off", "on"):
                    print(f"  round {i + 1}: metrics {variant} ...", file=sys.stderr)
                    result["rounds"].append(
                        one_run(
                            children,
                            workdir,
                            pinning,
                            args,
                            upstream,
                            nginx,
                            variant,
                            args.connections,
                            f"{variant}_c{args.connections}_{i}",
                        )
                    )
            for variant in ("off", "on"):
                print(f"  one connection: metrics {variant} ...", file=sys.stderr)
                result["single"].append(
                    one_run(
                        children,
                        workdir,
                        pinning,
                        args,
                        upstream,
                        nginx,
                        variant,
                        1,
                        f"{variant}_c1",
                    )
                )
        except core.StepFailed as exc:
            result["failures"].append(str(exc))
            code = 1
        except KeyboardInterrupt as exc:
            result["failures"].append(f"interrupted ({exc or 'SIGINT'})")
            code = 130
    if result["rounds"] and any(r["variant"] == "on" for r in result["rounds"]):
        print(render(result))
    for failure in result["failures"]:
        print(f"\n  FAILED: {failure}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n  results written to {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
