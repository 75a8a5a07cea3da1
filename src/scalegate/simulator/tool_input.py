"""Deterministic tool inputs: fill a JSON schema's required properties with plausible values."""

from __future__ import annotations

import hashlib
from typing import Any

_WORDS = (
    "Paris", "blue", "report", "north", "alpha", "sample", "widget", "Tokyo", "summary", "green",
    "order", "index", "Berlin", "query", "ticket", "delta",
)  # fmt: skip

MAX_DEPTH = 6


def _number(seed: bytes, path: str) -> int:
    digest = hashlib.blake2b(seed + path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fill_schema(schema: Any, seed: bytes, path: str = "$", depth: int = 0) -> Any:
    """A value valid for simple ``schema``s, the same for the same ``seed`` and ``path``.

    Objects get their ``required`` properties only; arrays ``max(1, minItems)`` items;
    numbers respect ``minimum``/``maximum``; ``enum``, ``const`` and ``default`` win.
    """
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    n = _number(seed, path)
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][n % len(schema["enum"])]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return fill_schema(options[0], seed, path, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _fill_type(str(kind), schema, seed, path, depth, n)


def _fill_type(
    kind: str, schema: dict[str, Any], seed: bytes, path: str, depth: int, n: int
) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        return {
            name: fill_schema(properties.get(name, {}), seed, f"{path}.{name}", depth + 1)
            for name in required
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        items = schema.get("items", {})
        return [fill_schema(items, seed, f"{path}[{i}]", depth + 1) for i in range(count)]
    if kind == "integer":
        return _bounded(schema, n % 100 + 1, integer=True)
    if kind == "number":
        return _bounded(schema, (n % 10_000) / 100, integer=False)
    if kind == "boolean":
        return n % 2 == 0
    if kind == "null":
        return None
    return _WORDS[n % len(_WORDS)]


def _bounded(schema: dict[str, Any], value: float, *, integer: bool) -> Any:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if isinstance(low, int | float) and isinstance(high, int | float) and high >= low:
        value = low + (value % (high - low + (1 if integer else 0)) if high > low else 0)
    elif isinstance(low, int | float) and value < low:
        value = low + value
    elif isinstance(high, int | float) and value > high:
        value = high
    return int(value) if integer else float(value)
