#!/usr/bin/env python3
"""A tiny Anthropic-like streaming upstream for the scale curves (aiohttp, one process).

Every ``POST /v1/messages`` is answered with one Messages SSE stream, the event sequence the
provider sends: ``message_start``, ``content_block_start``, ``--events`` text
``content_block_delta`` events, ``content_block_stop``, ``message_delta`` (usage),
``message_stop``, with the ``request-id`` and ``anthropic-ratelimit-*`` headers of
``gateway_overhead.py`` (limits too large to bind, so the key pool's header sync never
blocks).

* ``--interval S`` > 0 (paced, ``curve_streams.py``): the deltas come one every ``S`` seconds
  on an absolute schedule (no drift), each delta's text is ``t<unix time it was written>``, so
  the client can tell how long each event took to reach it (same machine, same clock).
* ``--interval 0`` (fast, ``curve_sse_relay.py``): the deltas are written as fast as the
  socket takes them, ``--batch`` events per write (1: one write per event, as a provider's
  token-by-token stream arrives).

``GET /healthz`` answers 200 (readiness). Runs until SIGTERM/SIGINT.

    python benchmarks/sse_upstream.py --port 9000 --events 20 --interval 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from aiohttp import web

from scalegate.process import tune_gc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_overhead import UPSTREAM_HEADERS

MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 14, "output_tokens": 1},
}


def sse(event: str, data: dict[str, object]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


HEAD = sse("message_start", {"type": "message_start", "message": MESSAGE}) + sse(
    "content_block_start",
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
)
DELTA_PREFIX = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"'
)
DELTA_SUFFIX = b'"}}\n\n'
FAST_DELTA = DELTA_PREFIX + b"word " + DELTA_SUFFIX


def tail(events: int) -> bytes:
    return (
        sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": events},
            },
        )
        + sse("message_stop", {"type": "message_stop"})
    )


def make_app(events: int, interval: float, batch: int) -> web.Application:
    end = tail(events)
    fast_chunk = FAST_DELTA * batch
    headers = {**UPSTREAM_HEADERS, "content-type": "text/event-stream", "cache-control": "no-cache"}

    async def messages(request: web.Request) -> web.StreamResponse:
        await request.read()
        resp = web.StreamResponse(status=200, headers=headers)
        await resp.prepare(request)
        await resp.write(HEAD)
        if interval > 0:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i in range(1, events + 1):
                delay = start + i * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                stamp = f"t{time.time():.6f}".encode()
                await resp.write(DELTA_PREFIX + stamp + DELTA_SUFFIX)
        else:
            full, rest = divmod(events, batch)
            for _ in range(full):
                await resp.write(fast_chunk)
            if rest:
                await resp.write(FAST_DELTA * rest)
        await resp.write(end)
        await resp.write_eof()
        return resp

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=20, help="text deltas per stream")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between deltas")
    parser.add_argument("--batch", type=int, default=1, help="deltas per write (fast mode)")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # The gateway's collector settings: at 10,000 streams the default thresholds stall the
    # load generator for hundreds of ms (full collections over every stream's objects).
    tune_gc()
    web.run_app(
        make_app(args.events, args.interval, max(1, args.batch)),
        host="127.0.0.1",
        port=args.port,
        backlog=16384,
        access_log=None,
        print=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
