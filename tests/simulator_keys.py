"""Reading per-key numbers out of the simulator's ``/_sim/stats`` document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def accepted_total(stats: dict[str, Any], keys: Iterable[str]) -> int:
    return sum(stats["keys"].get(k, {}).get("accepted", 0) for k in keys)


def requests_total(stats: dict[str, Any], keys: Iterable[str]) -> int:
    return sum(stats["keys"].get(k, {}).get("requests", 0) for k in keys)
