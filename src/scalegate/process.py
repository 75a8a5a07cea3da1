"""Settings of the serving process itself (not of the gateway): files it may open, GC.

Called once by ``scalegate serve`` (and each ``--workers`` process) before the app starts.
"""

from __future__ import annotations

import gc


def raise_open_files_limit() -> int:
    """Raise this process's open-files limit to its hard limit (the usual 1,024 soft limit
    would cap a process at a few hundred open streams: each holds a client and an upstream
    socket). Returns the limit in force; best effort where the OS refuses."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft
    return hard


def tune_gc() -> None:
    """Fewer, cheaper collections on the request path, and short pauses with many open streams.

    Measured with the core benchmark: the default thresholds ran ~35 full collections per
    10 s of load (25-32 ms pauses each, 13 % of CPU); moving start-up objects out of the
    collector's sight and collecting less often took GC to ~1 µs per request, +13-25 %
    throughput and a third of the p99.

    Open streams set the pause, not the request rate: each waiting stream holds ~140 tracked
    objects (tasks, coroutines, futures, its connections), and every wait allocates a dozen
    fresh ones, so a young collection finds every stream's latest wait alive. With 9,744
    streams open (``benchmarks/curve_streams.py``), a young generation of 50,000 took 65-81 ms
    and the middle one (20 of those) 380-470 ms; 5,000 and 10 keep them to ≤ 46 and ≤ 88 ms
    (first content p99 1,584-1,669 → 1,150-1,159 ms, direct 1,059; delta p99 213-258 → 66 ms)
    at the same requests per second in the core benchmark. The third threshold, 2,000, keeps
    full collections (0.9-1.6 s over 1.38 M objects at that size) as rare as before: once per
    100 M net allocations.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 10, 2_000)
