#!/usr/bin/env python3
"""Scale curve 3: admission cost per request with 1 → 1,000 upstream keys in the pool.

In process: a :class:`scalegate.keys.KeyPool` with ``N`` keys (limits that never bind, every
key serving every model), then ``--rounds`` sequential ``acquire`` + ``settle`` pairs, each
settle carrying the provider's ``anthropic-ratelimit-*`` headers (so the header sync runs, as
in the gateway). Two stores: ``MemoryKeyStore`` (embedded mode) and ``RedisKeyStore`` against
a local ``redis-server`` on the other CPU (shared mode; heartbeat running).

Every size runs ``--repeats`` times, the sizes interleaved (1, 10, 100, 1,000, 1, 10, …), and
a row reports the median of the repeats: on a shared machine one slow stretch then shifts
every size alike instead of one of them.

Printed per ``N`` and store: p50/p99 of one acquire+settle pair (µs) and the p50 against one
key's (the flatness the issue asks for: ±20 %), pairs per second, what
Redis itself spends per script call (``INFO commandstats``), and the memory the keys' state
takes: Python heap (``tracemalloc``) for the memory store, ``used_memory`` growth for Redis.
Results: ``benchmarks/results/curve_keys.json``.

    .venv/bin/python benchmarks/curve_keys.py [--full] [--sizes 1,10,100,1000] [--rounds N]
        [--repeats R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc
import gateway_overhead as core

QUICK_SIZES = (1, 10, 100, 1000)


def make_keys(n: int) -> list[Any]:
    from scalegate.config import KeyConfig, KeyLimits
    from scalegate.keys import keys_from_config

    # The limits the upstream headers report (gateway_overhead's): header sync finds no drift.
    limits = KeyLimits(**core.KEY_LIMITS)
    configs = tuple(
        KeyConfig.model_validate({"secret": f"sk-curve-{i:05d}-{'x' * 24}", "limits": limits})
        for i in range(n)
    )
    return keys_from_config(configs)


async def one_size(n: int, rounds: int, redis_port: int | None) -> dict[str, Any]:
    from redis.asyncio import Redis

    from scalegate.keys import Demand, KeyPool, Outcome, Usage
    from scalegate.keys.redis_store import RedisKeyStore
    from scalegate.priority import Priority

    keys = make_keys(n)
    client = None
    store = None
    if redis_port is not None:
        import shared_mode

        shared_mode.redis_command(redis_port, "FLUSHALL")
        client = Redis(host="127.0.0.1", port=redis_port)
        store = RedisKeyStore(client)
        await store.start()
    tracemalloc.start()
    heap_before = tracemalloc.get_traced_memory()[0]
    pool = KeyPool(keys, store=store)
    await pool.start()
    heap_after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    row: dict[str, Any] = {"keys": n, "store": "redis" if redis_port else "memory"}
    row["pairs"] = rounds
    headers = dict(core.UPSTREAM_HEADERS)
    demand, usage = Demand(1, 120, 256), Usage(110, 200)
    try:
        for _ in range(min(200, rounds)):  # warm-up: scripts loaded, caches filled
            lease = await pool.acquire("claude-sonnet-4-5", demand, Priority.NORMAL, 1e12)
            await pool.settle(lease, Outcome.SUCCESS, usage, headers)
        if redis_port is not None:
            import shared_mode

            shared_mode.redis_command(redis_port, "CONFIG", "RESETSTAT")
        timings: list[int] = []
        started = time.perf_counter()
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            lease = await pool.acquire("claude-sonnet-4-5", demand, Priority.NORMAL, 1e12)
            await pool.settle(lease, Outcome.SUCCESS, usage, headers)
            timings.append(time.perf_counter_ns() - t0)
        elapsed = time.perf_counter() - started
        row.update(cc.micro(timings))
        row["pairs_per_s"] = rounds / elapsed
        if redis_port is not None:
            row["redis"] = cc.redis_script_stats(redis_port)
            row["redis_calls_per_pair"] = row["redis"]["calls"] / rounds
            row["state_bytes"] = await redis_bytes(client, "scalegate:*")
        else:
            row["state_bytes"] = heap_after - heap_before
        row["state_bytes_per_key"] = row["state_bytes"] / n
    finally:
        await pool.close()
        if client is not None:
            await client.aclose()
    return row


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One size's row: the median run's (by p50), with the median p99 and throughput and
    every run's p50 kept."""
    ordered = sorted(runs, key=lambda r: r["p50_us"])
    row = dict(ordered[len(ordered) // 2])
    row["p99_us"] = statistics.median(r["p99_us"] for r in runs)
    row["pairs_per_s"] = statistics.median(r["pairs_per_s"] for r in runs)
    row["runs_p50_us"] = [r["p50_us"] for r in runs]
    return row


async def redis_bytes(client: Any, pattern: str) -> int:
    """``MEMORY USAGE`` summed over the keys matching ``pattern`` (what the state takes)."""
    total = 0
    async for name in client.scan_iter(match=pattern, count=1000):
        total += await client.memory_usage(name) or 0
    return total


def render(rows: list[dict[str, Any]]) -> str:
    one = {r["store"]: r["p50_us"] for r in rows if r["keys"] == 1}
    headers = (
        "keys",
        "store",
        "acquire+settle p50 µs",
        "vs 1 key",
        "p99 µs",
        "pairs/s",
        "Redis µs/call",
        "state bytes",
        "bytes/key",
    )
    return cc.table(
        headers,
        [
            (
                r["keys"],
                r["store"],
                r["p50_us"],
                f"{(r['p50_us'] / one[r['store']] - 1) * 100:+.0f} %" if r["store"] in one else "-",
                r["p99_us"],
                r["pairs_per_s"],
                r.get("redis", {}).get("usec_per_call"),
                r["state_bytes"],
                r["state_bytes_per_key"],
            )
            for r in rows
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--full", action="store_true", help="more rounds (5,000)")
    parser.add_argument("--rounds", type=int, default=None, help="pairs per size (1,000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per size, interleaved")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes or list(QUICK_SIZES)
    rounds = args.rounds or (5000 if args.full else 1000)
    pinning = core.choose_pinning()
    if pinning.gateway_cpu is not None:
        os.sched_setaffinity(0, {pinning.gateway_cpu})  # Redis gets the other CPU
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    children = core.Children()
    with tempfile.TemporaryDirectory(prefix="sg-curve-keys-") as tmp, core.signals_raise():
        try:
            port = None if args.no_redis else cc.start_redis(children, Path(tmp), pinning.load_cpu)
            for store_port in (None, port) if port else (None,):
                runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
                for repeat in range(args.repeats):
                    for n in sizes:
                        store = "redis" if store_port else "memory"
                        print(f"  {n} keys, {store}, run {repeat + 1} ...", file=sys.stderr)
                        runs[n].append(asyncio.run(one_size(n, rounds, store_port)))
                rows.extend(median_row(runs[n]) for n in sizes)
        except core.StepFailed as exc:
            failures.append(str(exc))
        except KeyboardInterrupt:
            failures.append("interrupted")
        finally:
            children.close()
    print(
        f"scale curve: key admission (KeyPool.acquire + settle, sequential, {rounds:,} pairs "
        f"per run, median of {args.repeats} interleaved runs per size; Redis on the other CPU)"
    )
    print(render(rows))
    for failure in failures:
        print("  FAILED: " + failure)
    cc.write_result(
        "curve_keys",
        {"sizes": sizes, "rounds": rounds, "repeats": args.repeats},
        {"rows": rows, "failures": failures},
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
