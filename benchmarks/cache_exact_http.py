#!/usr/bin/env python3
"""Exact-cache hits through the full HTTP path: one ``scalegate serve`` process, wrk.

The gateway runs with ``cache.mode: exact`` (embedded mode, in-memory store) in front of its
built-in simulator. One request warms the cache; then wrk (one thread, ``--connections``,
a Lua script posting the same Messages request with the SDK's headers) measures hits for
``--duration`` seconds. The gateway is pinned to the second CPU and wrk to the first
(``taskset``, when there are two). Printed: requests/s, latency percentiles, the share of
responses that said ``x-scalegate-cache: hit``, and the gateway's own per-request overhead
(``x-scalegate-overhead-ms``) over sequential hits; compared with the target of ≥ 5,000
hits/s in one process. Needs ``wrk`` (``bash scripts/bench-deps.sh``). A measurement: the
exit status is 0 whenever the runs completed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_RPS = 5000.0
BODY = json.dumps(
    {
        "model": "claude-sonnet-4-6",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello, how are you today? [sim:tokens=40]"}],
    },
    separators=(",", ":"),
)
HEADERS = {
    "anthropic-version": "2023-06-01",
    "x-api-key": "anything",
    "content-type": "application/json",
}
CONFIG = """\
cache:
  mode: exact
  exact: {enabled: true, ttl_seconds: 3600, max_entries: 10000}
demo:
  ttft_ms: 0
  tokens_per_second: 0
"""
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["x-api-key"] = "anything"
wrk.headers["content-type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.3f, "p50_ms": %%.3f, "p90_ms": %%.3f, "p99_ms": %%.3f, ' ..
    '"errors": %%d, "non_2xx": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/messages", body=BODY, headers=HEADERS)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def pin(cpu: int) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", default=str(REPO / "benchmarks/results/cache_exact_http.json"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: run `bash scripts/bench-deps.sh`", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="scalegate-cache-bench-"))
    (tmp / "config.yaml").write_text(CONFIG)
    (tmp / "hits.lua").write_text(WRK_SCRIPT % {"body": json.dumps(BODY)})
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "ANTHROPIC_API_KEYS",
            "ANTHROPIC_BASE_URL",
            "REDIS_URL",
            "SCALEGATE_CONFIG",
            "CACHE_TTL",
            "MAX_CACHE_SIZE",
        )
    }
    scalegate = str(Path(sys.executable).parent / "scalegate")
    cmd = [
        *pin(1),
        scalegate,
        "--log-level",
        "warning",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(tmp / "config.yaml"),
    ]
    log = (tmp / "gateway.log").open("wb")
    gateway = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
    )
    result: dict[str, object] = {"target_rps": TARGET_RPS, "connections": args.connections}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, _ = post(port)
                break
            except OSError:
                if gateway.poll() is not None or time.monotonic() > deadline:
                    print((tmp / "gateway.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.1)
        print(f"first request: {status}, x-scalegate-cache: {headers.get('x-scalegate-cache')}")
        status, headers, _ = post(port)
        print(f"second request: {status}, x-scalegate-cache: {headers.get('x-scalegate-cache')}")
        wrk = [
            "wrk",
            "-t1",
            f"-c{args.connections}",
            "-s",
            str(tmp / "hits.lua"),
            f"http://127.0.0.1:{port}/v1/messages",
        ]
        subprocess.run([*pin(0), *wrk, f"-d{args.warmup}s"], capture_output=True, check=True)
        out = subprocess.run(
            [*pin(0), *wrk, f"-d{args.duration}s"], capture_output=True, text=True, check=True
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("{"))
        run = json.loads(line)
        rps = run["requests"] / run["seconds"]
        # Sequential hits on one keep-alive connection: the gateway's own overhead.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        overheads, hits = [], 0
        for _ in range(args.samples):
            conn.request("POST", "/v1/messages", body=BODY, headers=HEADERS)
            resp = conn.getresponse()
            resp.read()
            overheads.append(float(resp.getheader("x-scalegate-overhead-ms") or "nan"))
            hits += resp.getheader("x-scalegate-cache") == "hit"
        conn.close()
        overheads.sort()
        result.update(
            run=run,
            rps=rps,
            overhead_ms_p50=statistics.median(overheads),
            overhead_ms_p99=overheads[int(len(overheads) * 0.99) - 1],
            sequential_hit_share=hits / args.samples,
        )
        print(f"exact-cache hits via HTTP, {args.connections} connections, {args.duration} s:")
        print(
            f"  requests/s        {rps:,.0f}   (target ≥ {TARGET_RPS:,.0f}: "
            f"{'met' if rps >= TARGET_RPS else 'MISSED'})"
        )
        print(
            f"  latency p50/p90/p99  {run['p50_ms']:.2f} / {run['p90_ms']:.2f} / "
            f"{run['p99_ms']:.2f} ms"
        )
        print(f"  non-2xx {run['non_2xx']}, socket errors {run['errors']}")
        print(
            f"  sequential hits: {hits}/{args.samples} said hit; gateway overhead "
            f"p50 {result['overhead_ms_p50']:.3f} ms, p99 {result['overhead_ms_p99']:.3f} ms"
        )
        out_path = Path(args.json)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=1))
        return 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(gateway.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            gateway.wait(timeout=15)
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
