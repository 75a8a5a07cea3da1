"""Shared mode against embedded mode: requests/s, added latency and Redis round trips.

Same load as ``gateway_overhead.py`` (wrk → gateway → nginx with a fixed Messages reply, limits
too large to bind), run three ways:

* embedded — one gateway process, state in memory;
* shared — one gateway process, state in a local redis-server;
* shared ``--workers 2`` — two processes on one port sharing that Redis (not pinned: two
  cores cannot give each process and the load generator its own);
* shared + tenant — one process, the client key a tenant's with request and token limits
  and a monthly budget (limits too large to bind): what tenant accounting adds.

Redis round trips per request come from ``INFO commandstats``: the EVALSHA/EVAL calls during
the run, less the background calls (replica heartbeats, registry polls, idle job workers)
measured over an idle interval of the same length, divided by the requests served.

    .venv/bin/python benchmarks/shared_mode.py [--duration 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway_overhead as core

DEFAULT_JSON = core.REPO / "benchmarks" / "results" / "shared_mode.json"
TARGET_SHARED_RPS = 2000.0
TARGET_ROUND_TRIPS = 2.0


def start_redis(children: core.Children, workdir: Path, pinning: core.Pinning) -> tuple[Any, int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise core.StepFailed("redis-server is missing: run `bash scripts/system-deps.sh`")
    port = core.free_port()
    argv = [
        *pinning.prefix(pinning.load_cpu),
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    child = children.start("redis", argv, workdir)
    core.wait_ready(child, lambda: redis_command(port, "PING") == "PONG", "redis", child.stderr)
    return child, port


def redis_command(port: int, *parts: str) -> str:
    import socket

    payload = f"*{len(parts)}\r\n".encode()
    for part in parts:
        payload += b"$%d\r\n%s\r\n" % (len(part), part.encode())
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(1 << 16)
            data += chunk
            if (
                not chunk
                or data.startswith(b"+")
                or (data.count(b"\r\n") >= 2 and data.endswith(b"\r\n"))
            ):
                break
    text = data.decode(errors="replace")
    if text.startswith("+"):
        return text[1:].strip()
    return text.split("\r\n", 1)[1] if text.startswith("$") else text


def script_calls(port: int) -> int:
    stats = redis_command(port, "INFO", "commandstats")
    total = 0
    for line in stats.splitlines():
        if line.startswith(("cmdstat_evalsha:", "cmdstat_eval:")):
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def start_variant(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    upstream: str,
    redis_port: int | None,
    workers: int,
    tenant: bool = False,
) -> tuple[Any, str]:
    config = core.write_gateway_config(workdir, upstream)
    if redis_port is not None:
        with config.open("a") as f:
            f.write(f"redis_url: redis://127.0.0.1:{redis_port}/0\n")
    if tenant:
        key = core.REQUEST_HEADERS["x-api-key"]
        with config.open("a") as f:
            f.write(
                f"tenants:\n  - name: bench\n    keys: [{key}]\n"
                "    limits: {rpm: 100000000, tpm: 100000000000, rpd: 100000000000}\n"
                "    monthly_budget_usd: 1000000000\n"
            )
    port = core.free_port()
    cpu = pinning.gateway_cpu if workers == 1 else None
    argv = [
        *pinning.prefix(cpu),
        core.default_gateway_cmd(),
        "serve",
        "--port",
        str(port),
        "--config",
        str(config),
        "--workers",
        str(workers),
    ]
    env = {k: v for k, v in os.environ.items() if k not in core.GATEWAY_ENV_DROP}
    child = children.start(f"gateway-{workers}-{redis_port or 'mem'}", argv, workdir, env=env)
    url = f"http://127.0.0.1:{port}"
    core.wait_ready(
        child, lambda: core.get_status(url + "/healthz") == 200, "gateway", child.stderr, 30.0
    )
    return child, url


def run_variant(
    name: str,
    args: argparse.Namespace,
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    script: Path,
    upstream: str,
    redis_port: int | None,
    workers: int,
    tenant: bool = False,
) -> dict[str, Any]:
    child, url = start_variant(children, workdir, pinning, upstream, redis_port, workers, tenant)
    try:
        core.run_wrk(children, workdir, pinning, script, url, 50, 2, f"{name}-warm")
        background = 0.0
        if redis_port is not None:
            before = script_calls(redis_port)
            time.sleep(args.duration)
            background = (script_calls(redis_port) - before) / args.duration
            before = script_calls(redis_port)
        started = time.monotonic()
        c50 = core.run_wrk(children, workdir, pinning, script, url, 50, args.duration, name)
        elapsed = time.monotonic() - started
        result: dict[str, Any] = {
            "variant": name,
            "requests_per_s": c50["requests"] / (c50["duration_us"] / 1e6),
            "p50_ms_c50": c50["latency_us"]["p50"] / 1000,
            "p99_ms_c50": c50["latency_us"]["p99"] / 1000,
            "errors": sum(c50["errors"].values()),
            "non_2xx": sum(v for k, v in c50["statuses"].items() if not str(k).startswith("2")),
        }
        if redis_port is not None:
            calls = script_calls(redis_port) - before - background * elapsed
            result["redis_round_trips_per_request"] = calls / max(1, c50["requests"])
            result["redis_background_calls_per_s"] = background
        c1 = core.run_wrk(children, workdir, pinning, script, url, 1, args.duration, f"{name}-c1")
        result["p50_ms_c1"] = c1["latency_us"]["p50"] / 1000
        return result
    finally:
        children.stop(child)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    children = core.Children()
    pinning = core.choose_pinning()
    with tempfile.TemporaryDirectory(prefix="scalegate-shared-bench-") as tmp:
        workdir = Path(tmp)
        try:
            _, upstream = core.start_nginx(children, workdir, pinning, core.free_port())
            script = core.write_wrk_script(workdir)
            _, redis_port = start_redis(children, workdir, pinning)
            direct = core.run_wrk(children, workdir, pinning, script, upstream, 1, 3, "direct")
            direct_p50 = direct["latency_us"]["p50"] / 1000
            rows = [
                run_variant(
                    "embedded", args, children, workdir, pinning, script, upstream, None, 1
                ),
                run_variant(
                    "shared", args, children, workdir, pinning, script, upstream, redis_port, 1
                ),
                run_variant(
                    "shared --workers 2",
                    args,
                    children,
                    workdir,
                    pinning,
                    script,
                    upstream,
                    redis_port,
                    2,
                ),
                run_variant(
                    "shared + tenant",
                    args,
                    children,
                    workdir,
                    pinning,
                    script,
                    upstream,
                    redis_port,
                    1,
                    tenant=True,
                ),
            ]
        finally:
            children.close()
    print(f"scalegate shared mode vs embedded ({pinning.note}; {args.duration} s runs, wrk -c 50)")
    head = ("req/s c=50", "p50/p99 c=50 ms", "added p50 c=1 ms", "redis RT/req")
    print(f"{'':24}{head[0]:>12}{head[1]:>18}{head[2]:>18}{head[3]:>14}")
    for row in rows:
        rt = row.get("redis_round_trips_per_request")
        print(
            f"{row['variant']:24}{row['requests_per_s']:>12,.0f}"
            f"{row['p50_ms_c50']:>9.2f} / {row['p99_ms_c50']:<6.2f}"
            f"{row['p50_ms_c1'] - direct_p50:>18.3f}"
            f"{'' if rt is None else f'{rt:.2f}':>14}"
            + (
                f"   errors {row['errors']}, non-2xx {row['non_2xx']}"
                if row["errors"] or row["non_2xx"]
                else ""
            )
        )
    shared = rows[1]
    rps, trips = shared["requests_per_s"], shared["redis_round_trips_per_request"]
    print(
        f"targets: shared ≥ {TARGET_SHARED_RPS:,.0f} req/s: {rps:,.0f} "
        f"({'met' if rps >= TARGET_SHARED_RPS else 'NOT met'}); "
        f"≤ {TARGET_ROUND_TRIPS:g} Redis round trips/request: {trips:.2f} "
        f"({'met' if trips <= TARGET_ROUND_TRIPS + 0.01 else 'NOT met'})"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"direct_p50_ms_c1": direct_p50, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
