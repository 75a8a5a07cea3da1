"""Deterministic values for a JSON schema: tool inputs and structured-output answers.

One generator serves both, because the provider guarantees the same thing for both: a tool
call's ``input`` matches the tool's ``input_schema``, and with structured outputs the answer's
text is JSON that matches ``output_config.format.schema``. The instance is minimal (objects get
their required properties only) and depends only on the seed, so the same request gets the
same answer.
"""

from __future__ import annotations

import hashlib
from typing import Any

_WORDS = (
    "Paris", "blue", "report", "north", "alpha", "sample", "widget", "Tokyo", "summary", "green",
    "order", "index", "Berlin", "query", "ticket", "delta",
)  # fmt: skip

#: Values for the string ``format``s structured outputs support.
_FORMATS = {
    "date-time": "2026-01-15T12:00:00Z",
    "date": "2026-01-15",
    "time": "12:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "hostname": "example.com",
    "uri": "https://example.com/",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
}

MAX_DEPTH = 12


def _number(seed: bytes, path: str) -> int:
    digest = hashlib.blake2b(seed + path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fill_schema(schema: Any, seed: bytes, path: str = "$", depth: int = 0, root: Any = None) -> Any:
    """A value valid for ``schema``, the same for the same ``seed`` and ``path``.

    Objects get their ``required`` properties only; arrays ``max(1, minItems)`` items;
    numbers respect ``minimum``/``maximum`` (and the exclusive forms); strings their
    ``format`` and ``minLength``/``maxLength``; ``const``, ``default`` and ``enum`` win;
    ``anyOf``/``oneOf``/``allOf`` take their first branch; local ``$ref``s
    (``#/$defs/…``, ``#/definitions/…``) are followed, as pydantic schemas need.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if isinstance(schema.get("$ref"), str):
        return fill_schema(_resolve(root, schema["$ref"]), seed, path, depth + 1, root)
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
            return fill_schema(options[0], seed, path, depth + 1, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _fill_type(str(kind), schema, seed, path, depth, n, root)


def _resolve(root: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        return None  # remote references are not followed
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node


def _fill_type(
    kind: str, schema: dict[str, Any], seed: bytes, path: str, depth: int, n: int, root: Any
) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        return {
            name: fill_schema(properties.get(name, {}), seed, f"{path}.{name}", depth + 1, root)
            for name in required
        }
    if kind == "array":
        count = max(1, _int(schema.get("minItems"), 1))
        if "maxItems" in schema:
            count = min(count, _int(schema["maxItems"], count))
        items = schema.get("items", {})
        return [fill_schema(items, seed, f"{path}[{i}]", depth + 1, root) for i in range(count)]
    if kind == "integer":
        return _bounded(schema, n % 100 + 1, integer=True)
    if kind == "number":
        return _bounded(schema, (n % 10_000) / 100, integer=False)
    if kind == "boolean":
        return n % 2 == 0
    if kind == "null":
        return None
    return _string(schema, n)


def _int(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def _string(schema: dict[str, Any], n: int) -> str:
    fmt = schema.get("format")
    text = _FORMATS.get(fmt, _WORDS[n % len(_WORDS)]) if isinstance(fmt, str) else None
    text = text if text is not None else _WORDS[n % len(_WORDS)]
    low = _int(schema.get("minLength"), 0)
    if len(text) < low:
        text += "x" * (low - len(text))
    high = schema.get("maxLength")
    if isinstance(high, int) and not isinstance(high, bool) and len(text) > high:
        text = text[:high]
    return text


def _bounded(schema: dict[str, Any], value: float, *, integer: bool) -> Any:
    low = schema.get("minimum")
    high = schema.get("maximum")
    step = 1 if integer else 0.01
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + step
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - step
    if isinstance(low, int | float) and isinstance(high, int | float) and high >= low:
        value = low + (value % (high - low + (1 if integer else 0)) if high > low else 0)
    elif isinstance(low, int | float) and value < low:
        value = low + value
    elif isinstance(high, int | float) and value > high:
        value = high
    if integer:
        result = int(value)
        if isinstance(low, int | float) and result < low:  # a fractional bound rounded down
            result += 1
        return result
    return float(value)
