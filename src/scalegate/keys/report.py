"""What the pool tells health, the admin API, metrics and the autoscaler about its keys —
by fingerprint only: secrets never leave the pool.

Functions of the pool's parts (its entries, key store, outlier detection and alerts), read
at the moment they are asked; none of them changes a key.
"""

from __future__ import annotations

from collections.abc import Mapping

from scalegate.errors import StateBackendError
from scalegate.keys.alerts import AlertTracker
from scalegate.keys.lease import KeyEntry
from scalegate.keys.outliers import KeyHealth, OutlierDetector
from scalegate.keys.store import KeyStatus, KeyStore


async def key_status(
    entries: Mapping[str, KeyEntry],
    store: KeyStore,
    outliers: OutlierDetector,
    alerts: AlertTracker,
) -> list[dict[str, object]]:
    """Every key's state: class, models, status word, ejection, cooldown, limits, outcomes."""
    out: list[dict[str, object]] = []
    for entry in list(entries.values()):  # keys may come and go meanwhile
        state = await store.status(entry.key.fingerprint)
        if state is None:
            continue
        fp = entry.key.fingerprint
        health = outliers.health(fp)
        tally = outliers.tally(fp)
        out.append(
            {
                "key": fp,
                "name": entry.key.name,
                "class": entry.key.key_class.value,
                "models": list(entry.key.models),
                "weight": entry.key.weight,
                "status": _status_word(state, health),
                "disabled_reason": state.disabled,
                # The former breaker's words: ejected is "open", probation "half_open".
                "breaker": _breaker_word(state, health),
                "ejection": {
                    "state": health.name.lower(),
                    "seconds_left": round(outliers.ejected_for(fp), 3),
                    "ejections": outliers.ejections_total().get(fp, 0),
                    "window": {
                        "successes": tally.successes,
                        "failures": tally.failures,
                        "overloaded": tally.overloaded,
                    },
                },
                "cooldown_seconds": round(state.cooldown, 3),
                "in_flight": entry.in_flight,
                "limits": {
                    name: {
                        "limit": u.capacity,
                        "used": round(u.used, 2),
                        "ratio": round(u.ratio, 4),
                        "alert": alerts.level(fp, name),
                    }
                    for name, u in state.limits.items()
                },
                "outcomes": dict(entry.counts),
            }
        )
    return out


async def free_capacity(
    entries: Mapping[str, KeyEntry], store: KeyStore, outliers: OutlierDetector, queued: int
) -> int | None:
    """Requests the usable keys could admit now (their RPM buckets' contents), minus the
    ``queued`` requests already waiting for a key; ``None`` when some usable key has no RPM
    limit (unbounded) or the state cannot be read. For the worker autoscaler."""
    free = 0.0
    try:
        for fp in list(entries):
            state = await store.status(fp)
            if state is None or not state.usable or outliers.wait(fp) > 0:
                continue
            rpm = state.limits.get("rpm")
            if rpm is None:
                return None
            free += rpm.capacity - rpm.used
    except StateBackendError:
        return None
    return max(0, int(free) - queued)


async def usable_count(
    entries: Mapping[str, KeyEntry], store: KeyStore, outliers: OutlierDetector
) -> int:
    """Keys that are neither disabled, quarantined nor ejected."""
    count = 0
    for fp in list(entries):
        state = await store.status(fp)
        if state is not None and state.usable and outliers.health(fp) is not KeyHealth.EJECTED:
            count += 1
    return count


def _status_word(state: KeyStatus, health: KeyHealth) -> str:
    if state.quarantined:
        return "quarantined"
    if state.disabled is not None:
        return "disabled"
    if health is KeyHealth.EJECTED:
        return "ejected"
    if health is KeyHealth.PROBATION:
        return "probation"
    if state.breaker != "closed":  # "unknown": the store cannot be read
        return "breaker_" + state.breaker
    return "ok"


def _breaker_word(state: KeyStatus, health: KeyHealth) -> str:
    return health.breaker_word if health is not KeyHealth.SERVING else state.breaker
