#!/usr/bin/env python3
"""Scale curve 5: cache entries 10k → 1M — lookup latency and memory, exact and semantic.

Each (cache, size) runs in a fresh child process of this script, so that its resident
memory says what the entries cost:

* **exact** — an :class:`~scalegate.cache.ExactCache` (memory store) filled with ``N``
  entries of a realistic ~500-byte Messages reply under 64-hex keys; ``get`` of random stored
  keys (hits) and of unknown ones (misses): p50/p99 in µs, RSS per entry.
* **semantic** — a ``MemorySemanticStore`` (384 dimensions, one partition: every entry is a
  candidate, the worst case) filled with ``N`` random unit vectors; queries are stored vectors
  with a little noise (a near-duplicate hit), timed through the store's ``search`` (k=4,
  floor 0.87, as ``SemanticCache`` asks), not the embedder. At every size the exact numpy
  index is timed; past the store's ANN threshold (20k) the partition is then moved to usearch
  HNSW the way the store does it (built in a worker thread), and timed again, with its recall
  (the query's source vector found first) and its build time. ``--ann-max`` bounds the sizes
  at which the HNSW graph is built (100k with ``--full``: ~1.8 ms per vector on two busy
  cores, so 1M would take half an hour; past it only the numpy index is timed).
* **semantic + MiniLM + guard** at 10k — one line with the whole lookup
  (``SemanticCache.lookup``: embedding, search, near-miss guard), using
  ``cache_semantic_latency.py``'s fill and queries.

Results: ``benchmarks/results/curve_cache.json``.

    .venv/bin/python benchmarks/curve_cache.py [--full] [--sizes 10000,100000] [--ann-max N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import curve_common as cc
import gateway_overhead as core

QUICK_SIZES = (10_000, 30_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
VALUE = core.UPSTREAM_BODY.encode()
DIMS = 384


def rss_bytes() -> int:
    gc.collect()
    return (core.read_status_kb(os.getpid(), "VmRSS") or 0) * 1024


def timed_ms(values_ns: list[int]) -> dict[str, float | None]:
    q = cc.quantiles([v / 1e6 for v in values_ns])
    return {"p50_ms": q["p50"], "p99_ms": q["p99"]}


async def exact(n: int, rounds: int) -> dict[str, Any]:
    import random

    from scalegate.cache import ExactCache

    before = rss_bytes()
    cache = ExactCache(max_entries=n + 10, max_bytes=1 << 40, ttl_seconds=86_400)
    keys = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(n)]
    started = time.perf_counter()
    for i, key in enumerate(keys):
        await cache.set(key, b"%b%08d" % (VALUE, i))  # each entry its own bytes
    fill_s = time.perf_counter() - started
    after = rss_bytes()
    rng = random.Random(3)
    hits, misses = [], []
    for i in range(rounds):
        key = keys[rng.randrange(n)]
        t0 = time.perf_counter_ns()
        found = await cache.get(key)
        hits.append(time.perf_counter_ns() - t0)
        assert found is not None
        t0 = time.perf_counter_ns()
        await cache.get(f"missing-{i}")
        misses.append(time.perf_counter_ns() - t0)
    return {
        "kind": "exact",
        "entries": n,
        "fill_s": fill_s,
        "hit": cc.micro(hits),
        "miss": cc.micro(misses),
        "rss_bytes": after - before,
        "bytes_per_entry": (after - before) / n,
        "value_bytes": len(VALUE),
    }


async def semantic(n: int, rounds: int, ann_max: int) -> dict[str, Any]:
    import numpy as np

    from scalegate.cache import MemorySemanticStore
    from scalegate.cache.keys import Namespace
    from scalegate.cache.store import Bounds
    from scalegate.cache.vectors import ANN_THRESHOLD

    ns = Namespace()
    before = rss_bytes()
    # Exact (numpy) index while filling: per-vector HNSW inserts would take ~1 ms each.
    store = MemorySemanticStore(DIMS, Bounds(n + 10, 1 << 40, 86_400), ann_threshold=10**12)
    rng = np.random.default_rng(1)
    kept = None
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, n, batch):
        vecs = rng.standard_normal((min(batch, n - start), DIMS)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        if kept is None:
            kept = vecs[: min(len(vecs), 1000)].copy()
        for j, vec in enumerate(vecs):
            i = start + j
            await store.add(ns, "p", f"synthetic prompt {i}", vec, b"%b%08d" % (VALUE, i))
    fill_s = time.perf_counter() - started
    after = rss_bytes()
    assert kept is not None
    rounds = min(rounds, max(200, 100_000_000 // n))  # exact search at 1M: ~0.1 s each
    noise = rng.standard_normal((rounds, DIMS)).astype(np.float32) * 0.01
    sources = [i % len(kept) for i in range(rounds)]
    queries = kept[sources] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    row: dict[str, Any] = {
        "kind": "semantic",
        "entries": n,
        "searches": rounds,
        "fill_s": fill_s,
        "rss_bytes": after - before,
        "bytes_per_entry": (after - before) / n,
        "numpy": await search_timing(store, ns, queries, sources),
    }
    if n > ANN_THRESHOLD and n <= ann_max:
        # Reach into the one partition to let it move to HNSW the way the store does it
        # (past ann_threshold, on the next add, built in a worker thread): a benchmark-only
        # shortcut around filling 1M entries through per-vector HNSW inserts.
        part = next(iter(store._parts.values()))
        part.index.ann_threshold = ANN_THRESHOLD
        started = time.perf_counter()
        await store.add(ns, "p", "one more", queries[0], VALUE)
        await store.wait_for_builds()
        row["ann_build_s"] = time.perf_counter() - started
        row["ann_index"] = part.index.kind
        row["rss_bytes_with_ann"] = rss_bytes() - before
        row["usearch"] = await search_timing(store, ns, queries, sources)
    return row


async def search_timing(store: Any, ns: Any, queries: Any, sources: list[int]) -> dict[str, Any]:
    timings = []
    found_source = 0
    for q, src in zip(queries, sources, strict=True):
        t0 = time.perf_counter_ns()
        cands = await store.search(ns, "p", q, 4, 0.87)
        timings.append(time.perf_counter_ns() - t0)
        # ids count from 1 in insertion order; the kept vectors are the first ones added.
        if cands and cands[0].id == str(src + 1):
            found_source += 1
    return {**timed_ms(timings), "recall_at_1": found_source / len(sources)}


async def embedder_line(n: int, rounds: int) -> dict[str, Any]:
    import cache_semantic_latency as csl

    from scalegate.cache import MemorySemanticStore, MiniLMEmbedder, SemanticCache
    from scalegate.cache.store import Bounds

    embedder = MiniLMEmbedder()
    prompts = [
        json.loads(x)["a"]
        for x in (cc.BENCH / "data" / "semantic_pairs.jsonl").read_text().splitlines()
    ][:300]
    store = MemorySemanticStore(DIMS, Bounds(n + 10, 1 << 40, 86_400), ann_threshold=10**12)
    cache = SemanticCache(embedder, store)
    await csl.fill(cache, n, DIMS, prompts)
    await csl.measure(cache, 20)
    res = await csl.measure(cache, rounds)
    await cache.close()
    return {"kind": "semantic+minilm+guard", "entries": n, **res}


def child(spec: str, rounds: int, ann_max: int) -> int:
    kind, size = spec.split(":")
    n = int(size)
    if kind == "exact":
        result = asyncio.run(exact(n, rounds))
    elif kind == "semantic":
        result = asyncio.run(semantic(n, rounds, ann_max))
    else:
        result = asyncio.run(embedder_line(n, min(rounds, 300)))
    sys.stdout.write("CACHE_RESULT " + json.dumps(result) + "\n")
    return 0


def run_child(spec: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"  {spec} ...", file=sys.stderr)
    argv = [sys.executable, __file__, "--one", spec, "--rounds", str(args.rounds)]
    argv += ["--ann-max", str(args.ann_max)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("CACHE_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("CACHE_RESULT "))
            return result
    raise core.StepFailed(f"{spec} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def render(rows: list[dict[str, Any]]) -> str:
    exact_rows = [r for r in rows if r["kind"] == "exact"]
    sem_rows = [r for r in rows if r["kind"] == "semantic"]
    emb_rows = [r for r in rows if r["kind"] == "semantic+minilm+guard"]
    out = []
    if exact_rows:
        out.append(
            cc.table(
                ("exact entries", "hit p50 µs", "hit p99 µs", "miss p50 µs", "RSS MB", "B/entry"),
                [
                    (
                        r["entries"],
                        r["hit"]["p50_us"],
                        r["hit"]["p99_us"],
                        r["miss"]["p50_us"],
                        r["rss_bytes"] / 2**20,
                        r["bytes_per_entry"],
                    )
                    for r in exact_rows
                ],
            )
        )
    if sem_rows:
        table_rows = []
        for r in sem_rows:
            for index in ("numpy", "usearch"):
                t = r.get(index)
                if t is None:
                    continue
                rss = r["rss_bytes_with_ann"] if index == "usearch" else r["rss_bytes"]
                table_rows.append(
                    (
                        r["entries"], index, t["p50_ms"], t["p99_ms"], t["recall_at_1"],
                        rss / 2**20, rss / r["entries"], r.get("ann_build_s") if index == "usearch"
                        else None,
                    )
                )  # fmt: skip
        out.append(
            cc.table(
                (
                    "semantic entries",
                    "index",
                    "search p50 ms",
                    "p99 ms",
                    "recall@1",
                    "RSS MB",
                    "B/entry",
                    "HNSW build s",
                ),
                table_rows,
            )
        )
    for r in emb_rows:
        out.append(
            f"  semantic at {r['entries']:,} entries with MiniLM + guard (SemanticCache.lookup): "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (embedding p50 "
            f"{r['embed_p50_ms']:.2f} ms, search+guard p50 {r['search_p50_ms']:.2f} ms)"
        )
    return "\n\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--full", action="store_true", help=f"sizes {FULL_SIZES}")
    parser.add_argument("--rounds", type=int, default=1000, help="lookups per size")
    parser.add_argument("--ann-max", type=int, default=None, help="largest size given HNSW")
    parser.add_argument("--no-embedder", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ann_max is None:
        # Building HNSW took ~1.8 ms per vector here (54 s for 30k on a busy 2-core machine).
        args.ann_max = 100_000 if args.full else 30_000
    if args.one:
        return child(args.one, args.rounds, args.ann_max)
    sizes = args.sizes or list(FULL_SIZES if args.full else QUICK_SIZES)
    specs = [f"exact:{n}" for n in sizes] + [f"semantic:{n}" for n in sizes]
    if not args.no_embedder:
        specs.append("embed:10000")
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for spec in specs:
        try:
            rows.append(run_child(spec, args))
        except (core.StepFailed, subprocess.TimeoutExpired) as exc:
            failures.append(str(exc))
    print(
        f"scale curve: cache entries (in process, one child per size; {args.rounds:,} lookups; "
        f"HNSW built up to {args.ann_max:,} entries)"
    )
    print(render(rows))
    for failure in failures:
        print("  FAILED: " + failure)
    settings = {"sizes": sizes, "rounds": args.rounds, "ann_max": args.ann_max}
    cc.write_result("curve_cache", settings, {"rows": rows, "failures": failures})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
