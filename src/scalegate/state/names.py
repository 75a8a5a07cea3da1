"""Redis key names, in one place (``scalegate:<subsystem>:…``)."""

from __future__ import annotations

PREFIX = "scalegate"


def key(subsystem: str, *parts: str) -> str:
    """``scalegate:<subsystem>:<part>:<part>…``"""
    return ":".join((PREFIX, subsystem, *parts))


def prefix(subsystem: str) -> str:
    """The prefix every key of ``subsystem`` starts with (for scans and cleanup)."""
    return f"{PREFIX}:{subsystem}:"
