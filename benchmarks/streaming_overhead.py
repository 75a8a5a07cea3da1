"""What one gateway process costs per *streamed* request (``"stream": true``).

The setup of ``gateway_overhead.py`` (whose helpers this imports): wrk on CPU 0 with nginx as
a fast upstream, the gateway alone on CPU 1. nginx answers every ``POST /v1/messages`` with
one fixed, complete Messages SSE stream (``message_start``, a text block in
``--deltas`` ``content_block_delta`` events, ``message_delta`` with usage,
``message_stop``) as ``text/event-stream``, with the same ``anthropic-ratelimit-*`` headers.
The gateway relays it event by event: it parses the events (usage, errors) and forwards
each chunk as it arrives, so this measures the streaming path's per-request cost, not the
provider's pacing (nginx sends the whole stream at once: the best case for chunking).

    .venv/bin/python benchmarks/streaming_overhead.py [--duration 10] [--deltas 24]

Printed: requests/s at 50 connections and latency at one, direct and through the gateway,
and whether the relayed stream was complete (ends in ``message_stop``, one ``[DONE]``-free
SSE stream, the same events as the upstream sent).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway_overhead as core


def sse(event: str, data: dict[str, object]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def upstream_stream(deltas: int) -> str:
    words = [f"word{i} " for i in range(deltas)]
    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 14, "output_tokens": 1},
    }
    parts = [
        sse("message_start", {"type": "message_start", "message": message}),
        sse("ping", {"type": "ping"}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        *(
            sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": w},
                },
            )
            for w in words
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": deltas},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return "".join(parts)


def stream_request_body() -> str:
    body = json.loads(core.REQUEST_BODY)
    body["stream"] = True
    return json.dumps(body, separators=(",", ":"))


def fetch(url: str) -> tuple[int, str, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", core.MESSAGES_PATH, core.REQUEST_BODY, core.REQUEST_HEADERS)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type", ""), resp.read()
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    # nginx takes a `return` text of at most ~4 KB: about 25 deltas.
    parser.add_argument("--deltas", type=int, default=24, help="text deltas per stream")
    args = parser.parse_args()
    # The core benchmark's upstream and load, switched to streaming.
    core.UPSTREAM_BODY = upstream_stream(args.deltas)
    core.REQUEST_BODY = stream_request_body()
    write_conf = core.write_nginx_config

    def sse_conf(workdir: Path, port: int) -> Path:
        path = write_conf(workdir, port)
        text = path.read_text().replace(
            "location = /v1/messages {\n            default_type application/json;",
            "location = /v1/messages {\n            default_type text/event-stream;",
        )
        path.write_text(text)
        return path

    core.write_nginx_config = sse_conf
    children = core.Children()
    pinning = core.choose_pinning()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sg-stream-bench-") as tmp:
        workdir = Path(tmp)
        try:
            _, upstream = core.start_nginx(children, workdir, pinning, core.free_port())
            _, gateway = core.start_gateway(
                children,
                workdir,
                pinning,
                core.default_gateway_cmd(),
                upstream,
                core.free_port(),
            )
            direct_answer = fetch(upstream)
            relayed = fetch(gateway)
            script = core.write_wrk_script(workdir)
            for target, url in (("direct", upstream), ("gateway", gateway)):
                for conns in (50, 1):
                    if args.warmup:
                        core.run_wrk(
                            children, workdir, pinning, script, url, conns, args.warmup, "warm"
                        )
                    raw = core.run_wrk(
                        children, workdir, pinning, script, url, conns, args.duration, target
                    )
                    seconds = raw["duration_us"] / 1e6
                    rows[f"{target}_c{conns}"] = {
                        "rps": raw["requests"] / seconds,
                        "p50": raw["latency_us"]["p50"] / 1000,
                        "p99": raw["latency_us"]["p99"] / 1000,
                        "non_2xx": sum(
                            v for k, v in raw["statuses"].items() if not str(k).startswith("2")
                        ),
                        "errors": sum(raw["errors"].values()),
                    }
        finally:
            children.close()
    same_events = [line for line in relayed[2].split(b"\n") if line.startswith(b"event:")] == [
        line for line in direct_answer[2].split(b"\n") if line.startswith(b"event:")
    ]
    complete = relayed[0] == 200 and relayed[2].rstrip().endswith(b'{"type":"message_stop"}')
    print(
        f"scalegate streaming overhead ({pinning.note}; {args.deltas} text deltas per stream, "
        f"{len(core.UPSTREAM_BODY):,} bytes; {args.duration} s runs)"
    )
    print(
        f"  relayed stream: status {relayed[0]}, {relayed[1]}, complete {complete}, "
        f"same events as upstream {same_events}"
    )
    print(f"{'':28}{'direct (nginx)':>16}{'via gateway':>14}")
    d50, g50, d1, g1 = (rows[k] for k in ("direct_c50", "gateway_c50", "direct_c1", "gateway_c1"))
    print(f"{'requests/s at c=50':28}{d50['rps']:>16,.0f}{g50['rps']:>14,.0f}")
    print(
        f"{'p50 / p99 at c=50 (ms)':28}{d50['p50']:>9.2f} / {d50['p99']:<5.2f}"
        f"{g50['p50']:>7.2f} / {g50['p99']:<5.2f}"
    )
    print(
        f"{'p50 at c=1 (ms)':28}{d1['p50']:>16.3f}{g1['p50']:>14.3f}"
        f"   added {g1['p50'] - d1['p50']:+.3f} ms"
    )
    errors = sum(r["non_2xx"] + r["errors"] for r in rows.values())
    print(f"  non-2xx + socket errors over all runs: {errors}")
    return 0 if complete and same_events and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
