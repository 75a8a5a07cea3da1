"""``scalegate tenants list`` — usage, limits and spend per tenant of a running gateway."""

from __future__ import annotations

import argparse

from scalegate.cli.admin_http import admin_request, print_json


def _list(args: argparse.Namespace) -> int:
    doc = admin_request("GET", "/admin/tenants")
    if args.json:
        print_json(doc)
        return 0
    if doc["open_gateway"]:
        print("no tenants configured: the gateway is open")
        return 0
    for t in doc["tenants"]:
        limits = ", ".join(
            f"{name} {v['used']:g}/{v['limit']:g}" for name, v in sorted(t["limits"].items())
        )
        budget = t["monthly_budget_usd"]
        spend = f"${t['spend_usd_this_month']:,.2f}" + (f" of ${budget:,.2f}" if budget else "")
        print(f"{t['name']:<20} {t['tier']:<10} {t['priority']:<8} {spend:<22} {limits}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tenants = sub.add_parser("tenants", help="tenants of a running gateway")
    actions = tenants.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="usage, limits and spend this month")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
