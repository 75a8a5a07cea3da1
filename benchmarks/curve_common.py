"""What the scale-curve scripts (``curve_*.py``) share: results files, tables, SSE processes.

Process handling (``Children``, pinning, ``/proc`` readings, nginx, the gateway) is
``gateway_overhead.py``'s, imported; this adds only what the curves need on top of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway_overhead as core

RESULTS = core.REPO / "benchmarks" / "results"
BENCH = core.REPO / "benchmarks"


def commit() -> str:
    """The short commit being measured: ``report.py`` fixes it for every script it runs
    (``SCALEGATE_BENCH_COMMIT``), since others may commit while a long run goes on."""
    fixed = os.environ.get("SCALEGATE_BENCH_COMMIT")
    if fixed:
        return fixed
    try:
        done = subprocess.run(
            ["git", "-C", str(core.REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "background_load_pct": core.background_load(0.5),
    }


def write_result(name: str, settings: dict[str, Any], data: dict[str, Any]) -> Path:
    """``benchmarks/results/<name>.json`` with the commit, date and machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "name": name,
        "commit": commit(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "settings": settings,
        **data,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\n  results written to {path}")
    return path


def pin_note(pinning: core.Pinning, load: str, target: str) -> str:
    if pinning.load_cpu is None:
        return pinning.note
    return f"{load} on CPU {pinning.load_cpu}, {target} on CPU {pinning.gateway_cpu}"


def raise_nofile(wanted: int = 65536) -> int:
    """Raise this process's open-file limit (inherited by its children); the new soft limit.

    10,000 streams through a gateway hold 20,000 sockets in it. Raising the hard limit
    needs root (or CAP_SYS_RESOURCE); otherwise the soft limit goes up to the hard one.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, right-aligned numbers, first column left-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(parts))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "n": 0}
    return {
        "p50": core.percentile(values, 50),
        "p99": core.percentile(values, 99),
        "n": len(values),
    }


# ---------------------------------------------------------------------------------------------
# The SSE upstream and client (separate processes)


def start_sse_upstream(
    children: core.Children,
    workdir: Path,
    cpu: int | None,
    *,
    events: int,
    interval: float,
    batch: int = 1,
    name: str = "sse-upstream",
) -> tuple[core.Child, str]:
    port = core.free_port()
    argv = [
        *core.Pinning(None, None, "").prefix(cpu),
        sys.executable,
        str(BENCH / "sse_upstream.py"),
        "--port",
        str(port),
        "--events",
        str(events),
        "--interval",
        str(interval),
        "--batch",
        str(batch),
    ]
    child = children.start(name, argv, workdir)
    url = f"http://127.0.0.1:{port}"
    core.wait_ready(child, lambda: core.get_status(url + "/healthz") == 200, name, child.stderr)
    return child, url


def run_sse_client(
    children: core.Children,
    workdir: Path,
    cpu: int | None,
    url: str,
    mode: str,
    streams: int,
    *,
    ramp: float = 2.0,
    duration: float = 10.0,
    timeout: float = 600.0,
    name: str = "sse-client",
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    argv = [
        *core.Pinning(None, None, "").prefix(cpu),
        sys.executable,
        str(BENCH / "sse_client.py"),
        url,
        "--mode",
        mode,
        "--streams",
        str(streams),
        "--ramp",
        str(ramp),
        "--duration",
        str(duration),
        *extra,
    ]
    child = children.start(name, argv, workdir)
    try:
        child.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise core.StepFailed(f"{name} did not finish in {timeout:.0f} s") from None
    finally:
        children.stop(child)
    for line in child.stdout.read_text(errors="replace").splitlines():
        if line.startswith("SSE_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("SSE_RESULT "))
            return result
    raise core.StepFailed(f"{name} printed no result:\n{core.tail(child.stderr)}")


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def start_gateway_with(
    children: core.Children,
    workdir: Path,
    pinning: core.Pinning,
    upstream_url: str,
    *,
    max_connections: int | None = None,
    extra_config: str = "",
) -> tuple[core.Child, str]:
    """``gateway_overhead.start_gateway`` with ``upstream.max_connections`` set (``None``:
    the default) — its config file is ``write_gateway_config``'s with one line added."""
    original = core.write_gateway_config

    def with_pool(workdir: Path, url: str) -> Path:
        path = original(workdir, url)
        if max_connections is not None:
            line = f"  base_url: {url}\n"
            text = path.read_text().replace(
                line, f"{line}  max_connections: {max_connections}\n", 1
            )
            path.write_text(text)
        return path

    core.write_gateway_config = with_pool
    try:
        return core.start_gateway(
            children,
            workdir,
            pinning,
            core.default_gateway_cmd(),
            upstream_url,
            core.free_port(),
            extra_config,
        )
    finally:
        core.write_gateway_config = original


# ---------------------------------------------------------------------------------------------
# In-process curves: a redis-server, timings, memory


def start_redis(children: core.Children, workdir: Path, cpu: int | None) -> int:
    """A local redis-server (``shared_mode.start_redis``) on ``cpu``; its port."""
    import shared_mode

    _, port = shared_mode.start_redis(children, workdir, core.Pinning(cpu, None, ""))
    return port


def redis_info(port: int, section: str) -> dict[str, str]:
    import shared_mode

    out = {}
    for line in shared_mode.redis_command(port, "INFO", section).splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip()] = value.strip()
    return out


def redis_used_memory(port: int) -> int:
    return int(redis_info(port, "memory").get("used_memory", "0"))


def redis_script_stats(port: int) -> dict[str, float]:
    """EVALSHA + EVAL calls and Redis's own µs per call since the last CONFIG RESETSTAT."""
    calls, usec = 0, 0.0
    for name, value in redis_info(port, "commandstats").items():
        if name in ("cmdstat_evalsha", "cmdstat_eval"):
            fields = dict(part.split("=", 1) for part in value.split(","))
            calls += int(fields["calls"])
            usec += float(fields["usec"])
    return {"calls": calls, "usec_per_call": usec / calls if calls else 0.0}


def micro(values_ns: Sequence[int]) -> dict[str, float | None]:
    """p50/p99 in µs of a list of nanosecond timings."""
    q = quantiles([v / 1000 for v in values_ns])
    return {"p50_us": q["p50"], "p99_us": q["p99"], "n": q["n"]}


class CpuPeakSampler:
    """A process group's CPU, second by second, in a thread: the busiest second's % of one
    core (an average over a run hides a saturated ramp) and the per-second series."""

    def __init__(self, pgid: int, interval: float = 1.0) -> None:
        import threading

        self.pgid, self.interval = pgid, interval
        self.series: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def _run(self) -> None:
        last, at = core.group_cpu_seconds(self.pgid), time.monotonic()
        while not self._stop.wait(self.interval):
            now, t = core.group_cpu_seconds(self.pgid), time.monotonic()
            self.series.append(round(100 * (now - last) / max(1e-6, t - at), 1))
            last, at = now, t

    @property
    def peak_pct(self) -> float:
        return max(self.series, default=0.0)

    def __enter__(self) -> CpuPeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
