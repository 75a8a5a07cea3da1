"""How many worker tasks a pool should run: queue depth, bounded by free key capacity.

One task per job in hand or waiting, between ``queue.min_concurrency`` and
``MAX_QUEUE_CONCURRENT``. Tasks beyond what the keys can admit right now would only wait in
admission (and hold leases doing nothing), so growth stops at the jobs in hand plus the
requests the keys could take at once. Shrinking is immediate: an idle task costs a lease
slot other processes could use.
"""

from __future__ import annotations

import logging

from scalegate.keys.pool import KeyPool

logger = logging.getLogger(__name__)


def desired_concurrency(
    busy: int, ready: int, free_capacity: int | None, minimum: int, maximum: int
) -> int:
    """The target number of tasks (``free_capacity`` None: unknown or unlimited)."""
    want = busy + ready
    if free_capacity is not None:
        want = min(want, busy + max(free_capacity, 0))
    return max(minimum, min(maximum, want))


async def key_capacity(pool: KeyPool) -> int | None:
    """Requests the usable keys could admit now (their RPM buckets' contents), minus the
    requests already waiting for a key; ``None`` when some usable key has no RPM limit."""
    try:
        keys = await pool.status()
        free = 0.0
        for key in keys:
            if key.get("status") != "ok":
                continue
            limits = key.get("limits")
            rpm = limits.get("rpm") if isinstance(limits, dict) else None
            if not isinstance(rpm, dict):
                return None
            free += float(rpm["limit"]) - float(rpm["used"])
        return max(0, int(free) - len(pool.queue))
    except Exception:  # the key pool's shape is not ours to break on: scale by depth alone
        logger.debug("key capacity unavailable", exc_info=True)
        return None
