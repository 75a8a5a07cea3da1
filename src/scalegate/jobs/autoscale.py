"""How many worker tasks a pool should run: queue depth, bounded by free key capacity
(:meth:`KeyPool.free_capacity <scalegate.keys.pool.KeyPool.free_capacity>`, a typed figure).

One task per job in hand or waiting, between ``queue.min_concurrency`` and
``MAX_QUEUE_CONCURRENT``. Tasks beyond what the keys can admit right now would only wait in
admission (and hold leases doing nothing), so growth stops at the jobs in hand plus the
requests the keys could take at once. Shrinking is immediate: an idle task costs a lease
slot other processes could use.
"""

from __future__ import annotations


def desired_concurrency(
    busy: int, ready: int, free_capacity: int | None, minimum: int, maximum: int
) -> int:
    """The target number of tasks (``free_capacity`` None: unknown or unlimited)."""
    want = busy + ready
    if free_capacity is not None:
        want = min(want, busy + max(free_capacity, 0))
    return max(minimum, min(maximum, want))
