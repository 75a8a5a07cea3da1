#!/usr/bin/env python3
"""Scale curve 4: tenants 1 → 10,000 — client-key lookup and tenant admission.

In process, for ``N`` tenants (one client key each, request and token limits per minute and
day plus a monthly budget, none of which binds):

* **lookup** — ``TenantDirectory.principal(client_key)`` for random known keys (SHA-256 of
  the key, one dict lookup): p50/p99 in µs, and the directory's Python heap per tenant;
* **admission** — ``TenantLimiter.admit`` + ``settle`` for random tenants, sequentially, with
  ``MemoryTenantStore`` (embedded) and ``RedisTenantStore`` (shared; a local
  ``redis-server`` on the other CPU): p50/p99 per pair, pairs per second, Redis's own µs per
  script call, and the bytes the tenants' state takes once every tenant has been admitted
  once (Python heap; Redis ``MEMORY USAGE`` summed over ``scalegate:tenants:*``).

Every size runs ``--repeats`` times, the sizes interleaved (1, 100, 1,000, 1, 100, …), and a
row reports the median of the repeats, as ``curve_keys.py`` does: on a shared machine one
slow stretch then shifts every size alike instead of one of them. The admission table shows
each size's p50 against one tenant's (the flatness issue 16 asks for: ±20 %).

Results: ``benchmarks/results/curve_tenants.json``.

    .venv/bin/python benchmarks/curve_tenants.py [--full] [--sizes 1,100,10000] [--rounds N]
        [--repeats R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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
from curve_keys import median_row, redis_bytes

QUICK_SIZES = (1, 100, 1000)
FULL_SIZES = (1, 10, 100, 1000, 10_000)
BIG = 10**12


def make_tenants(n: int) -> tuple[Any, ...]:
    from scalegate.config import TenantConfig

    return tuple(
        TenantConfig.model_validate(
            {
                "name": f"tenant-{i:05d}",
                "keys": [client_key(i)],
                "limits": {"rpm": BIG, "tpm": BIG, "rpd": BIG, "tpd": BIG},
                "monthly_budget_usd": 1e9,
            }
        )
        for i in range(n)
    )


def client_key(i: int) -> str:
    return f"ck-curve-{i:05d}-{'y' * 24}"


def lookup(tenants: tuple[Any, ...], rounds: int) -> dict[str, Any]:
    from scalegate.tenants import TenantDirectory

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    directory = TenantDirectory(tenants)
    heap = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    rng = random.Random(1)
    keys = [client_key(rng.randrange(len(tenants))) for _ in range(rounds)]
    timings = []
    for key in keys:
        t0 = time.perf_counter_ns()
        directory.principal(key)
        timings.append(time.perf_counter_ns() - t0)
    return {**cc.micro(timings), "heap_bytes": heap, "heap_bytes_per_tenant": heap / len(tenants)}


async def admission(tenants: tuple[Any, ...], rounds: int, port: int | None) -> dict[str, Any]:
    from redis.asyncio import Redis

    from scalegate.clock import SystemClock
    from scalegate.tenants.limits import MemoryTenantStore, RedisTenantStore, TenantLimiter

    client = None
    if port is not None:
        import shared_mode

        shared_mode.redis_command(port, "FLUSHALL")
        client = Redis(host="127.0.0.1", port=port)
        store: Any = RedisTenantStore(client)
    else:
        store = MemoryTenantStore(SystemClock())
    limiter = TenantLimiter(store)
    row: dict[str, Any] = {"tenants": len(tenants), "store": "redis" if port else "memory"}
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for tenant in tenants:  # every tenant admitted once: its state exists
            ticket = await limiter.admit(tenant, 376)
            await limiter.settle(ticket, 310, 0.0012)
        heap = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        if port is not None:
            import shared_mode

            shared_mode.redis_command(port, "CONFIG", "RESETSTAT")
        rng = random.Random(2)
        order = [tenants[rng.randrange(len(tenants))] for _ in range(rounds)]
        timings = []
        started = time.perf_counter()
        for tenant in order:
            t0 = time.perf_counter_ns()
            ticket = await limiter.admit(tenant, 376)
            await limiter.settle(ticket, 310, 0.0012)
            timings.append(time.perf_counter_ns() - t0)
        elapsed = time.perf_counter() - started
        row.update(cc.micro(timings))
        row["pairs_per_s"] = rounds / elapsed
        if port is not None:
            row["redis"] = cc.redis_script_stats(port)
            row["state_bytes"] = await redis_bytes(client, "scalegate:tenants:*")
        else:
            row["state_bytes"] = heap
        row["state_bytes_per_tenant"] = row["state_bytes"] / len(tenants)
    finally:
        if client is not None:
            await client.aclose()
    return row


def median_lookup(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One size's lookup row: the median run's (by p50), with the median p99."""
    row = dict(sorted(runs, key=lambda r: r["p50_us"])[len(runs) // 2])
    row["p99_us"] = statistics.median(r["p99_us"] for r in runs)
    row["runs_p50_us"] = [r["p50_us"] for r in runs]
    return row


def render(lookups: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    one = {r["store"]: r["p50_us"] for r in rows if r["tenants"] == 1}
    first = cc.table(
        ("tenants", "principal() p50 µs", "p99 µs", "directory heap bytes/tenant"),
        [(r["tenants"], r["p50_us"], r["p99_us"], r["heap_bytes_per_tenant"]) for r in lookups],
    )
    second = cc.table(
        ("tenants", "store", "admit+settle p50 µs", "vs 1 tenant", "p99 µs", "pairs/s",
         "Redis µs/call", "state bytes/tenant"),
        [
            (
                r["tenants"], r["store"], r["p50_us"],
                f"{(r['p50_us'] / one[r['store']] - 1) * 100:+.0f} %"
                if r["store"] in one else "-",
                r["p99_us"], r["pairs_per_s"],
                r.get("redis", {}).get("usec_per_call"), r["state_bytes_per_tenant"],
            )
            for r in rows
        ],
    )  # fmt: skip
    return first + "\n\n" + second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--full", action="store_true", help=f"sizes {FULL_SIZES}")
    parser.add_argument("--rounds", type=int, default=None, help="lookups/pairs per size")
    parser.add_argument("--repeats", type=int, default=5, help="runs per size, interleaved")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes or list(FULL_SIZES if args.full else QUICK_SIZES)
    rounds = args.rounds or (5000 if args.full else 1000)
    pinning = core.choose_pinning()
    if pinning.gateway_cpu is not None:
        os.sched_setaffinity(0, {pinning.gateway_cpu})
    lookups: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    children = core.Children()
    with tempfile.TemporaryDirectory(prefix="sg-curve-tenants-") as tmp, core.signals_raise():
        try:
            port = None if args.no_redis else cc.start_redis(children, Path(tmp), pinning.load_cpu)
            stores = (None, port) if port is not None else (None,)
            made = {n: make_tenants(n) for n in sizes}
            looked: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
            runs: dict[tuple[int, int | None], list[dict[str, Any]]] = {}
            for repeat in range(args.repeats):
                for n in sizes:
                    print(f"  {n} tenants, run {repeat + 1} ...", file=sys.stderr)
                    looked[n].append({"tenants": n, **lookup(made[n], rounds * 10)})
                    for store_port in stores:
                        run = asyncio.run(admission(made[n], rounds, store_port))
                        runs.setdefault((n, store_port), []).append(run)
            lookups = [median_lookup(looked[n]) for n in sizes]
            rows = [median_row(runs[n, p]) for p in stores for n in sizes]
        except core.StepFailed as exc:
            failures.append(str(exc))
        except KeyboardInterrupt:
            failures.append("interrupted")
        finally:
            children.close()
    print(
        f"scale curve: tenants (lookup and admission, sequential; {rounds:,} pairs per run, "
        f"median of {args.repeats} interleaved runs per size)"
    )
    print(render(lookups, rows))
    for failure in failures:
        print("  FAILED: " + failure)
    cc.write_result(
        "curve_tenants",
        {"sizes": sizes, "rounds": rounds, "repeats": args.repeats},
        {"lookup": lookups, "rows": rows, "failures": failures},
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
