#!/usr/bin/env python3
"""Precision and recall of the semantic cache on the labelled pairs of benchmarks/data.

For every pair the script asks what the semantic cache would do if prompt ``a`` were cached
and prompt ``b`` arrived: embed both as the cache does (``scalegate.cache.semantic.
embedding_text``, then the configured embedder), compare the cosine similarity with the
threshold, and run the near-miss guard. It prints, at the threshold:

* paraphrase recall — paraphrases served (similarity ≥ threshold and the guard agrees);
* false hits — near-misses served; precision = true hits / all hits;
* how hard the set is — the share of near-misses at or above the threshold on the raw
  embedding (what the guard has to catch), and the false hits without the guard;
* the guard's cost — paraphrases above the threshold that it refused;
* the same per split (dev: guard tuned on it; holdout: written after) and per kind.

The threshold is ``--threshold``, else the configuration's (``--config`` /
``SEMANTIC_CACHE_THRESHOLD``, default 0.92). A measurement, not a test: it never fails on
the numbers; results go to ``benchmarks/results/semantic_eval.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / "data" / "semantic_pairs.jsonl"
RESULTS = REPO / "benchmarks" / "results" / "semantic_eval.json"


def evaluate(pairs: list[dict[str, Any]], sims: list[float], threshold: float) -> dict[str, Any]:
    from scalegate.cache.verify import near_miss_reason

    rows = []
    for pair, sim in zip(pairs, sims, strict=True):
        reason = near_miss_reason(pair["a"], pair["b"])
        above = sim >= threshold
        rows.append(
            {
                **pair,
                "similarity": round(sim, 4),
                "above": above,
                "guard": reason,
                "hit": above and reason is None,
            }
        )
    return {"rows": rows, **summarise(rows)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    para = [r for r in rows if r["label"] == "paraphrase"]
    near = [r for r in rows if r["label"] == "near_miss"]
    true_hits = sum(r["hit"] for r in para)
    false_hits = sum(r["hit"] for r in near)
    hits = true_hits + false_hits
    return {
        "paraphrases": len(para),
        "near_misses": len(near),
        "paraphrase_recall": true_hits / len(para) if para else 0.0,
        "true_hits": true_hits,
        "false_hits": false_hits,
        "precision": true_hits / hits if hits else 1.0,
        "near_misses_above_threshold": sum(r["above"] for r in near),
        "near_misses_above_share": sum(r["above"] for r in near) / len(near) if near else 0.0,
        "false_hits_without_guard": sum(r["above"] for r in near),
        "recall_without_guard": sum(r["above"] for r in para) / len(para) if para else 0.0,
        "paraphrases_refused_by_guard": sum(r["above"] and r["guard"] is not None for r in para),
    }


def print_kinds(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, int]]:
    print()
    print("near-misses by kind: pairs, at/above threshold on the raw embedding, served")
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["label"] == "near_miss":
            kinds[row["kind"]].append(row)
    by_kind = {}
    for kind, r in sorted(kinds.items()):
        above = sum(x["above"] for x in r)
        served = sum(x["hit"] for x in r)
        by_kind[kind] = {"pairs": len(r), "above": above, "served": served}
        print(f"  {kind:<9} {len(r):>4} {above:>5} {served:>5}")
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["above"] and row["guard"]:
            reasons[row["guard"]] += 1
    print(
        "guard refusals above the threshold by rule: "
        + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    )
    return by_kind, dict(reasons)


def print_targets(result: dict[str, Any]) -> None:
    print()
    print(
        "targets: zero false hits at the threshold — "
        f"{'met' if result['false_hits'] == 0 else 'MISSED'}; paraphrase recall ≥ 50 % — "
        f"{'met' if result['paraphrase_recall'] >= 0.5 else 'MISSED'}; ≥ 30 % of near-misses "
        "above the threshold on the raw embedding (the set is hard) — "
        f"{'met' if result['near_misses_above_share'] >= 0.3 else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--config", help="a scalegate YAML file (for cache.semantic.*)")
    parser.add_argument("--embedder", help="override cache.semantic.embedder (e.g. hashing)")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--json", default=str(RESULTS))
    parser.add_argument("--show", action="store_true", help="print every wrong decision")
    args = parser.parse_args(argv)

    from scalegate.cache.embed import embedder_from_spec
    from scalegate.cache.semantic import embedding_text
    from scalegate.config import load_settings

    settings = load_settings(args.config)
    threshold = args.threshold or settings.cache.semantic.threshold
    spec = args.embedder or settings.cache.semantic.embedder
    embedder: Any = embedder_from_spec(spec)
    pairs = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]

    started = time.perf_counter()
    texts = sorted({embedding_text(p[k]) for p in pairs for k in ("a", "b")})
    if hasattr(embedder, "token_count"):  # batches of one length pad least (5.6× faster)
        texts.sort(key=lambda t: (embedder.token_count(t), t))
    vectors = {}
    for i in range(0, len(texts), 64):
        batch = texts[i : i + 64]
        for text, row in zip(batch, embedder.embed(batch), strict=True):
            vectors[text] = row
    sims = [float(vectors[embedding_text(p["a"])] @ vectors[embedding_text(p["b"])]) for p in pairs]
    seconds = time.perf_counter() - started
    result = evaluate(pairs, sims, threshold)
    rows = result.pop("rows")

    print(f"semantic cache evaluation: {len(pairs)} pairs from {Path(args.data).name}")
    print(
        f"embedder {spec} ({len(texts)} prompts embedded in {seconds:.1f} s), threshold {threshold}"
    )
    print()
    header = (
        f"{'':<10} {'pairs':>5} {'recall':>7} {'false hits':>10} {'precision':>9} "
        f"{'near≥thr':>9} {'FH no guard':>11} {'guard cost':>10}"
    )
    print(header)
    splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        splits[row["split"]].append(row)
    table = {"all": result, **{name: summarise(r) for name, r in sorted(splits.items())}}
    for name, s in table.items():
        print(
            f"{name:<10} {s['paraphrases'] + s['near_misses']:>5} "
            f"{s['paraphrase_recall'] * 100:>6.1f}% {s['false_hits']:>10} "
            f"{s['precision'] * 100:>8.1f}% {s['near_misses_above_share'] * 100:>8.1f}% "
            f"{s['false_hits_without_guard']:>11} {s['paraphrases_refused_by_guard']:>10}"
        )
    by_kind, reasons = print_kinds(rows)
    print_targets(result)
    if args.show:
        print()
        for row in rows:
            wrong = row["hit"] != (row["label"] == "paraphrase")
            if wrong:
                print(
                    f"  {row['label']:<10} {row['kind']:<10} {row['similarity']:.3f} "
                    f"guard={row['guard']}  {row['a']!r} | {row['b']!r}"
                )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "threshold": threshold,
                "embedder": spec,
                "summary": table,
                "by_kind": by_kind,
                "guard_reasons": reasons,
                "pairs": rows,
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
