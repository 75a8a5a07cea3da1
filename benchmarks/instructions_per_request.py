#!/usr/bin/env python3
"""CPU instructions the gateway executes per request: a cost measure that noise cannot move.

Throughput on a shared 2-core machine varies ±30 % between runs of the same code (other
VMs, steal, frequency), far more than the few per cent an A/B of a code change must
resolve. The number of instructions a request costs does not depend on that: this script
counts them with valgrind (``--tool=callgrind``, no cache simulation) in one process that
builds the gateway's ASGI app from a config file, starts it, and drives ``POST
/v1/messages`` through it directly (no HTTP server, no client: only what the gateway itself
runs, including its aiohttp call to the upstream) against the nginx of
``gateway_overhead.py`` (a fixed Messages reply, or a fixed SSE stream with
``--stream``). Instructions per request are the difference between a run of ``--requests``
+ 200 requests and one of 200, divided by ``--requests``: start-up and imports cancel out.
Periodic background work (the job pool's loops) runs at wall-clock rate, ~0.4 M
instructions a second here, under 2 % of the figure.

``--against REV`` measures a git revision too (checked out into a temporary worktree) and
prints the ratio: how much more (or less) the working tree costs than REV per request.

    .venv/bin/python benchmarks/instructions_per_request.py --against 1c9ac1f
    .venv/bin/python benchmarks/instructions_per_request.py --stream --against 1c9ac1f

Needs valgrind and nginx (``bash scripts/bench-deps.sh``); one run takes a few minutes (the
two sizes run in parallel).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import gateway_overhead as core  # noqa: E402
import streaming_overhead  # noqa: E402

BASELINE = 200  # requests in the run that is subtracted
WARMUP = 300  # requests before counting starts, in both runs (caches, pools, estimators)


# -- the child: run N requests through the app, in process -----------------------------------


async def _one(app: Any, body: bytes, stream: bool) -> None:
    headers = [(k.encode(), v.encode()) for k, v in core.REQUEST_HEADERS.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": core.MESSAGES_PATH,
        "raw_path": core.MESSAGES_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []
    given = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()  # the client stays until the response ends
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await app(scope, receive, send)
    status = sent[0].get("status")
    if status != 200:
        raise SystemExit(f"the gateway answered {status}: {sent[-1].get('body', b'')[:300]!r}")
    if stream and b"message_stop" not in sent[-2].get("body", b"") + sent[-1].get("body", b""):
        raise SystemExit("the relayed stream did not end with message_stop")


async def _child(config: str, requests: int, stream: bool) -> None:
    from scalegate.app import create_app
    from scalegate.config import load_settings

    app = create_app(load_settings(config))
    gateway = app.state.gateway
    body = (streaming_overhead.stream_request_body() if stream else core.REQUEST_BODY).encode()
    await gateway.start()
    try:
        for _ in range(WARMUP + requests):
            await _one(app, body, stream)
    finally:
        await gateway.stop()


# -- the parent: nginx, valgrind, the A/B ------------------------------------------------------


def _instructions(src: Path, config: Path, requests: int, stream: bool) -> int:
    env = {k: v for k, v in os.environ.items() if k not in core.GATEWAY_ENV_DROP}
    env["PYTHONPATH"] = str(src)
    env["PYTHONHASHSEED"] = "0"
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--cache-sim=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        str(config),
        "--requests",
        str(requests),
        *(["--stream"] if stream else []),
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(found.group(1))


def per_request(src: Path, config: Path, requests: int, stream: bool) -> float:
    with ThreadPoolExecutor(2) as pool:
        small = pool.submit(_instructions, src, config, BASELINE, stream)
        large = pool.submit(_instructions, src, config, BASELINE + requests, stream)
        return (large.result() - small.result()) / requests


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(where), rev],
        check=True,
        capture_output=True,
    )
    return where / "src"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests counted (1000)")
    parser.add_argument("--stream", action="store_true", help='"stream": true requests')
    parser.add_argument("--against", metavar="REV", help="also measure this git revision")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args.child, args.requests, args.stream))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: run `bash scripts/bench-deps.sh`")
    if args.stream:
        core.UPSTREAM_BODY = streaming_overhead.upstream_stream(24)
        write_conf = core.write_nginx_config

        def sse_conf(workdir: Path, port: int) -> Path:
            path = write_conf(workdir, port)
            path.write_text(
                path.read_text().replace(
                    "location = /v1/messages {\n            default_type application/json;",
                    "location = /v1/messages {\n            default_type text/event-stream;",
                )
            )
            return path

        core.write_nginx_config = sse_conf
    children = core.Children()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sg-instr-") as tmp:
        workdir = Path(tmp)
        try:
            pinning = core.Pinning(None, None, "not pinned")
            _, upstream = core.start_nginx(children, workdir, pinning, core.free_port())
            config = core.write_gateway_config(workdir, upstream)
            sides = [("working tree", REPO / "src")]
            if args.against:
                sides.append((args.against, _worktree(args.against, workdir / "against")))
            for name, src in sides:
                results[name] = per_request(src, config, args.requests, args.stream)
        finally:
            children.close()
            if args.against:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "-f", str(workdir / "against")],
                    check=False,
                    capture_output=True,
                )
    kind = "streamed (24 text deltas)" if args.stream else "non-streaming"
    print(f"instructions per {kind} POST /v1/messages, {args.requests} requests counted")
    for name, value in results.items():
        print(f"  {name:>14}: {value:>12,.0f}")
    if args.against:
        ratio = results["working tree"] / results[args.against]
        print(f"  working tree / {args.against}: {ratio:.4f} ({(ratio - 1) * 100:+.1f} %)")
    if args.json:
        args.json.write_text(json.dumps({"stream": args.stream, "per_request": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
