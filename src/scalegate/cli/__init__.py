"""``scalegate``: serve the gateway, run the simulated provider, and administer a running one.

Each command group lives in its own module with a ``register(subparsers)`` function, listed in
``_COMMANDS``. Errors map to exit codes in one place (:func:`main`): a configuration problem
exits 2, an admin call that fails exits 1, each with one readable line and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from scalegate import logs
from scalegate.cli.admin_http import AdminError
from scalegate.cli.serve import check_not_self
from scalegate.errors import ConfigError, ScalegateError

logger = logging.getLogger("scalegate.cli")

_COMMANDS = [
    "scalegate.cli.serve",
    "scalegate.cli.keys",
    "scalegate.cli.cache",
    "scalegate.cli.jobs",
    "scalegate.cli.worker",
    "scalegate.cli.tenants",
]

__all__ = ["build_parser", "check_not_self", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scalegate", description=__doc__.splitlines()[0].replace("``", "")
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"scalegate: {exc}", file=sys.stderr)
        return 2
    except AdminError as exc:
        print(f"scalegate: {exc}", file=sys.stderr)
        return 1
    except ScalegateError as exc:
        print(f"scalegate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
