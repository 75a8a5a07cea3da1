"""What one call's outcome does to its key's state: the :class:`Settlement` the pool hands
the key store (refund, cooldown, health, the provider's headers) and the log lines about it.

The pool (:mod:`scalegate.keys.pool`) settles a lease once; this module decides *what* the
settlement says: the tokens the provider did not use go back, a ``retry-after`` (or a 429
without one) cools the key down, and the ``anthropic-ratelimit-*`` headers say what the
provider counted — from which the store charges use it did not see.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from scalegate.keys.headers import (
    remaining_from_headers,
    retry_after_seconds,
    share_of_reported,
)
from scalegate.keys.lease import COOLS_DOWN, HEALTH, Lease, Outcome, Usage
from scalegate.keys.outliers import Verdict
from scalegate.keys.store import Demand, Settlement, SettleResult

logger = logging.getLogger(__name__)

# A 429 without retry-after still cools the key down this long.
DEFAULT_COOLDOWN = 1.0


def settlement_for(
    lease: Lease,
    outcome: Outcome,
    usage: Usage | None,
    headers: Mapping[str, str] | None,
    wall: float,
) -> Settlement:
    """The settlement of ``lease``; ``wall`` is the wall-clock time (an HTTP-date
    ``retry-after`` counts from it)."""
    cooldown = 0.0
    if outcome in COOLS_DOWN:
        delay = retry_after_seconds(headers or {}, wall)
        if delay is None and outcome is Outcome.RATE_LIMITED:
            delay = DEFAULT_COOLDOWN
        cooldown = delay or 0.0
    return Settlement(
        refund=refund(lease.demand, outcome, usage),
        health=HEALTH.get(outcome, "neutral"),  # type: ignore[arg-type]  # HEALTH's values are the Health literal's members
        cooldown=cooldown,
        snapshot=lease.snapshot,
        observed=remaining_from_headers(headers) if headers else None,
        reported=share_of_reported(headers, lease.key.share) if headers else None,
        affinity=lease.affinity if outcome is Outcome.SUCCESS else None,
        origin=lease.origin,
    )


def refund(reserved: Demand, outcome: Outcome, usage: Usage | None) -> Demand:
    """What goes back of the ``reserved`` demand."""
    if usage is not None:
        return Demand(
            0,
            reserved.input_tokens - usage.input_tokens,
            reserved.output_tokens - usage.output_tokens,
        )
    if outcome is Outcome.CANCELLED:
        # The provider saw the prompt but stops generating when the stream is dropped.
        return Demand(0, 0, reserved.output_tokens)
    # Errors consume no tokens; the request itself stays counted (conservative).
    return Demand(0, reserved.input_tokens, reserved.output_tokens)


def log_result(fp: str, result: SettleResult) -> None:
    """Log what the store found while settling on key ``fp``: drift, a quarantine."""
    if result.drift:
        logger.info(
            "key %s: the provider reports less left than expected; charged %s",
            fp,
            {k: round(v) for k, v in result.drift.items()},
            extra={"event": "key_drift", "key": fp},
        )
    if result.quarantined:
        logger.error(
            "key %s quarantined: the provider rejected it; re-enable it once fixed",
            fp,
            extra={"event": "key_quarantined", "key": fp},
        )


def log_verdict(verdict: Verdict) -> None:
    """Log an outlier detection verdict: a key ejected, or back in service."""
    fp = verdict.key
    if verdict.ejected:
        logger.warning(
            "key %s ejected for %.0fs: %s",
            fp,
            verdict.seconds,
            verdict.why,
            extra={"event": "key_ejected", "key": fp},
        )
    else:
        logger.info(
            "key %s back in service: %s",
            fp,
            verdict.why,
            extra={"event": "key_returned", "key": fp},
        )
