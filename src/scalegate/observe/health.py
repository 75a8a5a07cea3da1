"""The health document of DESIGN §12, component by component, with the reasons.

``down`` (``/readyz`` 503) means the gateway cannot serve synchronous traffic: no usable
upstream key, Redis required and unreachable under the ``fail_closed`` policy, or shutting
down. ``degraded`` means it serves, but something needs a look: some keys quarantined,
disabled, ejected or failing upstream; the provider failing on every key alike ("provider
degraded": requests are retried, no key is ejected for it); Redis down under ``fail_open``;
the job queue unreachable, jobs waiting with no live worker pool; a cache failing. Upstream
reachability per key is judged from each key's own recent calls (its ejection and its last
outcome): health checks never spend a key's quota.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from scalegate.observe.state import State

if TYPE_CHECKING:
    from scalegate.gateway import Gateway

# Outcomes that say the provider could not be reached or failed with this key.
_FAILING = {"connection_error", "server_error", "overloaded"}
# A cache whose error count grew within this many seconds is degraded.
CACHE_ERROR_MEMORY_SECONDS = 60.0

Component = dict[str, Any]


def _worst(statuses: list[str]) -> str:
    return "down" if "down" in statuses else "degraded" if "degraded" in statuses else "ok"


class HealthJudge:
    """Turns a :class:`State` into the health document (remembers cache error counts)."""

    def __init__(self) -> None:
        self._cache_errors = 0
        self._cache_errors_at = 0.0

    def report(self, gw: Gateway, state: State) -> dict[str, Any]:
        components: dict[str, Component] = {
            "keys": _keys(state),
            "upstream": _upstream(gw, state),
            "provider": _provider(gw),
            "admission": _admission(gw),
        }
        if gw.settings.redis_url:
            components["redis"] = _redis(gw, state)
        components["jobs"] = _jobs(gw, state)
        components["caches"] = self._caches(gw, state)
        components["capacity"] = _capacity(gw)
        for name, down in gw.outages.health().items():  # the declared outage policies at work
            components[f"state:{name}"] = dict(down)
        if gw.draining:
            components["server"] = {"status": "down", "detail": "shutting down"}
        overall = _worst([c["status"] for c in components.values()])
        reasons = [
            f"{name}: {c['detail']}" for name, c in components.items() if c["status"] != "ok"
        ]
        return {
            "status": overall,
            "mode": "shared" if gw.settings.redis_url else "embedded",
            "simulated_upstream": gw.simulated,
            "open_gateway": not gw.settings.tenants,
            "reasons": reasons,
            "components": components,
        }

    def _caches(self, gw: Gateway, state: State) -> Component:
        cache = gw.cache
        parts = []
        errors = 0
        if cache.exact is not None:
            errors += cache.exact.counts["errors"]
            parts.append("exact on")
        if cache.semantic is not None:
            errors += cache.semantic.counts["errors"]
            parts.append(f"semantic on ({cache.semantic.backend.kind})")
        now = time.monotonic()
        if errors > self._cache_errors:
            self._cache_errors, self._cache_errors_at = errors, now
        detail = ", ".join(parts) or "off"
        detail += f"; default mode {cache.default_mode}"
        if "cache" in state.errors:
            return {
                "status": "degraded",
                "detail": f"cache store unreachable: {state.errors['cache']}",
            }
        if self._cache_errors_at and now - self._cache_errors_at < CACHE_ERROR_MEMORY_SECONDS:
            return {
                "status": "degraded",
                "detail": f"{detail}; cache operations failed in the last minute "
                f"({errors} failures in all; lookups fall back to the provider)",
            }
        return {"status": "ok", "detail": detail}


def _keys(state: State) -> Component:
    keys = state.keys
    usable, total = state.usable, len(keys)
    status = "down" if usable == 0 else "degraded" if usable < total else "ok"
    bad = [f"{k['key']}: {k['status']}" for k in keys if k["status"] != "ok"]
    detail = f"{usable}/{total} upstream keys usable" + (f" ({'; '.join(bad)})" if bad else "")
    if "keys" in state.errors:
        status, detail = "down", f"key state unreadable: {state.errors['keys']}"
    return {
        "status": status,
        "detail": detail,
        "keys": [{"key": k["key"], "status": k["status"]} for k in keys],
    }


def _upstream(gw: Gateway, state: State) -> Component:
    """Reachability per key, from each key's ejection and its last call."""
    per_key = []
    failing = []
    entries = {e.key.fingerprint: e for e in gw.pool.entries}
    for k in state.keys:
        entry = entries.get(k["key"])
        last = entry.last if entry is not None else None
        if k["status"] == "quarantined":
            verdict = "rejected"  # reachable, but the provider refuses the key
        elif k["breaker"] == "open" or last in _FAILING:
            verdict = "failing"
        elif last is None:
            verdict = "unknown"  # no call yet
        else:
            verdict = "reachable"
        per_key.append({"key": k["key"], "reachable": verdict, "last_outcome": last})
        if verdict == "failing":
            failing.append(k["key"])
    where = "the built-in SIMULATED provider" if gw.simulated else gw.settings.upstream.base_url
    detail = f"{where}: {len(per_key) - len(failing)}/{len(per_key)} keys not failing"
    if failing:
        detail += f" (failing: {', '.join(failing)})"
    if gw.simulated:
        detail += " — SIMULATED provider (no upstream API keys configured)"
    return {"status": "degraded" if failing else "ok", "detail": detail, "keys": per_key}


def _provider(gw: Gateway) -> Component:
    """The provider as a whole: failing on every key alike (not one key's fault)."""
    why = gw.pool.outliers.degraded()
    if why is not None:
        return {
            "status": "degraded",
            "detail": f"{why}; requests are retried across the keys and none is ejected for it",
        }
    return {"status": "ok", "detail": "no provider-wide failures"}


def _admission(gw: Gateway) -> Component:
    queue = gw.pool.queue
    return {
        "status": "ok",
        "detail": f"{len(queue)} request(s) waiting for a key",
        "waiting": queue.depth_by_priority(),
    }


def _redis(gw: Gateway, state: State) -> Component:
    store = gw.key_store
    policy = store.policy if store is not None else gw.settings.shared.on_redis_failure
    out: Component = {"policy": policy}
    if store is not None:
        out["errors_total"] = store.errors_total
    if state.redis_up is False or (store is not None and store.down):
        status = "down" if policy == "fail_closed" else "degraded"
        detail = store.health()[1] if store is not None and store.down else "redis does not answer"
        if policy == "fail_closed" and "FAIL-CLOSED" not in detail:
            detail += ": FAIL-CLOSED, requests are refused"
        elif policy == "fail_open" and "FAIL-OPEN" not in detail:
            detail += ": FAIL-OPEN on local limits"
        return {"status": status, "detail": detail, **out}
    detail = store.health()[1] if store is not None else "redis reachable"
    return {"status": "ok", "detail": detail, **out}


def _jobs(gw: Gateway, state: State) -> Component:
    """The job queue and the worker pools (by their heartbeats, whichever process runs them)."""
    counts, pools = state.queue, state.workers
    if counts is None or pools is None:
        why = state.errors.get("queue") or state.errors.get("workers") or "unknown error"
        return {"status": "degraded", "detail": f"job queue unreachable: {why}"}
    active = sum(int(p.get("active", 0)) for p in pools)
    idle = sum(int(p.get("idle", 0)) for p in pools)
    detail = (
        f"{counts['ready']} ready, {counts['delayed']} waiting to retry, "
        f"{counts['in_flight']} in flight, {counts['dead']} dead; "
        f"{len(pools)} worker pool(s) alive: {active} active, {idle} idle"
    )
    status = "ok"
    if counts["ready"] > 0 and not pools:
        status, detail = "degraded", detail + " — jobs are waiting and no worker is alive"
    elif gw.workers is not None and gw.workers.stopping:
        detail += " — this process's worker pool is stopping (no more leases)"
        if not gw.draining:  # stopping on its own, not as part of a shutdown
            status = "degraded"
    return {"status": status, "detail": detail, "depth": counts["depth"], "workers": pools}


def _capacity(gw: Gateway) -> Component:
    """The gateway's own capacity (scalegate.capacity): degraded from 90 % used."""
    cap = gw.pipeline.capacity
    detail = (
        f"{cap.calls}/{cap.max_calls} upstream calls in flight, "
        f"{cap.streams}/{cap.max_streams} open streams"
    )
    refused = sum(cap.refused.values())
    if refused:
        detail += f"; {refused} call(s) refused with 529 while full"
    busy = cap.utilisation() >= 0.9
    return {"status": "degraded" if busy else "ok", "detail": detail, "refused": cap.refused}
