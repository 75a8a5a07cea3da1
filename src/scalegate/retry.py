"""Which upstream failures are worth another attempt, and how long to wait before one.

Retryable: 429, 529, 500, 502, 503, 504, 408, connection errors, timeouts, and an
``overloaded_error`` / ``api_error`` event that arrives before any byte reached the client.
401/403 are retried on *another* key after the pool quarantines this one. Other 4xx are the
request's own fault and go back to the client as the provider sent them.

The wait is exponential backoff with full jitter (``uniform(0, min(cap, base · 2^n))``).
No retry library is used on purpose: the loop in :mod:`scalegate.pipeline` changes key
between attempts and waits only when no other key is left, which none of them models, and the
wait itself is one line.
"""

from __future__ import annotations

import random

from scalegate.config import RetryConfig
from scalegate.keys.lease import Outcome

RETRYABLE = frozenset(
    {
        Outcome.RATE_LIMITED,
        Outcome.OVERLOADED,
        Outcome.SERVER_ERROR,
        Outcome.CONNECTION_ERROR,
        Outcome.AUTH_FAILED,
    }
)


def classify_status(status: int) -> Outcome:
    """The outcome of an upstream answer with HTTP ``status``."""
    if status < 400:
        return Outcome.SUCCESS
    if status == 429:
        return Outcome.RATE_LIMITED
    if status == 529:
        return Outcome.OVERLOADED
    if status in (401, 403):
        return Outcome.AUTH_FAILED
    if status == 408:
        return Outcome.CONNECTION_ERROR
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.CLIENT_ERROR


def classify_stream_error(error_type: str) -> Outcome:
    """The outcome of an ``event: error`` in a stream, by its ``error.type``."""
    if error_type == "overloaded_error":
        return Outcome.OVERLOADED
    if error_type == "rate_limit_error":
        return Outcome.RATE_LIMITED
    if error_type in ("api_error", "timeout_error"):
        return Outcome.SERVER_ERROR
    return Outcome.CLIENT_ERROR


def full_jitter(
    attempt: int,
    base: float,
    cap: float,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """The one backoff of the code base: ``uniform(0, min(cap, base · 2^(attempt-1)))``,
    never shorter than the server's ``retry-after`` when it sent one. ``attempt`` counts
    from 1 (the first retry). Used by the pipeline, job retries, callbacks and alerts."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = rng.uniform(0.0, ceiling)
    return max(delay, retry_after) if retry_after is not None else delay


class Backoff:
    """Full-jitter exponential delays for the pipeline (:func:`full_jitter`)."""

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        c = self.config
        return full_jitter(attempt, c.base_seconds, c.cap_seconds, self._rng, retry_after)
