"""``scalegate jobs stats|list|inspect|requeue`` — over the admin API of a running gateway."""

from __future__ import annotations

import argparse

from scalegate.cli.admin_http import admin_request, print_json


def _stats(args: argparse.Namespace) -> int:
    doc = admin_request("GET", "/admin/jobs/stats")
    if args.json:
        print_json(doc)
        return 0
    queue = doc["queue"]
    depth = ", ".join(f"{k} {v}" for k, v in queue["depth"].items())
    print(f"ready       {queue['ready']} ({depth})")
    print(f"delayed     {queue['delayed']}")
    print(f"in flight   {queue['in_flight']}")
    print(f"dead        {queue['dead']}")
    print(f"mean wait   {queue['mean_wait_seconds']:.3f}s")
    totals = ", ".join(f"{k} {v}" for k, v in sorted(queue["totals"].items()))
    print(f"totals      {totals}")
    for worker in doc["workers"]:
        print(
            f"worker      {worker['owner']}: {worker['active']} active, {worker['idle']} idle, "
            f"{worker['concurrency']} target, {worker['restarts']} restarts, "
            f"heartbeat {worker['heartbeat_age_ms'] / 1000:.1f}s ago"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    path = f"/admin/jobs?state={args.state}&limit={args.limit}&offset={args.offset}"
    doc = admin_request("GET", path)
    if args.json:
        print_json(doc)
        return 0
    for job in doc["jobs"]:
        error = (job.get("error") or {}).get("message", "")
        print(
            f"{job['id']}  {job['state']:<10} {job['priority']:<8} "
            f"attempts {job['attempts']}  {job['updated_at']}  {error}"
        )
    return 0


def _inspect(args: argparse.Namespace) -> int:
    print_json(admin_request("GET", f"/admin/jobs/{args.job_id}"))
    return 0


def _requeue(args: argparse.Namespace) -> int:
    print_json(admin_request("POST", f"/admin/jobs/{args.job_id}/requeue"))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = sub.add_parser("jobs", help="the job queue of a running gateway")
    actions = jobs.add_subparsers(dest="action", required=True)
    stats = actions.add_parser("stats", help="depth, in flight, dead, throughput, workers")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_stats)
    listing = actions.add_parser("list", help="jobs in a state (default: the dead-letter set)")
    listing.add_argument(
        "--state",
        default="dead",
        choices=["pending", "processing", "completed", "failed", "dead", "canceled"],
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    inspect = actions.add_parser("inspect", help="everything about one job")
    inspect.add_argument("job_id")
    inspect.set_defaults(func=_inspect)
    requeue = actions.add_parser("requeue", help="put a dead (or failed) job back in the queue")
    requeue.add_argument("job_id")
    requeue.set_defaults(func=_requeue)
