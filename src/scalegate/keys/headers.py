"""Reading the provider's rate-limit headers: ``anthropic-ratelimit-*`` and ``retry-after``."""

from __future__ import annotations

import email.utils
import functools
from collections.abc import Mapping
from types import MappingProxyType

# header family → the pool's limit name
_FAMILIES = {
    "anthropic-ratelimit-requests-remaining": "rpm",
    "anthropic-ratelimit-input-tokens-remaining": "itpm",
    "anthropic-ratelimit-output-tokens-remaining": "otpm",
}


def _numbers(
    headers: Mapping[str, str], families: Mapping[str, str], least: float
) -> dict[str, float]:
    found: dict[str, float] = {}
    for header, limit in families.items():
        value = headers.get(header)
        if value is None:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if number >= least:
            found[limit] = number
    return found


def remaining_from_headers(headers: Mapping[str, str]) -> dict[str, float]:
    """``{"rpm": n, "itpm": n, "otpm": n}`` for the remaining counts the provider reported."""
    return _numbers(headers, _FAMILIES, 0.0)


_LIMITS = {
    "anthropic-ratelimit-requests-limit": "rpm",
    "anthropic-ratelimit-input-tokens-limit": "itpm",
    "anthropic-ratelimit-output-tokens-limit": "otpm",
}


LIMIT_HEADERS = tuple(_LIMITS)


def limits_from_headers(headers: Mapping[str, str]) -> dict[str, float]:
    """``{"rpm": n, "itpm": n, "otpm": n}`` for the limits the provider reported (on every
    answer, 429s included): what the key (its organisation) is really allowed."""
    return _numbers(headers, _LIMITS, 1.0)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if any."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None:
        import time

        now = time.time()
    return max(0.0, when.timestamp() - now)


def share_of_reported(headers: Mapping[str, str], share: int) -> Mapping[str, float] | None:
    """The limits the provider reported for the key's organisation, divided among the keys
    of its group (learned limits: a bucket's capacity becomes min(configured, this)).
    Read-only: the same few header values come back on every answer, so they are parsed
    once (:func:`_share_of`)."""
    return _share_of(tuple(headers.get(name) for name in LIMIT_HEADERS), share)


@functools.lru_cache(maxsize=256)
def _share_of(values: tuple[str | None, ...], share: int) -> Mapping[str, float] | None:
    given = {name: v for name, v in zip(LIMIT_HEADERS, values, strict=True) if v is not None}
    reported = limits_from_headers(given)
    if not reported:
        return None
    return MappingProxyType({name: max(1.0, value // share) for name, value in reported.items()})
