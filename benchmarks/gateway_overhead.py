#!/usr/bin/env python3
"""Measure the gateway's own cost per request: throughput and added latency against nginx.

One ``scalegate serve`` process, pinned to its own core, proxies non-streaming
``POST /v1/messages`` to an nginx that answers every request with one fixed Messages reply
(and realistic ``request-id`` and ``anthropic-ratelimit-*`` headers, so the key pool's header
sync runs). ``wrk`` sends the same load straight to nginx and through the gateway:

* 50 connections (``--connections``): requests per second, direct and via the gateway;
* 1 connection: the latency distribution, and the median the gateway adds;
* the gateway's peak resident memory (``VmHWM``) and what it reports itself in
  ``x-scalegate-overhead-ms`` over ~200 sequential requests.

nginx and wrk share the first CPU, the gateway gets the second. This is a measurement, not a
test: it never asserts, it prints a table, compares it with the targets of the performance
issue (≥ 3,000 requests/s at 50 connections, ≤ 1 ms added median at concurrency 1,
≤ 150 MB peak RSS) and writes the numbers as JSON. Run ``bash scripts/bench-deps.sh`` first
(it installs nginx and wrk from Debian), then ``.venv/bin/python benchmarks/gateway_overhead.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "gateway_overhead.json"

TARGET_RPS = 3000.0
TARGET_ADDED_MEDIAN_MS = 1.0
TARGET_PEAK_RSS_MB = 150.0

MESSAGES_PATH = "/v1/messages"
REQUEST_BODY = json.dumps(
    {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello, how are you today?"}],
    },
    separators=(",", ":"),
)
REQUEST_HEADERS = {
    "anthropic-version": "2023-06-01",
    "x-api-key": "anything",
    "content-type": "application/json",
}

# What the provider answers to REQUEST_BODY, byte for byte the same every time.
UPSTREAM_BODY = json.dumps(
    {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {
                "type": "text",
                "text": "Hello! I am doing well, thank you for asking. How can I help you today?",
            }
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 14,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 21,
            "service_tier": "standard",
        },
    },
    separators=(",", ":"),
)

# The pool keys' limits are so large that quota never blocks; the rate-limit headers nginx
# returns agree with them, so that syncing the pool's state to them never blocks either.
KEY_LIMITS = {"rpm": 100_000_000, "itpm": 100_000_000_000, "otpm": 100_000_000_000}
UPSTREAM_HEADERS = {
    "request-id": "req_011CUYqvFyAUKpR7hQ4bN9sT",
    "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
    "anthropic-ratelimit-requests-limit": str(KEY_LIMITS["rpm"]),
    "anthropic-ratelimit-requests-remaining": str(KEY_LIMITS["rpm"] - 1),
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
    "anthropic-ratelimit-input-tokens-limit": str(KEY_LIMITS["itpm"]),
    "anthropic-ratelimit-input-tokens-remaining": str(KEY_LIMITS["itpm"] - 1_000),
    "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:01Z",
    "anthropic-ratelimit-output-tokens-limit": str(KEY_LIMITS["otpm"]),
    "anthropic-ratelimit-output-tokens-remaining": str(KEY_LIMITS["otpm"] - 1_000),
    "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:00:01Z",
    "anthropic-ratelimit-tokens-limit": str(KEY_LIMITS["itpm"] + KEY_LIMITS["otpm"]),
    "anthropic-ratelimit-tokens-remaining": str(KEY_LIMITS["itpm"] + KEY_LIMITS["otpm"] - 2_000),
    "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01Z",
}

# Environment variables that override the gateway's config file (config.EnvOverrides);
# removed from its environment so that the benchmark measures exactly the file below.
GATEWAY_ENV_DROP = (
    "ANTHROPIC_API_KEYS",
    "ANTHROPIC_BASE_URL",
    "REDIS_URL",
    "SCALEGATE_CONFIG",
    "SCALEGATE_ADMIN_TOKEN",
    "SCALEGATE_PUBLIC_URL",
    "CACHE_TTL",
    "MAX_CACHE_SIZE",
    "SEMANTIC_CACHE_THRESHOLD",
    "MAX_QUEUE_CONCURRENT",
    "QUEUE_MAX_ATTEMPTS",
    "WORKER_CONCURRENCY",
    "WORKER_AUTO_RESTART",
    "METRICS_ENABLED",
    "HEALTH_CHECK_INTERVAL",
    "PROMETHEUS_MULTIPROC_DIR",
)


class StepFailed(RuntimeError):
    """One step of the benchmark could not be carried out (with what was seen)."""


class Aborted(RuntimeError):
    """A step failed (already recorded in the report) and ``--keep-going`` was not given."""


# ---------------------------------------------------------------------------------------------
# Child processes


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path


class Children:
    """Every process the benchmark starts; :meth:`close` ends them all (their whole group)."""

    def __init__(self) -> None:
        self._children: list[Child] = []

    def start(
        self, name: str, argv: Sequence[str], logs: Path, env: dict[str, str] | None = None
    ) -> Child:
        stdout, stderr = logs / f"{name}.stdout", logs / f"{name}.stderr"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                # Its own process group: Ctrl-C reaches only this script, which ends the
                # children itself, and nginx's worker goes with its master.
                start_new_session=True,
            )
        child = Child(name, proc, stdout, stderr)
        self._children.append(child)
        return child

    def stop(self, child: Child, grace: float = 10.0) -> None:
        proc = child.proc
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        # Anything left in its group (an nginx worker whose master died) goes too.
        _signal_group(proc.pid, signal.SIGKILL)
        if child in self._children:
            self._children.remove(child)

    def close(self) -> None:
        # A second Ctrl-C must not leave children behind: the cleanup finishes first.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for child in reversed(list(self._children)):
                self.stop(child)
        finally:
            signal.signal(signal.SIGINT, previous)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Machine: ports, CPUs, /proc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Pinning:
    """Which CPU the load side (nginx, wrk, this script) and the gateway run on."""

    load_cpu: int | None
    gateway_cpu: int | None
    note: str

    def prefix(self, cpu: int | None) -> list[str]:
        return [] if cpu is None else ["taskset", "-c", str(cpu)]


def choose_pinning() -> Pinning:
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None:
        return Pinning(None, None, "not pinned: taskset is missing (apt-get install util-linux)")
    if len(cpus) < 2:
        return Pinning(None, None, f"not pinned: only CPU {cpus} available")
    note = f"nginx + wrk on CPU {cpus[0]}, gateway on CPU {cpus[1]}"
    return Pinning(cpus[0], cpus[1], note)


def read_status_kb(pid: int, field_name: str) -> int | None:
    """A ``kB`` field (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status``."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time so far of every live process in a process group."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # After the command's ")": state ppid pgrp ... utime (12th) stime (13th).
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLOCK_TICKS


@dataclass
class CoreTimes:
    busy: float  # seconds not idle (processes, interrupts, steal)
    processes: float  # seconds in user + nice + system: what processes' own times add up to
    total: float


def core_times() -> dict[int, CoreTimes]:
    """Per CPU, from ``/proc/stat``."""
    times: dict[int, CoreTimes] = {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            # user nice system idle iowait irq softirq steal (guest is counted in user)
            nums = [float(v) / CLOCK_TICKS for v in values[:8]]
            total = sum(nums)
            times[int(name[3:])] = CoreTimes(total - nums[3] - nums[4], sum(nums[:3]), total)
    return times


@dataclass
class CpuSnapshot:
    """CPU time so far: per core, per process group of ours, reaped children, this script."""

    at: float
    cores: dict[int, CoreTimes]
    groups: dict[str, float]
    reaped_children: float
    this_script: float

    @classmethod
    def take(cls, groups: dict[str, int]) -> CpuSnapshot:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            at=time.monotonic(),
            cores=core_times(),
            groups={name: group_cpu_seconds(pgid) for name, pgid in groups.items()},
            reaped_children=children.ru_utime + children.ru_stime,
            this_script=me.ru_utime + me.ru_stime,
        )


def cpu_usage(
    before: CpuSnapshot, after: CpuSnapshot, reaped_as: str | None
) -> tuple[dict[str, float], dict[str, float]]:
    """(% of one core per process kind, % busy per core) between two snapshots.

    ``reaped_as`` names the child that was started and reaped in between (wrk).
    "other processes" is whatever ran on the machine that is none of ours: a sign of noise.
    """
    wall = after.at - before.at
    if wall <= 0:
        return {}, {}
    used = {name: after.groups[name] - before.groups[name] for name in after.groups}
    if reaped_as is not None:
        used[reaped_as] = after.reaped_children - before.reaped_children
    used["this script"] = after.this_script - before.this_script
    all_processes = sum(
        after.cores[c].processes - before.cores[c].processes
        for c in after.cores
        if c in before.cores
    )
    used["other processes"] = max(0.0, all_processes - sum(used.values()))
    busy = {}
    for cpu, now in after.cores.items():
        then = before.cores.get(cpu)
        if then is not None and now.total > then.total:
            busy[f"cpu{cpu}"] = 100 * (now.busy - then.busy) / (now.total - then.total)
    return {name: 100 * seconds / wall for name, seconds in used.items()}, busy


def background_load(seconds: float = 1.0) -> dict[str, float]:
    """How busy each core is before anything of ours runs (other sessions, tests, ...)."""
    before = core_times()
    time.sleep(seconds)
    after = core_times()
    return {
        f"cpu{c}": max(
            0.0, 100 * (after[c].busy - before[c].busy) / (after[c].total - before[c].total)
        )
        for c in after
        if c in before and after[c].total > before[c].total
    }


class RssSampler:
    """Samples a process's ``VmRSS`` in a thread and keeps the largest value."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = read_status_kb(self.pid, "VmRSS")
            if rss is None:
                return
            self.peak_kb = max(self.peak_kb, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def tool_version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    out = (done.stdout + done.stderr).strip().splitlines()
    return out[0] if out else "unknown"


# ---------------------------------------------------------------------------------------------
# The upstream: nginx with a fixed reply


def nginx_string(text: str) -> str:
    """``text`` as a single-quoted nginx string (no variables are expanded in it)."""
    if "$" in text:
        raise ValueError("nginx would expand '$' as a variable: keep it out of the reply")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_nginx_config(workdir: Path, port: int) -> Path:
    headers = "\n".join(
        f"            add_header {name} {nginx_string(value)} always;"
        for name, value in UPSTREAM_HEADERS.items()
    )
    not_found = '{"type":"error","error":{"type":"not_found_error","message":"Not found"}}'
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = f"""# Written by benchmarks/gateway_overhead.py: the fast upstream of the benchmark.
daemon off;
master_process on;
worker_processes 1;
{user}pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;

events {{
    worker_connections 4096;
    multi_accept on;
}}

http {{
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;

    server {{
        listen 127.0.0.1:{port} backlog=4096;

        location = {MESSAGES_PATH} {{
            default_type application/json;
{headers}
            return 200 {nginx_string(UPSTREAM_BODY)};
        }}

        location / {{
            default_type application/json;
            return 404 {nginx_string(not_found)};
        }}
    }}
}}
"""
    path = workdir / "nginx.conf"
    path.write_text(conf)
    return path


def start_nginx(
    children: Children, workdir: Path, pinning: Pinning, port: int
) -> tuple[Child, str]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        raise StepFailed("nginx is not installed: run `bash scripts/bench-deps.sh`")
    conf = write_nginx_config(workdir, port)
    argv = [
        *pinning.prefix(pinning.load_cpu),
        nginx,
        "-e",
        str(workdir / "nginx-error.log"),
        "-p",
        str(workdir),
        "-c",
        str(conf),
    ]
    child = children.start("nginx", argv, workdir)
    url = f"http://127.0.0.1:{port}"
    wait_ready(child, lambda: post_once(url)[0] == 200, "nginx", workdir / "nginx-error.log")
    return child, url


# ---------------------------------------------------------------------------------------------
# The gateway


def default_gateway_cmd() -> str:
    for candidate in (
        REPO / ".venv" / "bin" / "scalegate",
        Path(sys.executable).parent / "scalegate",
    ):
        if candidate.exists():
            return str(candidate)
    return shutil.which("scalegate") or "scalegate"


def write_gateway_config(workdir: Path, upstream_url: str) -> Path:
    limits = ", ".join(f"{name}: {value}" for name, value in KEY_LIMITS.items())
    text = (
        "# Written by benchmarks/gateway_overhead.py: limits so large that quota never blocks.\n"
        f"upstream:\n  base_url: {upstream_url}\n"
        "keys:\n"
        f"  - secret: sk-bench-key-1-aaaaaaaaaaaaaaaaaaaa\n    limits: {{{limits}}}\n"
        f"  - secret: sk-bench-key-2-bbbbbbbbbbbbbbbbbbbb\n    limits: {{{limits}}}\n"
    )
    path = workdir / "gateway.yaml"
    path.write_text(text)
    return path


def start_gateway(
    children: Children,
    workdir: Path,
    pinning: Pinning,
    gateway_cmd: str,
    upstream_url: str,
    port: int,
    extra_config: str = "",
) -> tuple[Child, str]:
    """Start ``scalegate serve`` pinned to its CPU; ``extra_config`` is appended to its file."""
    config = write_gateway_config(workdir, upstream_url)
    if extra_config:
        with config.open("a") as out:
            out.write(extra_config)
    argv = [
        *pinning.prefix(pinning.gateway_cpu),
        *shlex.split(gateway_cmd),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(config),
    ]
    env = {k: v for k, v in os.environ.items() if k not in GATEWAY_ENV_DROP}
    child = children.start("gateway", argv, workdir, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(child, lambda: get_status(url + "/healthz") == 200, "gateway", child.stderr, 30.0)
    return child, url


def wait_ready(
    child: Child, probe: Callable[[], bool], name: str, log: Path, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.proc.poll()
        if code is not None:
            raise StepFailed(f"{name} exited with status {code} at start:\n{tail(log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if probe():
                return
        time.sleep(0.05)
    raise StepFailed(f"{name} was not ready after {timeout:.0f} s:\n{tail(log)}")


# ---------------------------------------------------------------------------------------------
# Single requests (readiness, the sample response, sequential overhead samples)


def _split(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)
    return host, int(port)


def get_status(url: str) -> int:
    host, port = _split(url)
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/" + url.removeprefix("http://").split("/", 1)[1])
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def post_once(base_url: str) -> tuple[int, dict[str, str], bytes]:
    host, port = _split(base_url)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("POST", MESSAGES_PATH, body=REQUEST_BODY, headers=REQUEST_HEADERS)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def check_sample_response(gateway_url: str, gateway: Child) -> dict[str, Any]:
    """One request through the gateway: it must answer 200 with the upstream's body."""
    status, headers, body = post_once(gateway_url)
    seen = {
        "status": status,
        "body_matches_upstream": body == UPSTREAM_BODY.encode(),
        "headers": headers,
    }
    if status != 200:
        raise StepFailed(
            f"the gateway answered {status} to a plain request\n"
            f"headers: {json.dumps(headers, indent=1)}\nbody: {body[:2000]!r}\n"
            f"gateway stderr:\n{tail(gateway.stderr)}"
        )
    return seen


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def describe(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": float(len(values)),
        "min": min(values),
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def sequential_samples(base_url: str, count: int, warmup: int = 20) -> dict[str, Any]:
    """``count`` requests one after another on one keep-alive connection.

    Returns the client-side round trip in ms and, through the gateway, the gateway's own
    ``x-scalegate-overhead-ms``.
    """
    host, port = _split(base_url)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    rtts: list[float] = []
    overheads: list[float] = []
    statuses: dict[str, int] = {}
    try:
        for i in range(warmup + count):
            start = time.perf_counter()
            conn.request("POST", MESSAGES_PATH, body=REQUEST_BODY, headers=REQUEST_HEADERS)
            resp = conn.getresponse()
            resp.read()
            elapsed = (time.perf_counter() - start) * 1000
            if i < warmup:
                continue
            statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
            rtts.append(elapsed)
            value = resp.getheader("x-scalegate-overhead-ms")
            if value is not None:
                with contextlib.suppress(ValueError):
                    overheads.append(float(value))
    finally:
        conn.close()
    result: dict[str, Any] = {"statuses": statuses, "rtt_ms": describe(rtts)}
    if overheads:
        result["overhead_header_ms"] = describe(overheads)
    return result


# ---------------------------------------------------------------------------------------------
# wrk


WRK_SCRIPT = """-- Written by benchmarks/gateway_overhead.py
wrk.method = "POST"
wrk.body = {body}
{headers}

local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {{}}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {{}}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    if counted then
      for code, n in pairs(counted) do codes[code] = (codes[code] or 0) + n end
    end
  end
  local parts = {{}}
  for code, n in pairs(codes) do
    parts[#parts + 1] = string.format('"%d":%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}},' ..
    '"latency_us":{{"min":%d,"mean":%.2f,"stdev":%.2f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99.9":%d}},"statuses":{{%s}}}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ",")))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def write_wrk_script(workdir: Path) -> Path:
    headers = "\n".join(
        f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in REQUEST_HEADERS.items()
    )
    path = workdir / "messages.lua"
    path.write_text(WRK_SCRIPT.format(body=lua_string(REQUEST_BODY), headers=headers))
    return path


@dataclass
class WrkRun:
    label: str
    target: str
    url: str
    connections: int
    duration_s: int
    requests: int = 0
    requests_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    cpu_pct: dict[str, float] = field(default_factory=dict)  # % of one core, per process kind
    core_busy_pct: dict[str, float] = field(default_factory=dict)

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.get(k, 0) for k in ("connect", "read", "write", "timeout"))


def run_wrk(
    children: Children,
    workdir: Path,
    pinning: Pinning,
    script: Path,
    url: str,
    connections: int,
    duration: int,
    name: str,
) -> dict[str, Any]:
    """One wrk run; returns what its ``done()`` printed as JSON."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise StepFailed("wrk is not installed: run `bash scripts/bench-deps.sh`")
    argv = [
        *pinning.prefix(pinning.load_cpu),
        wrk,
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url + MESSAGES_PATH,
    ]
    child = children.start(f"wrk-{name}", argv, workdir)
    try:
        code = child.proc.wait(duration + 60)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"wrk ({name}) did not finish in {duration + 60:.0f} s") from None
    finally:
        children.stop(child)
    output = child.stdout.read_text(errors="replace")
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            return parsed
    raise StepFailed(
        f"wrk ({name}) exited with {code} and printed no result:\n"
        f"{output[-2000:]}\n{tail(child.stderr)}"
    )


def measure(
    children: Children,
    workdir: Path,
    pinning: Pinning,
    script: Path,
    run: WrkRun,
    warmup: int,
    groups: dict[str, int],
) -> WrkRun:
    """A warm-up, then the measured run, with the CPU use of each process and each core."""
    if warmup > 0:
        run_wrk(children, workdir, pinning, script, run.url, run.connections, warmup, "warmup")
    before = CpuSnapshot.take(groups)
    raw = run_wrk(
        children, workdir, pinning, script, run.url, run.connections, run.duration_s, run.label
    )
    after = CpuSnapshot.take(groups)

    run.requests = int(raw["requests"])
    seconds = raw["duration_us"] / 1e6
    run.requests_per_s = run.requests / seconds if seconds > 0 else 0.0
    run.latency_ms = {k: v / 1000 for k, v in raw["latency_us"].items()}
    run.errors = {k: int(v) for k, v in raw["errors"].items()}
    run.statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
    run.cpu_pct, run.core_busy_pct = cpu_usage(before, after, reaped_as="wrk")
    return run


# ---------------------------------------------------------------------------------------------
# Report


@dataclass
class Report:
    started_at: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    runs: dict[str, WrkRun] = field(default_factory=dict)
    gateway: dict[str, Any] = field(default_factory=dict)
    sample_response: dict[str, Any] = field(default_factory=dict)
    sequential: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def verdicts(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        gw50 = self.runs.get("gateway_c50")
        if gw50 is not None:
            out["throughput_c50"] = _verdict(
                gw50.requests_per_s, TARGET_RPS, higher=True, errors=_errors(gw50)
            )
        d1, g1 = self.runs.get("direct_c1"), self.runs.get("gateway_c1")
        if d1 is not None and g1 is not None:
            added = g1.latency_ms["p50"] - d1.latency_ms["p50"]
            out["added_median_ms_c1"] = _verdict(
                added, TARGET_ADDED_MEDIAN_MS, higher=False, errors=_errors(d1) + _errors(g1)
            )
        peak = self.gateway.get("peak_rss_mb")
        if peak is not None:
            out["peak_rss_mb"] = _verdict(peak, TARGET_PEAK_RSS_MB, higher=False)
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name, run in self.runs.items():
            data["runs"][name]["non_2xx"] = run.non_2xx
            data["runs"][name]["socket_errors"] = run.socket_errors
        data["targets"] = self.verdicts()
        data["limited_by"] = limiting_factor(self)
        data["noise"] = noise_warnings(self)
        return data


def _errors(run: WrkRun) -> int:
    return run.non_2xx + run.socket_errors


def _verdict(value: float, target: float, *, higher: bool, errors: int = 0) -> dict[str, Any]:
    """A number against its target; a run with errors meets nothing (errors are fast)."""
    met = (value >= target if higher else value <= target) and not errors
    return {"value": round(value, 4), "target": target, "met": met, "errors": errors}


def limiting_factor(report: Report) -> str:
    run = report.runs.get("gateway_c50")
    if run is None:
        return "unknown (the gateway run at 50 connections did not complete)"
    if run.non_2xx or run.socket_errors:
        return "errors under load: see the error counts (throughput is not meaningful)"
    gw_cpu = run.cpu_pct.get("gateway", 0.0)
    gw_core = run.core_busy_pct.get(f"cpu{report.settings.get('gateway_cpu')}", 0.0)
    load_core = run.core_busy_pct.get(f"cpu{report.settings.get('load_cpu')}", 0.0)
    if gw_cpu >= 90:
        return (
            f"the gateway's CPU: its one process used {gw_cpu:.0f} % of its core at "
            f"{run.connections} connections (one event loop: more throughput needs less Python "
            "per request, or more processes)"
        )
    if gw_core >= 90:
        return (
            f"the gateway's core was {gw_core:.0f} % busy but the gateway had only "
            f"{gw_cpu:.0f} % of it: other processes took the rest (noise)"
        )
    if load_core >= 90:
        return f"the load side's core was {load_core:.0f} % busy (nginx + wrk + anything else)"
    return "neither core was saturated: latency-bound (connections ÷ latency)"


NOISE_PCT = 10.0  # other processes' CPU (% of one core) above which a run is flagged


def noise_warnings(report: Report) -> list[str]:
    out = []
    background = report.machine.get("background_load_pct", {})
    if any(v > NOISE_PCT for v in background.values()):
        shown = ", ".join(f"{k} {v:.0f} %" for k, v in background.items())
        out.append(f"the machine was already busy before the benchmark started ({shown})")
    for name, run in report.runs.items():
        other = run.cpu_pct.get("other processes", 0.0)
        if other > NOISE_PCT:
            out.append(f"other processes used {other:.0f} % of a core during {name}")
    return out


def _fmt(value: float | None, spec: str = ",.1f") -> str:
    return "-" if value is None else format(value, spec)


def render(report: Report) -> str:
    """The printed report: the comparison table, then CPU, memory, targets and failures."""
    settings = report.settings
    lines = [
        "scalegate gateway overhead: non-streaming POST /v1/messages, "
        "one gateway process in front of nginx",
        f"  {settings.get('pinning', 'not started')}; {settings['duration_s']:g} s per run "
        f"after a {settings['warmup_s']:g} s warm-up; wrk -t 1",
        "",
    ]
    lines += render_table(report)
    lines += render_cpu(report)
    lines += render_gateway(report)
    lines += render_targets(report)
    for failure in report.failures:
        lines += ["", "  FAILED: " + failure.replace("\n", "\n    ")]
    return "\n".join(lines)


def _lat(run: WrkRun | None, key: str) -> float | None:
    return None if run is None else run.latency_ms.get(key)


def render_table(report: Report) -> list[str]:
    r = report.runs
    d50, g50, d1, g1 = (r.get(k) for k in ("direct_c50", "gateway_c50", "direct_c1", "gateway_c1"))
    conns = report.settings["connections"]
    lines = [f"  {'':34}{'direct (nginx)':>16}{'via gateway':>16}    gateway vs direct"]

    def row(label: str, a: str, b: str, c: str = "") -> None:
        lines.append(f"  {label:34}{a:>16}{b:>16}    {c}".rstrip())

    rps_d = d50.requests_per_s if d50 else None
    rps_g = g50.requests_per_s if g50 else None
    ratio = f"{100 * rps_g / rps_d:.1f} % of direct" if rps_d and rps_g is not None else ""
    row(f"requests/s at c={conns}", _fmt(rps_d), _fmt(rps_g), ratio)
    row(
        f"latency p50 / p99 at c={conns} (ms)",
        f"{_fmt(_lat(d50, 'p50'), '.2f')} / {_fmt(_lat(d50, 'p99'), '.2f')}",
        f"{_fmt(_lat(g50, 'p50'), '.2f')} / {_fmt(_lat(g50, 'p99'), '.2f')}",
    )
    row(
        "requests/s at c=1",
        _fmt(d1.requests_per_s if d1 else None),
        _fmt(g1.requests_per_s if g1 else None),
    )
    for key in ("p50", "p90", "p99"):
        a, b = _lat(d1, key), _lat(g1, key)
        added = f"+{b - a:.3f} ms" if a is not None and b is not None else ""
        row(f"latency {key} at c=1 (ms)", _fmt(a, ".3f"), _fmt(b, ".3f"), added)
    for name, attr in (("non-2xx responses", "non_2xx"), ("socket errors", "socket_errors")):
        cells = []
        for pair in ((d50, d1), (g50, g1)):
            done = [p for p in pair if p is not None]
            cells.append("-" if not done else str(sum(getattr(p, attr) for p in done)))
        row(f"{name} (all runs)", cells[0], cells[1])
    return lines


def render_cpu(report: Report) -> list[str]:
    lines = ["", "  CPU, % of one core per process (and how busy each core was):"]
    for name, run in report.runs.items():
        kinds = ", ".join(f"{k} {v:.0f}" for k, v in run.cpu_pct.items() if v >= 0.5)
        busy = ", ".join(f"{k} {v:.0f} %" for k, v in run.core_busy_pct.items())
        lines.append(f"    {name:12} {kinds}  ({busy})")
    return lines


def render_gateway(report: Report) -> list[str]:
    gw = report.gateway
    lines = [
        "",
        f"  gateway RSS: {_fmt(gw.get('idle_rss_mb'))} MB idle, "
        f"{_fmt(gw.get('sampled_peak_rss_mb'))} MB highest VmRSS sampled under load, "
        f"{_fmt(gw.get('peak_rss_mb'))} MB peak (VmHWM)",
    ]
    seq = report.sequential
    head = seq.get("gateway", {}).get("overhead_header_ms")
    if head:
        lines.append(
            f"  x-scalegate-overhead-ms over {int(head['n'])} sequential requests: "
            f"median {head['median']:.3f} ms, p99 {head['p99']:.3f} ms, max {head['max']:.3f} ms"
        )
    if "direct" in seq and "gateway" in seq:
        dr, gr = seq["direct"]["rtt_ms"], seq["gateway"]["rtt_ms"]
        lines.append(
            f"  Python client round trip (http.client, sequential): direct median "
            f"{dr['median']:.3f} ms, via gateway {gr['median']:.3f} ms "
            f"(+{gr['median'] - dr['median']:.3f} ms)"
        )
    return lines


def render_targets(report: Report) -> list[str]:
    conns = report.settings["connections"]
    labels = {
        "throughput_c50": (f"requests/s at c={conns} ≥ {TARGET_RPS:,.0f}", ",.0f", ""),
        "added_median_ms_c1": (
            f"added median at c=1 ≤ {TARGET_ADDED_MEDIAN_MS:g} ms",
            ".3f",
            " ms",
        ),
        "peak_rss_mb": (f"peak RSS ≤ {TARGET_PEAK_RSS_MB:g} MB", ".1f", " MB"),
    }
    lines = ["", "  targets"]
    verdicts = report.verdicts()
    for key, (label, spec, unit) in labels.items():
        v = verdicts.get(key)
        if v is None:
            lines.append(f"    {label:36}{'not measured':>14}")
        else:
            status = "met" if v["met"] else "MISSED"
            if v["errors"]:
                status = f"not valid: {v['errors']:,} errors"
            lines.append(f"    {label:36}{format(v['value'], spec) + unit:>14}   {status}")
    lines.append(f"  limited by: {limiting_factor(report)}")
    for warning in noise_warnings(report):
        lines.append(f"  NOISE: {warning}: compare with a re-run on a quiet machine")
    return lines


# ---------------------------------------------------------------------------------------------
# Orchestration


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # wrk takes whole seconds only.
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up, 0: none (2)")
    parser.add_argument("--connections", type=int, default=50, help="connections (50)")
    parser.add_argument("--samples", type=int, default=200, help="sequential requests (200)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument(
        "--gateway-cmd",
        default=default_gateway_cmd(),
        help="command that runs the scalegate CLI (`serve ...` is appended)",
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="go on with the other runs when one fails"
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.samples < 1:
        parser.error("--duration, --connections and --samples must be ≥ 1, --warmup ≥ 0")
    return args


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP all end the script through the cleanup in :func:`main`.

    SIGINT too: a shell starts background jobs with SIGINT ignored, and Python then installs
    no KeyboardInterrupt handler of its own.
    """
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_on_signal) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def step(report: Report, keep_going: bool, name: str, action: Callable[[], None]) -> bool:
    """Run one step; a failure is recorded, and re-raised unless ``--keep-going``."""
    try:
        action()
    except StepFailed as exc:
        report.failures.append(f"{name}: {exc}")
        if not keep_going:
            raise Aborted(name) from exc
        return False
    return True


def run_benchmark(
    args: argparse.Namespace, report: Report, children: Children, workdir: Path
) -> None:
    pinning = choose_pinning()
    report.settings["pinning"] = pinning.note
    report.settings["gateway_cpu"] = pinning.gateway_cpu
    report.settings["load_cpu"] = pinning.load_cpu
    if pinning.load_cpu is not None:
        # This script (its RSS sampler, its sequential requests) stays off the gateway's core.
        os.sched_setaffinity(0, {pinning.load_cpu})

    report.machine["background_load_pct"] = background_load()
    nginx, upstream = start_nginx(children, workdir, pinning, free_port())
    gateway, gateway_url = start_gateway(
        children, workdir, pinning, args.gateway_cmd, upstream, free_port()
    )
    pid = gateway.proc.pid
    groups = {"gateway": pid, "nginx": nginx.proc.pid}
    report.gateway["pid"] = pid
    report.gateway["command"] = gateway.proc.args
    time.sleep(0.5)
    report.gateway["idle_rss_mb"] = (read_status_kb(pid, "VmRSS") or 0) / 1024

    def sample() -> None:
        report.sample_response = check_sample_response(gateway_url, gateway)

    step(report, args.keep_going, "sample request", sample)
    script = write_wrk_script(workdir)

    plan = [
        ("direct_c50", "nginx", upstream, args.connections),
        ("gateway_c50", "gateway", gateway_url, args.connections),
        ("direct_c1", "nginx", upstream, 1),
        ("gateway_c1", "gateway", gateway_url, 1),
    ]
    with RssSampler(pid) as sampler:
        for label, target, url, conns in plan:
            run = WrkRun(label, target, url, conns, args.duration)

            def action(run: WrkRun = run) -> None:
                report.runs[run.label] = measure(
                    children, workdir, pinning, script, run, args.warmup, groups
                )
                if gateway.proc.poll() is not None:
                    raise StepFailed(
                        f"the gateway exited with {gateway.proc.returncode} during {run.label}:\n"
                        f"{tail(gateway.stderr)}"
                    )

            print(
                f"  running {label}: {conns} connection(s), {args.duration:g} s ...",
                file=sys.stderr,
            )
            if step(report, args.keep_going, label, action) and target == "gateway":
                diagnose_errors(report, report.runs[label], gateway_url, gateway)
        report.gateway["sampled_peak_rss_mb"] = sampler.peak_kb / 1024

    def sequential() -> None:
        report.sequential["direct"] = sequential_samples(upstream, args.samples)
        report.sequential["gateway"] = sequential_samples(gateway_url, args.samples)

    step(report, args.keep_going, "sequential samples", sequential)
    hwm = read_status_kb(pid, "VmHWM")
    report.gateway["peak_rss_mb"] = None if hwm is None else hwm / 1024
    report.gateway["final_rss_mb"] = (read_status_kb(pid, "VmRSS") or 0) / 1024


def diagnose_errors(report: Report, run: WrkRun, gateway_url: str, gateway: Child) -> None:
    """After a run with errors: what one request answers now, and the gateway's log."""
    if not run.non_2xx and not run.socket_errors:
        return
    try:
        status, headers, body = post_once(gateway_url)
        seen = f"a request after the run answered {status}, body {body[:1000]!r}, headers {headers}"
    except (OSError, http.client.HTTPException) as exc:
        seen = f"a request after the run failed: {exc!r}"
    report.failures.append(
        f"{run.label}: statuses {run.statuses}, socket errors {run.errors}; {seen}\n"
        f"gateway stderr (tail):\n{tail(gateway.stderr)}"
    )


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": tool_version(["nginx", "-v"]) if shutil.which("nginx") else "missing",
        "wrk": tool_version(["wrk", "--version"]).split(" Copyright")[0]
        if shutil.which("wrk")
        else "missing",
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        machine=machine_info(),
        settings={
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "samples": args.samples,
            "gateway_cmd": args.gateway_cmd,
        },
    )
    code = 0
    with contextlib.ExitStack() as stack, signals_raise():
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sg-bench-")))
        children = Children()
        stack.callback(children.close)
        try:
            run_benchmark(args, report, children, workdir)
        except StepFailed as exc:
            report.failures.append(str(exc))
            code = 1
        except Aborted:
            code = 1
        except KeyboardInterrupt as exc:
            report.failures.append(f"interrupted ({exc or 'SIGINT'})")
            code = 130
        if report.failures and code == 0:
            code = 1
    print(render(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    print(f"\n  results written to {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())
