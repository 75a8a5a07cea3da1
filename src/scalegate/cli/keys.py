"""``scalegate keys list|disable|enable|add|remove`` over the admin API of a running gateway."""

from __future__ import annotations

import argparse
import os
import sys

from scalegate.cli.admin_http import AdminError, admin_request, print_json


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
    register_changes(actions)


def _add(args: argparse.Namespace) -> int:
    # The secret never goes on the command line (visible in `ps` and shell history).
    secret = os.environ.get(args.secret_env, "") if args.secret_env else sys.stdin.readline()
    secret = secret.strip()
    if not secret:
        where = f"${args.secret_env}" if args.secret_env else "standard input"
        raise AdminError(f"no secret given on {where}")
    body: dict[str, object] = {"secret": secret, "class": args.key_class, "weight": args.weight}
    if args.name:
        body["name"] = args.name
    if args.models:
        body["models"] = args.models.split(",")
    if args.limits:
        body["limits"] = {
            k: (None if v in ("", "none", "null") else int(v))
            for k, v in (item.split("=", 1) for item in args.limits.split(","))
        }
    print_json(admin_request("POST", "/admin/keys", body))
    return 0


def _remove(args: argparse.Namespace) -> int:
    print_json(admin_request("DELETE", f"/admin/keys/{args.fingerprint}"))
    return 0


def register_changes(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = actions.add_parser("add", help="add a key to every replica (secret from env or stdin)")
    add.add_argument("--secret-env", help="environment variable holding the secret")
    add.add_argument("--name")
    add.add_argument("--class", dest="key_class", default="shared", choices=["shared", "critical"])
    add.add_argument("--weight", type=float, default=1.0)
    add.add_argument("--models", help="comma-separated glob patterns (default *)")
    add.add_argument("--limits", help="e.g. rpm=4000,itpm=2000000,otpm=400000")
    add.set_defaults(func=_add)
    remove = actions.add_parser("remove", help="stop using a key on every replica")
    remove.add_argument("fingerprint")
    remove.set_defaults(func=_remove)
