#!/usr/bin/env python3
"""Semantic lookup latency (embedding + search + verifier) at 10k and 100k cached entries.

A :class:`~scalegate.cache.SemanticCache` with the MiniLM embedder gets ``N`` entries in one
partition (the worst case: every entry is a candidate). Filling 100k entries through the
model would take minutes, so the stored vectors are random unit vectors plus a few hundred
real prompts (search cost does not depend on what the vectors mean); the queries are real
prompts embedded by the model, one lookup at a time, as the gateway does them. Printed per
size and index: p50/p99 of the whole lookup, and of the embedding and the search alone.

The verifier (:mod:`scalegate.cache.verify`) runs on every candidate above the threshold
(the queries' "(variant N)" copies reach it with words it has not seen); its own cost is
printed too, over the evaluation set's pairs with a fresh verifier (cold: lexicon caches
empty) and again (warm).

Indexes: ``numpy`` (exact search), ``usearch`` (HNSW, what a partition becomes past 20k
entries) and, with ``--redis``, Redis Stack through redisvl (needs the server from
``scripts/extras-cache.sh``; 10k entries only unless ``--redis-max`` says more).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUERIES = [
    "What is the capital of France?",
    "How do I reverse a list in Python?",
    "Explain recursion with an example",
    "What are the symptoms of the flu?",
    "Convert 100 F to C",
    "How do I center a div in CSS?",
    "Write a haiku about autumn",
    "What is the speed of light?",
    "How can I improve my sleep?",
    "Why is the sky blue?",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fill(cache: Any, n: int, dims: int, prompts: list[str]) -> None:
    rng = np.random.default_rng(42)
    from scalegate.cache.semantic import SemanticLookup

    real = cache.embedder.embed(prompts)
    ns = cache.backend
    batch = 2000
    for start in range(0, n, batch):
        count = min(batch, n - start)
        vecs = rng.standard_normal((count, dims)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        for i in range(count):
            idx = start + i
            if idx < len(prompts):
                prompt, vec = prompts[idx], real[idx]
            else:
                prompt, vec = f"synthetic prompt {idx}", vecs[i]
            lookup = SemanticLookup(prompt, "p", _ns(), vec)
            await cache.store_vector(lookup, b'{"type":"message"}', ttl=None, label="")
    del ns


def _ns() -> Any:
    from scalegate.cache.keys import Namespace

    return Namespace()


async def measure(cache: Any, rounds: int) -> dict[str, float]:
    totals, embeds, searches = [], [], []
    for r in range(rounds):
        query = QUERIES[r % len(QUERIES)] + ("" if r < len(QUERIES) else f" (variant {r})")
        t0 = time.perf_counter()
        vector = await cache.embed(query)
        t1 = time.perf_counter()
        await cache.lookup(query, partition="p", vector=vector)
        t2 = time.perf_counter()
        totals.append((t2 - t0) * 1000)
        embeds.append((t1 - t0) * 1000)
        searches.append((t2 - t1) * 1000)
    return {
        "p50_ms": statistics.median(totals),
        "p99_ms": pct(totals, 0.99),
        "embed_p50_ms": statistics.median(embeds),
        "embed_p99_ms": pct(embeds, 0.99),
        "search_p50_ms": statistics.median(searches),
        "search_p99_ms": pct(searches, 0.99),
    }


def verify_cost() -> dict[str, float]:
    """p50/p99 of one verification over the evaluation pairs, cold then warm."""
    from scalegate.cache.verify import Verifier

    pairs = [
        json.loads(x)
        for x in (REPO / "benchmarks/data/semantic_pairs.jsonl").read_text().split("\n")
        if x.strip()
    ]
    verifier = Verifier()
    out: dict[str, float] = {}
    for label in ("cold", "warm"):
        times = []
        for p in pairs:
            t = time.perf_counter()
            verifier.reason(p["a"], p["b"])
            times.append((time.perf_counter() - t) * 1000)
        out[f"verify_{label}_p50_ms"] = statistics.median(times)
        out[f"verify_{label}_p99_ms"] = pct(times, 0.99)
    print(
        "verifier alone: cold p50 {verify_cold_p50_ms:.3f} / p99 {verify_cold_p99_ms:.3f} ms, "
        "warm p50 {verify_warm_p50_ms:.3f} / p99 {verify_warm_p99_ms:.3f} ms".format(**out),
        flush=True,
    )
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from scalegate.cache import MemorySemanticStore, MiniLMEmbedder, SemanticCache
    from scalegate.cache.store import Bounds

    embedder = MiniLMEmbedder()
    prompts = [
        json.loads(x)["a"]
        for x in (REPO / "benchmarks/data/semantic_pairs.jsonl").read_text().splitlines()
    ][:300]
    results: dict[str, Any] = {"verifier": verify_cost()}
    for n in args.sizes:
        bounds = Bounds(max_entries=n + 10, max_bytes=1 << 34, ttl_seconds=86400)
        for kind, threshold in (("numpy", 10**9), ("usearch", 20_000)):
            if kind == "usearch" and n <= 20_000:
                continue
            store = MemorySemanticStore(384, bounds, ann_threshold=threshold)
            cache = SemanticCache(embedder, store)
            t = time.perf_counter()
            await fill(cache, n, 384, prompts)
            await store.wait_for_builds()  # the ANN index is built in a thread
            filled = time.perf_counter() - t
            await measure(cache, 20)  # warm-up
            res = await measure(cache, args.rounds)
            res["fill_seconds"] = filled
            ann = (await store.snapshot())["ann_partitions"]
            res["index"] = "usearch" if ann else "numpy"
            results[f"{n}/{kind}"] = res
            report(n, kind, res)
            await cache.close()
        if args.redis and n <= args.redis_max:
            results[f"{n}/redis"] = await run_redis(embedder, n, bounds, prompts, args.rounds)
    return results


async def run_redis(embedder: Any, n: int, bounds: Any, prompts: list[str], rounds: int) -> Any:
    from tests.redis_stack import RedisStackServer

    from scalegate.cache import RedisSemanticStore, SemanticCache
    from scalegate.state import backend_from_url

    server = RedisStackServer().start()
    try:
        backend: Any = backend_from_url(server.url)
        await backend.start()
        store = RedisSemanticStore(backend.client, 384, bounds)
        await store.start()
        cache = SemanticCache(embedder, store)
        t = time.perf_counter()
        await fill(cache, n, 384, prompts)
        filled = time.perf_counter() - t
        await measure(cache, 20)
        res = await measure(cache, rounds)
        res["fill_seconds"] = filled
        report(n, "redis", res)
        await cache.close()
        await backend.close()
        return res
    finally:
        server.stop()


def report(n: int, kind: str, r: dict[str, float]) -> None:
    print(
        f"{n:>7,} entries  {kind:<8} lookup p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
        f"   (embed p50 {r['embed_p50_ms']:5.2f} / p99 {r['embed_p99_ms']:5.2f};"
        f" search+verify p50 {r['search_p50_ms']:5.2f} / p99 {r['search_p99_ms']:5.2f};"
        f" filled in {r['fill_seconds']:.0f} s)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--redis", action="store_true", help="also Redis Stack via redisvl")
    parser.add_argument("--redis-max", type=int, default=10_000)
    parser.add_argument(
        "--json", default=str(REPO / "benchmarks/results/cache_semantic_latency.json")
    )
    args = parser.parse_args()
    results = asyncio.run(run(args))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
