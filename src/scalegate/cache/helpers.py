"""Cache any async function's result: by key (:func:`with_cache`) or by prompt similarity
(:func:`with_semantic_cache`) — the original design's ``withCache`` / ``withSemanticCache``.

::

    exact = ExactCache(ttl_seconds=600)

    @with_cache(exact)
    async def lookup_price(sku: str) -> dict: ...

    semantic = SemanticCache(MiniLMEmbedder())

    @with_semantic_cache(semantic, partition="support-bot-v3")
    async def answer(question: str) -> str: ...

Results are stored as JSON (``orjson``) unless ``encode``/``decode`` say otherwise. The
default key is a hash of the function's qualified name and its JSON-encoded arguments;
arguments JSON cannot encode need an explicit ``key=``. The semantic prompt is the first
positional argument unless ``prompt=`` picks it; ``partition`` (a string, or a function of
the arguments) keeps answers apart that must never be shared.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import orjson

from scalegate.cache.exact import ExactCache
from scalegate.cache.keys import Namespace
from scalegate.cache.semantic import SemanticCache

P = ParamSpec("P")
T = TypeVar("T")


def default_key(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    try:
        raw = orjson.dumps(
            [fn.__module__, fn.__qualname__, args, kwargs],
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError as exc:
        raise TypeError(
            f"with_cache: arguments of {fn.__qualname__} are not JSON; pass key=…"
        ) from exc
    return hashlib.sha256(raw).hexdigest()


def with_cache(
    cache: ExactCache,
    *,
    key: Callable[..., str] | None = None,
    namespace: Namespace | str | None = None,
    ttl: float | None = None,
    encode: Callable[[Any], bytes] = orjson.dumps,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorate an async function so equal calls are answered from ``cache``."""

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            k = key(*args, **kwargs) if key is not None else default_key(fn, args, kwargs)
            raw = await cache.get(k, namespace)
            if raw is not None:
                hit: T = decode(raw)
                return hit
            value = await fn(*args, **kwargs)
            await cache.set(k, encode(value), namespace, ttl=ttl, label=fn.__qualname__)
            return value

        return wrapper

    return decorate


def _first_argument(*args: Any, **kwargs: Any) -> str:
    if args and isinstance(args[0], str):
        return args[0]
    raise TypeError("with_semantic_cache: the first argument is not a string; pass prompt=…")


def with_semantic_cache(
    cache: SemanticCache,
    *,
    prompt: Callable[..., str] = _first_argument,
    partition: str | Callable[..., str] = "",
    namespace: Namespace | str | None = None,
    ttl: float | None = None,
    encode: Callable[[Any], bytes] = orjson.dumps,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorate an async function so calls with a similar prompt share one result."""

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            text = prompt(*args, **kwargs)
            part = partition(*args, **kwargs) if callable(partition) else partition
            found = await cache.lookup(text, partition=part, namespace=namespace)
            if found.hit is not None:
                hit: T = decode(found.hit.value)
                return hit
            value = await fn(*args, **kwargs)
            await cache.store(found, encode(value), ttl=ttl)
            return value

        return wrapper

    return decorate
