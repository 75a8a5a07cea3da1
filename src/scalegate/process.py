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
    """Fewer, cheaper collections on the request path.

    Measured with the core benchmark: the default thresholds ran ~35 full collections per
    10 s of load (25-32 ms pauses each, 13 % of CPU); moving start-up objects out of the
    collector's sight and collecting the young generation less often took GC to ~1 µs per
    request, +13-25 % throughput and a third of the p99.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
