"""The honest errors of admission: why no key could be had, and for how long.

429 ``rate_limit_error`` only when the keys' quota is what is missing; 529
``overloaded_error`` when no key is usable (ejected, disabled, quarantined) or the gateway's
own wait queue is full; 404 when no key serves the model. Each carries a ``retry-after``
estimated from what the pool knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from scalegate.errors import NotFoundError, OverloadedError, RateLimitError
from scalegate.keys.admission import Waiter
from scalegate.keys.lease import KeyEntry, Lease
from scalegate.keys.outliers import OutlierDetector
from scalegate.priority import Priority

# Why no key could be had, when the answer is 529 (no key usable) rather than 429 (quota).
UNUSABLE = frozenset({"ejected", "breaker", "disabled"})


def no_key(entries: Iterable[KeyEntry], model: str | None, priority: Priority) -> Exception:
    """No key is eligible: none serves the model (404), or those that do are reserved for
    critical traffic and ``priority`` may not use them."""
    model = model or "*"
    if not any(e.key.serves(model) for e in entries):
        return NotFoundError(f"model: no configured upstream key serves {model!r}")
    return RateLimitError(
        f"every key serving {model!r} is reserved for critical traffic; "
        f"{priority.label} requests cannot use them",
        retry_after=60,
        should_retry=False,
    )


def all_disabled(model: str | None) -> OverloadedError:
    return OverloadedError(
        f"every upstream key serving {model or 'this request'!r} is disabled or quarantined",
        retry_after=30,
        should_retry=False,
    )


def unusable(wait: float) -> OverloadedError:
    """Every eligible key is ejected for longer than the request may wait."""
    return OverloadedError(
        "every eligible upstream key is ejected for failing while others succeeded; "
        f"retry after {wait:.1f}s",
        retry_after=max(wait, 0.001),
    )


def rate_limited(wait: float, why: str) -> RateLimitError:
    return RateLimitError(
        f"{why}; retry after {wait:.1f}s", retry_after=max(wait, 0.001), should_retry=True
    )


def refusal(
    waiter: Waiter[Lease],
    reason: str,
    entries: Mapping[str, KeyEntry],
    outliers: OutlierDetector,
    ahead: Sequence[Waiter[Lease]],
) -> BaseException:
    """The error for a waiter the queue gives up on (``reason``: shutdown, deadline, shed,
    queue_full); ``ahead`` are the waiters before it in the queue."""
    if reason == "shutdown":
        return OverloadedError("the gateway is shutting down", retry_after=1)
    wait = _estimate_wait(waiter, entries, ahead)
    if reason == "deadline" and waiter.last_reason in UNUSABLE:
        # Read now, not at the last attempt: the time until an ejected key is back.
        back = [w for fp in waiter.key_ids if (w := outliers.wait(fp)) > 0]
        wait = min(back, default=wait)
        why = (
            "no upstream key was usable before the admission deadline (keys ejected for "
            f"failing, disabled or quarantined); retry after {wait:.1f}s"
        )
        return OverloadedError(why, retry_after=wait)
    if reason in ("shed", "queue_full"):
        why = {
            "shed": "shed to make room for higher-priority traffic: the admission queue is full",
            "queue_full": "the admission queue is full",
        }[reason]
        return OverloadedError(f"{why}; retry after {wait:.1f}s", retry_after=wait)
    return rate_limited(wait, "no upstream key had capacity before the admission deadline")


def _estimate_wait(
    waiter: Waiter[Lease], entries: Mapping[str, KeyEntry], ahead: Sequence[Waiter[Lease]]
) -> float:
    """Own wait, or the time for the keys' refill to cover everyone queued ahead."""
    rate = 0.0
    for fp in waiter.key_ids:
        entry = entries.get(fp)
        if entry is not None and entry.key.limits.rpm:
            rate += entry.key.limits.rpm / 60.0
    queued = sum(1 for w in ahead if w.key_ids & waiter.key_ids)
    queue_wait = queued / rate if rate else 0.0
    return max(waiter.last_wait, queue_wait, 0.001)
