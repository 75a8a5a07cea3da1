"""``scalegate cache stats|top|invalidate|warm FILE`` — over the admin API of a running gateway."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scalegate.cli.admin_http import AdminError, admin_request, print_json

CHUNK = 20  # requests per warm call: the progress bar moves at least this often


def _stats(args: argparse.Namespace) -> int:
    doc = admin_request("GET", "/admin/cache/stats")
    if args.json:
        print_json(doc)
        return 0
    print(f"default mode: {doc['default_mode']}")
    print("requests: " + ", ".join(f"{k} {v}" for k, v in doc["requests"].items()))
    exact = doc.get("exact")
    if exact:
        print(
            f"exact:    {exact['entries']} entries, {exact['bytes']} bytes, "
            f"hits {exact['hits']}, misses {exact['misses']}, hit rate "
            f"{exact['hit_rate'] * 100:.1f}%, evictions {exact['evictions']}, "
            f"expired {exact['expired']}"
        )
    else:
        print("exact:    disabled")
    semantic = doc.get("semantic")
    if semantic:
        print(
            f"semantic: {semantic['store'].get('entries', 0)} entries, hits {semantic['hits']}, "
            f"misses {semantic['misses']}, near-misses {semantic['near_misses']}, guard "
            f"refusals {semantic['guard_refusals']} {semantic['guard_refusals_by_reason']}, "
            f"threshold {semantic['threshold']} ({semantic['embedder']}, {semantic['index']})"
        )
    else:
        print("semantic: disabled")
    return 0


def _top(args: argparse.Namespace) -> int:
    doc = admin_request("GET", f"/admin/cache/top?n={args.n}")
    if args.json:
        print_json(doc)
        return 0
    for kind in ("exact", "semantic"):
        for row in doc.get(kind, []):
            print(f"{kind:<8} {row['hits']:>8} hits  {row.get('label', '')}")
    return 0


def _invalidate(args: argparse.Namespace) -> int:
    body = {"namespace": args.namespace} if args.namespace else {}
    print_json(admin_request("POST", "/admin/cache/invalidate", body))
    return 0


def _read_items(path: Path) -> list[Any]:
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            items.append(json.loads(line))
        except ValueError as exc:
            raise AdminError(f"{path}:{number}: not valid JSON: {exc}") from None
    return items


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def _warm(args: argparse.Namespace) -> int:
    items = _read_items(Path(args.file))
    totals = {"cached": 0, "stored": 0, "not-stored": 0, "failed": 0}
    show = sys.stderr.isatty() or args.progress
    for start in range(0, len(items), CHUNK):
        doc = admin_request("POST", "/admin/cache/warm", {"requests": items[start : start + CHUNK]})
        for key in totals:
            totals[key] += int(doc.get(key, 0))
        for err in doc.get("errors", []):
            print(f"\nline item {start + err['index'] + 1}: {err['error']}", file=sys.stderr)
        if show:
            print(
                f"\rwarming {_bar(min(start + CHUNK, len(items)), len(items))}",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if show:
        print(file=sys.stderr)
    print(", ".join(f"{k} {v}" for k, v in totals.items()))
    return 1 if totals["failed"] else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cache = sub.add_parser("cache", help="the response caches of a running gateway")
    actions = cache.add_subparsers(dest="action", required=True)
    stats = actions.add_parser("stats", help="hits, misses, evictions, bytes, hit rate")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_stats)
    top = actions.add_parser("top", help="the entries with most hits")
    top.add_argument("-n", type=int, default=10)
    top.add_argument("--json", action="store_true")
    top.set_defaults(func=_top)
    inval = actions.add_parser(
        "invalidate", help="kill a namespace's entries (tenant or tenant/sub; none: all)"
    )
    inval.add_argument("namespace", nargs="?")
    inval.set_defaults(func=_invalidate)
    warm = actions.add_parser("warm", help="answer and store the requests of a JSONL file")
    warm.add_argument("file")
    warm.add_argument("--progress", action="store_true", help="progress bar even when piped")
    warm.set_defaults(func=_warm)
