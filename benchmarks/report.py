#!/usr/bin/env python3
"""Run the benchmarks and regenerate the README's "Performance, measured" table from them.

Runs the scale curves (``curve_*.py``, quick sizes unless ``--full``) and
``gateway_overhead.py`` one after another, each writing ``benchmarks/results/<name>.json``;
then rebuilds the table between ``<!-- bench-table:start -->`` and
``<!-- bench-table:end -->`` in ``README.md`` from whatever results are there (also
``shared_mode.json`` when present), stamped with the commit, the date and the machine (cores
and CPU model). Every number in the table is read from a results file: nothing is typed in.
A script that fails is reported and its old results (if any) are used, marked with their own
commit and date.

    .venv/bin/python benchmarks/report.py            # quick sizes, ~10 minutes
    .venv/bin/python benchmarks/report.py --full     # whole curves (10,000 streams, 1M entries)
    .venv/bin/python benchmarks/report.py --no-run   # only rebuild the table from results/
    .venv/bin/python benchmarks/report.py --only curve_keys,curve_tenants
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc

README = cc.core.REPO / "README.md"
START = "<!-- bench-table:start -->"
END = "<!-- bench-table:end -->"

# name → (quick arguments, --full arguments)
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "gateway_overhead": (["--duration", "5"], []),
    "curve_streams": ([], ["--full"]),
    "curve_sse_relay": ([], ["--full"]),
    "curve_keys": ([], ["--full"]),
    "curve_tenants": ([], ["--full"]),
    "curve_cache": ([], ["--full"]),
    "curve_processes": ([], ["--full"]),
}


def run_scripts(names: list[str], full: bool, head: str) -> list[dict[str, Any]]:
    log = []
    env = {**os.environ, "SCALEGATE_BENCH_COMMIT": head}
    for name in names:
        quick, whole = SCRIPTS[name]
        argv = [sys.executable, str(cc.BENCH / f"{name}.py"), *(whole if full else quick)]
        print(f"== {name} {' '.join(argv[2:])}", flush=True)
        started = time.monotonic()
        # The script prints its own table; it stays on this terminal.
        code = subprocess.run(argv, check=False, timeout=3 * 3600, env=env).returncode
        log.append(
            {"script": name, "args": argv[2:], "exit": code, "seconds": time.monotonic() - started}
        )
        if code != 0:
            print(f"!! {name} exited with {code}; its table row uses what it wrote, if anything")
    return log


def load(name: str) -> dict[str, Any] | None:
    path = cc.RESULTS / f"{name}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def n(value: float | None, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


# ---------------------------------------------------------------------------------------------
# One formatter per results file: (what, result) rows, numbers only from the file


def rows_gateway_overhead(d: dict[str, Any]) -> list[tuple[str, str]]:
    run = d.get("runs", {}).get("gateway_c50", {})
    added = d.get("targets", {}).get("added_median_ms_c1", {}).get("value")
    peak = d.get("gateway", {}).get("peak_rss_mb")
    return [
        (
            "non-streaming, fast upstream (nginx), 50 connections (`gateway_overhead.py`)",
            f"{n(run.get('requests_per_s'))} req/s; +{n(added, '.2f')} ms median added at one "
            f"connection; {n(peak, '.0f')} MB peak RSS",
        )
    ]


def rows_shared_mode(d: dict[str, Any]) -> list[tuple[str, str]]:
    by = {r["variant"]: r for r in d.get("rows", [])}
    one, two = by.get("shared", {}), by.get("shared --workers 2", {})
    return [
        (
            "shared mode, state in Redis (`shared_mode.py`)",
            f"{n(one.get('requests_per_s'))} req/s in one process, "
            f"{n(two.get('requests_per_s'))} with `--workers 2`; "
            f"{n(one.get('redis_round_trips_per_request'), '.2f')} Redis round trips per request",
        )
    ]


def rows_curve_streams(d: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for r in d.get("rows", []):
        g, a = r["gateway"], r.get("added", {})
        errors = sum(g["errors"].values())
        sized = r.get("max_open_streams")
        label = f"{r['streams']:,} open streams, 1 event/s each"
        label += (
            f", `max_open_streams` {sized:,}" if isinstance(sized, int) else ", default settings"
        )
        text = (
            f"{n(r['gateway_rss_peak_mb'])} MB peak RSS ({n(r['bytes_per_stream'] / 1024, '.1f')}"
            f" KB per stream); gateway CPU {n(r['cpu_pct'].get('gateway'))} % on average, "
            f"{n(r.get('gateway_cpu_peak_pct'))} % in the busiest second; "
        )
        if a and "first_content_ms_p50" in a:
            text += (
                f"first content event {n(a['first_content_ms_p50'], '+,.1f')} ms p50 / "
                f"{n(a['first_content_ms_p99'], '+,.1f')} ms p99 added, each later event "
                f"{n(a['event_delay_ms_p50'], '+,.1f')} / "
                f"{n(a['event_delay_ms_p99'], '+,.1f')} ms (the opening events are held "
                "until content begins: first byte "
                f"{n(a['first_event_ms_p50'], '+,.0f')} ms p50); "
            )
        elif a:
            text += (
                f"first event {n(a['first_event_ms_p50'], '+,.1f')} ms p50 / "
                f"{n(a['first_event_ms_p99'], '+,.1f')} ms p99 added, each event "
                f"{n(a['event_delay_ms_p50'], '+,.1f')} / "
                f"{n(a['event_delay_ms_p99'], '+,.1f')} ms; "
            )
        else:
            fe = g["first_event_ms"]
            text += f"first event {n(fe['p50'])} ms p50 / {n(fe['p99'])} ms p99; "
        text += f"{g['completed']:,} completed, {errors:,} errors"
        if errors:
            text += " (" + ", ".join(f"{k}: {v:,}" for k, v in g["errors"].items()) + ")"
        out.append((f"{label} (`curve_streams.py`)", text))
    return out


def rows_curve_sse_relay(d: dict[str, Any]) -> list[tuple[str, str]]:
    s = d.get("settings", {})
    out = []
    for summary in d.get("summary", []):
        batch = summary["batch"]
        rows = [r for r in d.get("rows", []) if r.get("batch") == batch]
        direct = next((r for r in rows if r["target"] == "direct"), None)
        sg, pk = summary["scalegate_per_core_median"], summary["portkey_per_core_median"]
        parts = []
        if sg:
            parts.append(f"scalegate {n(sg)} events/s per core of the proxy")
        if pk:
            parts.append(f"portkey {n(pk)}")
        text = ", ".join(parts)
        if summary.get("ratio"):
            text += f" (**{summary['ratio']:.2f}×**)"
        text += f"; medians of {s.get('rounds', '?')} alternating rounds"
        if direct is not None:
            text += (
                f"; the client reading the upstream directly: {n(direct['events_per_s'])} events/s"
            )
        errs = sum(sum(r["errors"].values()) for r in rows)
        text += f"; {errs:,} errors"
        out.append(
            (
                f"SSE relay, {s.get('events_per_stream', '?'):,}-event streams, {batch} "
                f"event(s) per upstream write, {s.get('concurrency', '?')} streams at a time "
                "(`curve_sse_relay.py`)",
                text,
            )
        )
    return out


def _pairs(rows: list[dict[str, Any]], size_key: str, store: str) -> str:
    picked = [r for r in rows if r["store"] == store]
    return ", ".join(f"{r[size_key]:,}: {n(r['p50_us'], ',.0f')} µs" for r in picked)


def rows_curve_keys(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = d.get("rows", [])
    if not rows:
        return []
    mem = [r for r in rows if r["store"] == "memory"]
    red = [r for r in rows if r["store"] == "redis"]
    repeats = d.get("settings", {}).get("repeats")
    text = "p50 per request by keys in the pool" + (
        f" (median of {repeats} interleaved runs; vs 1 key)" if repeats else ""
    )
    text += f" — memory {_against_one(mem)}"
    if red:
        text += f"; Redis {_against_one(red)}"
    big = max(mem, key=lambda r: r["keys"])
    text += f"; {n(big['state_bytes_per_key'])} B of state per key in memory"
    if red:
        text += f", {n(max(red, key=lambda r: r['keys'])['state_bytes_per_key'])} B in Redis"
    return [("key admission, `acquire` + `settle` (`curve_keys.py`)", text)]


def _against_one(rows: list[dict[str, Any]], size_key: str = "keys") -> str:
    """ "1: 34 µs, 10: 41 µs (+21 %), …": each size's p50 and its ratio to size 1's."""
    one = next((r["p50_us"] for r in rows if r[size_key] == 1), None)
    parts = []
    for r in rows:
        part = f"{r[size_key]:,}: {n(r['p50_us'], ',.0f')} µs"
        if one and r[size_key] != 1:
            part += f" ({(r['p50_us'] / one - 1) * 100:+.0f} %)"
        parts.append(part)
    return ", ".join(parts)


def rows_curve_tenants(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows, lookups = d.get("rows", []), d.get("lookup", [])
    if not rows:
        return []
    repeats = d.get("settings", {}).get("repeats")
    text = "lookup p50 " + ", ".join(
        f"{r['tenants']:,}: {n(r['p50_us'], '.1f')} µs" for r in lookups
    )
    if repeats:  # interleaved runs: each size against one tenant
        mem = [r for r in rows if r["store"] == "memory"]
        red = [r for r in rows if r["store"] == "redis"]
        text += f"; admit + settle p50 (median of {repeats} interleaved runs; vs 1 tenant)"
        text += f" — memory {_against_one(mem, 'tenants')}"
        if red:
            text += f"; Redis {_against_one(red, 'tenants')}"
        return [("tenants: key lookup and admission (`curve_tenants.py`)", text)]
    text += f"; admit + settle p50 — memory {_pairs(rows, 'tenants', 'memory')}"
    if any(r["store"] == "redis" for r in rows):
        text += f"; Redis {_pairs(rows, 'tenants', 'redis')}"
    return [("tenants: key lookup and admission (`curve_tenants.py`)", text)]


def rows_curve_cache(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = d.get("rows", [])
    out = []
    exact = [r for r in rows if r["kind"] == "exact"]
    if exact:
        out.append(
            (
                "exact cache, entries in memory (`curve_cache.py`)",
                "; ".join(
                    f"{r['entries']:,}: hit p50 {n(r['hit']['p50_us'], '.1f')} µs / p99 "
                    f"{n(r['hit']['p99_us'], '.1f')} µs, {n(r['bytes_per_entry'])} B per entry"
                    for r in exact
                ),
            )
        )
    sem = [r for r in rows if r["kind"] == "semantic"]
    if sem:
        parts = []
        for r in sem:
            part = (
                f"{r['entries']:,}: numpy p50 {n(r['numpy']['p50_ms'], '.2f')} ms / p99 "
                f"{n(r['numpy']['p99_ms'], '.2f')} ms"
            )
            if "usearch" in r:
                part += (
                    f", HNSW {n(r['usearch']['p50_ms'], '.2f')} / "
                    f"{n(r['usearch']['p99_ms'], '.2f')} ms (recall@1 "
                    f"{n(r['usearch']['recall_at_1'], '.3f')}, built in {n(r['ann_build_s'])} s)"
                )
            part += f", {n(r['bytes_per_entry'])} B per entry"
            parts.append(part)
        out.append(("semantic cache, store search only (`curve_cache.py`)", "; ".join(parts)))
    for r in rows:
        if r["kind"] == "semantic+minilm+guard":
            out.append(
                (
                    f"semantic lookup with MiniLM + guard at {r['entries']:,} entries "
                    "(`curve_cache.py`)",
                    f"p50 {n(r['p50_ms'], '.1f')} ms, p99 {n(r['p99_ms'], '.1f')} ms "
                    f"(embedding p50 {n(r['embed_p50_ms'], '.1f')} ms)",
                )
            )
    return out


def rows_curve_processes(d: dict[str, Any]) -> list[tuple[str, str]]:
    rows = d.get("rows", [])
    if not rows:
        return []
    text = "; ".join(
        f"{r['variant']}: {n(r['requests_per_s'])} req/s"
        + (
            f", {n(r['redis_round_trips_per_request'], '.2f')} Redis round trips/req"
            if r.get("redis_round_trips_per_request") is not None
            else ""
        )
        + f", {n(r['gateway_cpu_ms_per_request'], '.2f')} ms gateway CPU/req"
        for r in rows
    )
    f = d.get("fleet") or {}
    if f:
        text += (
            f"; one Redis carries ~{n(f['redis_ceiling_requests_per_s'])} req/s "
            f"= {n(f['processes_per_redis'], '.1f')} processes"
        )
    return [("gateway processes on one Redis (`curve_processes.py`)", text)]


FORMATTERS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {
    "gateway_overhead": rows_gateway_overhead,
    "shared_mode": rows_shared_mode,
    "curve_streams": rows_curve_streams,
    "curve_sse_relay": rows_curve_sse_relay,
    "curve_keys": rows_curve_keys,
    "curve_tenants": rows_curve_tenants,
    "curve_cache": rows_curve_cache,
    "curve_processes": rows_curve_processes,
}


def build_table(head: str, fresh: set[str]) -> str:
    """The README section; ``fresh``: scripts the last report run ran successfully at
    ``head`` (their rows carry no stamp of their own)."""
    last = load("report") or {}
    m = last.get("machine") or cc.machine()
    today = (last.get("date") or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))[:10]
    lines = [
        START,
        "<!-- Generated by benchmarks/report.py from benchmarks/results/*.json: do not edit. -->",
        "",
        f"Measured at commit `{head}` on {today}, on {m['cores']} cores of an "
        f"{m['cpu_model']} ({m['memory_gb']:g} GB), one run of each script named "
        "(`benchmarks/README.md` says what each measures; `make bench` re-runs them, "
        "`make bench ARGS=--full` the whole curves). The machine is shared: other work ran "
        "beside some runs (each results file records the background load), so read the "
        "numbers as one honest sample, not a best case.",
        "",
        "| what | result |",
        "| --- | --- |",
    ]
    for name, fmt in FORMATTERS.items():
        data = load(name)
        if data is None:
            continue
        try:
            rows = fmt(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            print(f"!! {name}.json could not be read ({exc!r}); left out of the table")
            continue
        stamp = ""
        if name not in fresh:
            when = data.get("date") or data.get("started_at") or "date unknown"
            at = f"at `{data['commit']}`, " if data.get("commit") else ""
            stamp = f" ({at}{when[:10]}, an earlier run)"
        for what, result in rows:
            lines.append(f"| {what} | {result}{stamp} |")
    lines.append(END)
    return "\n".join(lines)


def write_readme(table: str) -> bool:
    text = README.read_text()
    if START not in text or END not in text:
        print(f"!! {README} has no {START} … {END} markers: table printed, README untouched")
        print(table)
        return False
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    README.write_text(before + table + after)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="whole curves (about an hour)")
    parser.add_argument("--no-run", action="store_true", help="only rebuild the table")
    parser.add_argument("--only", type=lambda s: s.split(","), help="scripts to run")
    parser.add_argument("--skip", type=lambda s: s.split(","), default=[], help="not these")
    args = parser.parse_args()
    names = [s for s in (args.only or list(SCRIPTS)) if s not in args.skip]
    unknown = [s for s in names if s not in SCRIPTS]
    if unknown:
        parser.error(f"unknown scripts {unknown}; known: {', '.join(SCRIPTS)}")
    log: list[dict[str, Any]] = []
    if not args.no_run:
        head = cc.commit()
        os.environ["SCALEGATE_BENCH_COMMIT"] = head
        log = run_scripts(names, args.full, head)
        cc.write_result("report", {"full": args.full, "scripts": names}, {"runs": log})
    last = load("report") or {}
    fresh = {r["script"] for r in last.get("runs", []) if r.get("exit") == 0}
    table = build_table(last.get("commit") or cc.commit(), fresh)
    if write_readme(table):
        rows = sum(1 for line in table.splitlines() if line.startswith("| ")) - 1
        print(f"\nREADME.md's table regenerated ({rows} rows)")
    failed = [r["script"] for r in log if r["exit"] != 0]
    if failed:
        print(f"!! failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
