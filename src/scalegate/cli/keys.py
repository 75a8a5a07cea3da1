"""``scalegate keys list|disable|enable|add|remove`` — over the admin API of a running gateway."""

from __future__ import annotations

import argparse

from scalegate.cli.admin_http import admin_request, print_json


def _list(args: argparse.Namespace) -> int:
    doc = admin_request("GET", "/admin/keys")
    if args.json:
        print_json(doc)
        return 0
    for key in doc["keys"]:
        limits = ", ".join(
            f"{name} {v['ratio'] * 100:.0f}%" for name, v in sorted(key["limits"].items())
        )
        print(f"{key['key']:<32} {key['class']:<8} {key['status']:<16} {limits}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    print_json(admin_request("POST", f"/admin/keys/{args.fingerprint}/disable"))
    return 0


def _enable(args: argparse.Namespace) -> int:
    print_json(admin_request("POST", f"/admin/keys/{args.fingerprint}/enable"))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="upstream keys of a running gateway")
    actions = keys.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every key with its state and utilisation")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    for name, func in (("disable", _disable), ("enable", _enable)):
        cmd = actions.add_parser(name, help=f"{name} a key by fingerprint")
        cmd.add_argument("fingerprint")
        cmd.set_defaults(func=func)
