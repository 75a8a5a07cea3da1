"""The ``/_sim`` control API: stats, reset, live config, revocations and holds.

No authentication: the control API is for tests and rehearsals on the simulator's own port.

* ``GET /_sim/stats`` — see :mod:`scalegate.simulator.stats` for the shape.
* ``POST /_sim/reset`` — zero stats, refill buckets, clear the prompt cache and revocations.
* ``GET /_sim/config`` / ``PUT /_sim/config`` — read, or partially update ``latency``,
  ``faults``, ``keys``, ``accept_unknown_keys``; the answer is the new config.
* ``POST /_sim/keys/{key}/revoke`` / ``…/restore`` — later requests with the key get a 401.
* ``POST /_sim/release/{id}`` — resume requests held by ``x-sim-hold: id`` (404 if none).
* ``GET /_sim/holds`` — ``{"holds": [ids currently held]}``.
* ``GET /_sim/requests`` — ``{"requests": [...]}``, the recorded ``/v1/…`` requests (with
  ``record_requests`` set; see :mod:`scalegate.simulator.recorder`).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from scalegate.errors import InvalidRequestError, NotFoundError
from scalegate.simulator.responses import json_response
from scalegate.simulator.state import SIMULATOR_KEY


async def get_stats(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    return json_response(sim.stats.snapshot(sim.clock.monotonic(), sim.revoked))


async def post_reset(request: web.Request) -> web.StreamResponse:
    request.app[SIMULATOR_KEY].reset()
    return json_response({"reset": True})


async def get_config(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR_KEY].config.model_dump(mode="json"))


async def put_config(request: web.Request) -> web.StreamResponse:
    try:
        update = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"config update is not valid JSON: {exc}") from exc
    try:
        config = request.app[SIMULATOR_KEY].update_config(update)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc
    return json_response(config.model_dump(mode="json"))


async def post_revoke(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    request.app[SIMULATOR_KEY].revoke(key)
    return json_response({"key": key, "revoked": True})


async def post_restore(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    request.app[SIMULATOR_KEY].restore(key)
    return json_response({"key": key, "revoked": False})


async def post_release(request: web.Request) -> web.StreamResponse:
    hold_id = request.match_info["hold_id"]
    released = request.app[SIMULATOR_KEY].holds.release(hold_id)
    if not released:
        raise NotFoundError(f"no request is held under {hold_id!r}")
    return json_response({"hold": hold_id, "released": released})


async def get_holds(request: web.Request) -> web.StreamResponse:
    return json_response({"holds": request.app[SIMULATOR_KEY].holds.held()})


async def get_requests(request: web.Request) -> web.StreamResponse:
    recorded = request.app[SIMULATOR_KEY].recorded
    return json_response({"requests": [entry.as_json() for entry in recorded]})


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/_sim/stats", get_stats)
    app.router.add_post("/_sim/reset", post_reset)
    app.router.add_get("/_sim/config", get_config)
    app.router.add_put("/_sim/config", put_config)
    app.router.add_post("/_sim/keys/{key}/revoke", post_revoke)
    app.router.add_post("/_sim/keys/{key}/restore", post_restore)
    app.router.add_post("/_sim/release/{hold_id}", post_release)
    app.router.add_get("/_sim/holds", get_holds)
    app.router.add_get("/_sim/requests", get_requests)
