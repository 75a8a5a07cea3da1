"""Health: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/api/monitoring/health``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scalegate.gateway import Gateway
from scalegate.routes.jobs import jobs_health


async def health_report(gw: Gateway) -> dict[str, Any]:
    """The health document of DESIGN §12: overall status with per-component reasons."""
    pool = gw.pool
    keys = await pool.status()
    usable = await pool.usable_count()
    total = len(keys)
    if total == 0 or usable == 0:
        key_status = "down"
    elif usable < total:
        key_status = "degraded"
    else:
        key_status = "ok"
    bad = [f"{k['key']}: {k['status']}" for k in keys if k["status"] != "ok"]
    components: dict[str, dict[str, Any]] = {
        "keys": {
            "status": key_status,
            "detail": f"{usable}/{total} upstream keys usable"
            + (f" ({'; '.join(bad)})" if bad else ""),
            "keys": [{"key": k["key"], "status": k["status"]} for k in keys],
        },
        "admission": {
            "status": "ok",
            "detail": f"{len(pool.queue)} request(s) waiting for a key",
            "waiting": pool.queue.depth_by_priority(),
        },
    }
    if gw.key_store is not None:
        status, detail = gw.key_store.health()
        components["redis"] = {
            "status": status,
            "detail": detail,
            "policy": gw.key_store.policy,
            "errors_total": gw.key_store.errors_total,
        }
    components["jobs"] = await jobs_health(gw)
    if gw.simulated:
        components["upstream"] = {
            "status": "ok",
            "detail": "SIMULATED provider (no upstream API keys configured)",
        }
    if gw.draining:
        components["server"] = {"status": "down", "detail": "shutting down"}
    statuses = [c["status"] for c in components.values()]
    overall = "down" if "down" in statuses else "degraded" if "degraded" in statuses else "ok"
    return {
        "status": overall,
        "mode": "shared" if gw.settings.redis_url else "embedded",
        "simulated_upstream": gw.simulated,
        "open_gateway": not gw.settings.tenants,
        "components": components,
    }


def routes(gw: Gateway) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        report = await health_report(gw)
        ready = report["status"] != "down"
        return JSONResponse({"ready": ready, "status": report["status"]}, 200 if ready else 503)

    async def health(_: Request) -> Response:
        report = await health_report(gw)
        return JSONResponse(report, 503 if report["status"] == "down" else 200)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/api/monitoring/health", health, methods=["GET"]),
    ]
