"""Lua scripts shipped as package data, loaded by name and run with EVALSHA.

redis-py's ``Script`` object sends EVALSHA and falls back to EVAL (which also loads the script)
when the server does not know it yet, e.g. after a restart or failover.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


@cache
def source(package: str, name: str) -> str:
    """The text of ``<package>/<name>.lua``."""
    return (resources.files(package) / f"{name}.lua").read_text(encoding="utf-8")


def load(client: Redis, package: str, name: str) -> AsyncScript:
    """A callable script bound to ``client``: ``await script(keys=[…], args=[…])``."""
    script: AsyncScript = client.register_script(source(package, name))
    return script


async def call(script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
    return await script(keys=keys, args=args)
