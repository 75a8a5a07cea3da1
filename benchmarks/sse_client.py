#!/usr/bin/env python3
"""The streaming load generator of the scale curves: many SSE streams from one asyncio process.

Run as a subprocess by ``curve_streams.py`` and ``curve_sse_relay.py``; prints one JSON line
(``SSE_RESULT {...}``) on stdout.

* ``--mode paced``: ``--streams`` streams, started evenly over ``--ramp`` seconds, each read
  to its end. Per stream: the time from sending the request to the first event
  (``message_start``) and to the first content event (the first text delta: until content
  begins the gateway holds a stream's opening events back, so that a stream failing before
  it can be retried elsewhere); per text delta: how long after the upstream wrote it (the ``t<unix
  time>`` text of ``sse_upstream.py --interval``) it arrived here. Also when the last stream
  opened and the first one ended (the window in which all were open).
* ``--mode count``: ``--streams`` concurrent loops, each posting one stream after another for
  ``--duration`` seconds and counting the events received (``event:`` lines, counted in the
  raw chunks: cheap enough that the client is not the bottleneck).

Errors are counted by HTTP status (non-200) or exception type; a 200 stream that does not
end in ``message_stop`` counts as ``incomplete``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from scalegate.process import tune_gc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_overhead import REQUEST_HEADERS
from streaming_overhead import stream_request_body

STAMP = b'"text":"t'
HEADERS = dict(REQUEST_HEADERS)
STOP = b'"type":"message_stop"'


class Paced:
    def __init__(self) -> None:
        self.first_event_ms: list[float] = []
        self.first_content_ms: list[float] = []
        self.event_delay_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.completed = 0
        self.last_open = 0.0  # monotonic: when the last stream got its first event
        self.first_end = float("inf")

    async def one(self, session: aiohttp.ClientSession, url: str, body: bytes, at: float) -> None:
        loop = asyncio.get_running_loop()
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = loop.time()
        first = content = True
        stopped = False
        try:
            async with session.post(url, data=body, headers=HEADERS) as resp:
                if resp.status != 200:
                    self.errors[f"status {resp.status}"] += 1
                    await resp.read()
                    return
                async for line in resp.content:
                    if not line.startswith(b"data:"):
                        continue
                    now = loop.time()
                    if first:
                        first = False
                        self.first_event_ms.append((now - sent) * 1000)
                        self.last_open = max(self.last_open, now)
                    at_stamp = line.find(STAMP)
                    if at_stamp >= 0:
                        if content:
                            content = False
                            self.first_content_ms.append((now - sent) * 1000)
                        end = line.index(b'"', at_stamp + len(STAMP))
                        written = float(line[at_stamp + len(STAMP) : end])
                        self.event_delay_ms.append((time.time() - written) * 1000)
                    elif STOP in line:
                        stopped = True
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.errors[type(exc).__name__] += 1
            return
        self.first_end = min(self.first_end, loop.time())
        if stopped:
            self.completed += 1
        else:
            self.errors["incomplete"] += 1


async def paced(args: argparse.Namespace, url: str, body: bytes) -> dict[str, Any]:
    state = Paced()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=args.read_timeout)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1
        step = args.ramp / max(1, args.streams)
        started = time.time()
        async with asyncio.TaskGroup() as group:
            for i in range(args.streams):
                group.create_task(state.one(session, url, body, start + i * step))
        elapsed = loop.time() - start
    return {
        "mode": "paced",
        "streams": args.streams,
        "started_unix": started,
        "elapsed_s": elapsed,
        "completed": state.completed,
        "errors": dict(state.errors),
        "all_open_s": max(0.0, state.first_end - state.last_open),
        "last_open_at_s": state.last_open - start,
        "first_event_ms": state.first_event_ms,
        "first_content_ms": state.first_content_ms,
        "event_delay_ms": state.event_delay_ms,
    }


async def count(args: argparse.Namespace, url: str, body: bytes) -> dict[str, Any]:
    events = 0
    streams = 0
    nbytes = 0
    errors: Counter[str] = Counter()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=args.read_timeout)
    connector = aiohttp.TCPConnector(limit=0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.duration

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal events, streams, nbytes
        while loop.time() < deadline:
            try:
                async with session.post(url, data=body, headers=HEADERS) as resp:
                    if resp.status != 200:
                        errors[f"status {resp.status}"] += 1
                        await resp.read()
                        await asyncio.sleep(0.05)
                        continue
                    tail = b""
                    async for chunk in resp.content.iter_any():
                        events += chunk.count(b"event: ")
                        nbytes += len(chunk)
                        tail = (tail + chunk)[-64:]
                    if STOP in tail:
                        streams += 1
                    else:
                        errors["incomplete"] += 1
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    started = loop.time()
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        asyncio.TaskGroup() as group,
    ):
        for _ in range(args.streams):
            group.create_task(worker(session))
    elapsed = loop.time() - started
    return {
        "mode": "count",
        "concurrency": args.streams,
        "elapsed_s": elapsed,
        "events": events,
        "bytes": nbytes,
        "streams_completed": streams,
        "events_per_s": events / elapsed if elapsed > 0 else 0.0,
        "errors": dict(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--mode", choices=("paced", "count"), required=True)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all (paced)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (count)")
    parser.add_argument("--read-timeout", type=float, default=120.0)
    parser.add_argument("--path", default="/v1/messages")
    parser.add_argument(
        "--header", action="append", default=[], help="extra request header NAME:VALUE"
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # The gateway's collector settings: at 10,000 streams the default thresholds stall the
    # load generator for hundreds of ms (full collections over every stream's objects).
    tune_gc()
    url = args.url.rstrip("/") + args.path
    body = stream_request_body().encode()
    for item in args.header:
        name, _, value = item.partition(":")
        HEADERS[name.strip().lower()] = value.strip()
    run = paced if args.mode == "paced" else count
    result = asyncio.run(run(args, url, body))
    sys.stdout.write("SSE_RESULT " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
