"""The provider's side endpoints: ``count_tokens`` and ``/v1/models`` (auth required, no
limits), and ``HEAD /``, which clients send to check connectivity before any request."""

from __future__ import annotations

from aiohttp import web

from scalegate.errors import InvalidRequestError, NotFoundError, ProviderError
from scalegate.simulator.responses import (
    api_key,
    error_response,
    json_response,
    new_id,
    read_body,
)
from scalegate.simulator.state import SIMULATOR_KEY, Simulator
from scalegate.simulator.tokens import count_input_tokens
from scalegate.simulator.validation import check_version, parse_json_object, validate_messages


def _authorize(sim: Simulator, request: web.Request) -> tuple[str, str]:
    """The caller's key and API version, or the 401/400 the provider would give."""
    key = sim.authenticate(api_key(request))
    return key, check_version(request.headers.get("anthropic-version"))


async def head_root(request: web.Request) -> web.StreamResponse:
    """``HEAD /``: 200 with no body and no auth, so a connectivity probe succeeds."""
    return web.Response(status=200)


async def post_count_tokens(request: web.Request) -> web.StreamResponse:
    """``{"input_tokens": N}`` by the same rule as /v1/messages; not rate limited."""
    sim = request.app[SIMULATOR_KEY]
    request_id = new_id("req")
    try:
        key, version = _authorize(sim, request)
        sim.stats.counted_tokens(key)
        body = parse_json_object(await read_body(request))
        validate_messages(body, version, sim.catalog, count_only=True)
    except ProviderError as exc:
        return error_response(exc, request_id)
    return json_response(
        {"input_tokens": count_input_tokens(body)}, headers={"request-id": request_id}
    )


async def get_models(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    request_id = new_id("req")
    try:
        _authorize(sim, request)
        raw_limit = request.query.get("limit", "20")
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidRequestError(
                f"limit: Input should be an integer, got {raw_limit!r}"
            ) from None
        page = sim.catalog.page(
            limit, request.query.get("after_id"), request.query.get("before_id")
        )
    except ProviderError as exc:
        return error_response(exc, request_id)
    return json_response(page, headers={"request-id": request_id})


async def get_model(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR_KEY]
    request_id = new_id("req")
    try:
        _authorize(sim, request)
        name = request.match_info["model_id"]
        model_id = sim.catalog.resolve(name)
        if model_id is None:
            raise NotFoundError(f"model: {name}")
    except ProviderError as exc:
        return error_response(exc, request_id)
    return json_response(sim.catalog.info(model_id), headers={"request-id": request_id})
