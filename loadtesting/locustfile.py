"""Locust scenarios for scalegate: the traffic a chat product sends through the gateway.

Run it through ``loadtesting/run-loadtest.sh [profile]`` (which starts a simulator and a
gateway and checks the results against the simulator's own counters), or directly against a
gateway you run yourself::

    locust -f loadtesting/locustfile.py --host http://127.0.0.1:8080 \
        --headless -u 50 -r 10 -t 2m --csv results/locust --html results/locust.html

User classes (weights from ``LT_WEIGHT_<CLASS>``; a weight of 0 removes the class):

* ``ChatUser`` — a person chatting: multi-turn conversations, streaming or not
  (``LT_STREAM_RATIO``), think time between messages (``LT_THINK_MIN``/``LT_THINK_MAX``).
* ``PremiumUser`` — the same with ``x-scalegate-priority: high``.
* ``BackgroundUser`` — low-priority enrichment calls (``x-scalegate-priority: low``) with
  little think time: the first traffic shed when keys saturate.
* ``RepeatAsker`` — asks one of ``LT_REPEAT_PROMPTS`` FAQ questions with
  ``x-scalegate-cache: exact``; every repeat should be a cache hit.
* ``BatchSubmitter`` — ``POST /v1/jobs`` (priority ``LT_JOB_PRIORITY``) and polls
  ``GET /v1/jobs/{id}`` until the job ends (at most ``LT_JOB_WAIT_SECONDS``). When the
  gateway answers the probe with 404/405 (no jobs endpoint) the class idles and the report
  says why.

``LT_SHAPE=stress`` adds ``StressShape``: users grow by ``LT_STRESS_STEP_USERS`` every
``LT_STRESS_STEP_SECONDS`` from ``LT_STRESS_START_USERS`` to ``LT_STRESS_MAX_USERS``. The
first step in which more than ``LT_STRESS_SATURATION`` of the requests were shed or failed
is the saturation point; with ``LT_STRESS_STOP_AT_SATURATION=1`` the test ends one step
after it.

Other settings: ``LT_MODEL``, ``LT_MAX_TOKENS``, ``LT_CLIENT_KEY`` (sent as ``x-api-key``),
``LT_CHAT_TURNS``, ``LT_TIMEOUT`` (client timeout, seconds), ``LT_TALLY_FILE``.

Besides Locust's own statistics, every response is tallied from the gateway's headers
(``x-scalegate-attempts``, ``x-scalegate-cache``, ``x-scalegate-priority``) and written as
JSON to ``LT_TALLY_FILE`` when the test stops; ``loadtesting/summary.py`` reads it. The sum
of ``x-scalegate-attempts`` is the number of requests the gateway sent upstream — the number
the simulator must have counted.
"""

# ruff: noqa: S311 - pseudo-random choices shape the load; nothing here is cryptographic.

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any

import gevent
from locust import HttpUser, LoadTestShape, between, events, task
from locust.env import Environment

# -- settings -------------------------------------------------------------------------------


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


MODEL = _env("LT_MODEL", "claude-sonnet-4-6")
MAX_TOKENS = _int("LT_MAX_TOKENS", 256)
CLIENT_KEY = _env("LT_CLIENT_KEY", "sk-loadtest-client")
API_VERSION = _env("LT_API_VERSION", "2023-06-01")
THINK_MIN = _float("LT_THINK_MIN", 2.0)
THINK_MAX = _float("LT_THINK_MAX", 8.0)
STREAM_RATIO = _float("LT_STREAM_RATIO", 0.5)
CHAT_TURNS = _int("LT_CHAT_TURNS", 4)
REPEAT_PROMPTS = _int("LT_REPEAT_PROMPTS", 8)
JOB_PRIORITY = _env("LT_JOB_PRIORITY", "low")
JOB_POLL_SECONDS = _float("LT_JOB_POLL_SECONDS", 1.0)
JOB_WAIT_SECONDS = _float("LT_JOB_WAIT_SECONDS", 30.0)
TIMEOUT = _float("LT_TIMEOUT", 120.0)
TALLY_FILE = os.environ.get("LT_TALLY_FILE")

TERMINAL_JOB_STATES = {"COMPLETED", "FAILED", "DEAD", "CANCELED"}
PRIORITIES = ("critical", "high", "normal", "low")

TOPICS = (
    "how to size a connection pool",
    "the difference between a process and a thread",
    "a gentle introduction to rate limiting",
    "why caches need invalidation",
    "what a token bucket is",
    "tips for writing clear commit messages",
    "how retries with jitter avoid thundering herds",
    "the trade-offs of streaming responses",
    "how to read a latency histogram",
    "when to use a priority queue",
)
FAQ = tuple(f"FAQ: explain {topic} in three sentences." for topic in TOPICS)


# -- the tally: what the gateway's headers say about every response ---------------------------


def _bucket(ms: float) -> int:
    """Locust's own rounding: exact below 100 ms, 2 significant digits above."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return round(ms, -1)
    if ms < 10000:
        return round(ms, -2)
    return round(ms, -3)


def percentile(histogram: dict[int, int], q: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


class Tally:
    """Counts of every /v1/messages and jobs request, keyed the way the summary reports them."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.stopped: float | None = None
        self.messages = 0
        self.ok = 0
        self.upstream_ok = 0  # 2xx not answered from the gateway's cache: one upstream 200 each
        self.attempts = 0  # sum of x-scalegate-attempts: requests the gateway sent upstream
        self.errors = 0
        self.stream_errors = 0
        self.asked_cache = 0
        self.status: Counter[str] = Counter()
        self.cache: Counter[str] = Counter()
        self.shed: Counter[str] = Counter()
        self.by_priority: dict[str, Counter[str]] = {p: Counter() for p in PRIORITIES}
        self.by_class: Counter[str] = Counter()
        self.latency: Counter[int] = Counter()
        self.ttft: Counter[int] = Counter()
        self.jobs: Counter[str] = Counter()
        self.jobs_enabled: bool | None = None
        self.jobs_reason = ""
        self.step = 0
        self.steps: dict[int, Counter[str]] = {}

    def record_message(
        self,
        user_class: str,
        asked_priority: str,
        status: int,
        headers: Any,
        elapsed_ms: float,
        *,
        asked_cache: bool = False,
        stream_error: bool = False,
        ttft_ms: float | None = None,
    ) -> str:
        """Count one /v1/messages response; return its kind: ok, shed or error."""
        get = headers.get if headers is not None else (lambda _name, default=None: default)
        priority = (get("x-scalegate-priority") or asked_priority).lower()
        attempts = int(get("x-scalegate-attempts") or 0)
        cache = (get("x-scalegate-cache") or "none").lower()
        self.messages += 1
        self.attempts += attempts
        self.status[str(status)] += 1
        self.by_class[user_class] += 1
        self.asked_cache += asked_cache
        if 200 <= status < 300:
            kind = "error" if stream_error else "ok"
            self.ok += 1
            self.stream_errors += stream_error
            self.errors += stream_error
            self.cache[cache] += 1
            if cache not in ("hit", "semantic-hit", "coalesced"):  # answered by the gateway
                self.upstream_ok += 1
            self.latency[_bucket(elapsed_ms)] += 1
            if ttft_ms is not None:
                self.ttft[_bucket(ttft_ms)] += 1
        elif status == 429 and attempts == 0:
            kind = "shed"  # refused at admission: no key had room within the deadline
            self.shed[priority] += 1
        else:
            kind = "error"
            self.errors += 1
        bucket = self.by_priority.setdefault(priority, Counter())
        bucket["sent"] += 1
        bucket[kind] += 1
        self.steps.setdefault(self.step, Counter())[kind] += 1
        return kind

    def as_dict(self) -> dict[str, Any]:
        duration = (self.stopped or time.time()) - (self.started or time.time())
        return {
            "tool": "locust",
            "duration_s": round(duration, 3),
            "messages": {
                "total": self.messages,
                "ok": self.ok,
                "upstream_ok": self.upstream_ok,
                "attempts": self.attempts,
                "errors": self.errors,
                "stream_errors": self.stream_errors,
                "asked_cache": self.asked_cache,
                "status": dict(self.status),
                "cache": dict(self.cache),
                "shed": dict(self.shed),
                "by_priority": {p: dict(c) for p, c in self.by_priority.items()},
                "by_class": dict(self.by_class),
                "latency_ms": _quantiles(self.latency),
                "ttft_ms": _quantiles(self.ttft),
            },
            "jobs": {
                "enabled": self.jobs_enabled,
                "reason": self.jobs_reason,
                **dict(self.jobs),
            },
            "stress": _stress_report(self.steps) if SHAPE == "stress" else None,
        }

    def merge(self, other: dict[str, Any]) -> None:
        """Add a worker's raw counters (distributed runs) into this tally."""
        for name in ("messages", "ok", "upstream_ok", "attempts", "errors", "stream_errors"):
            setattr(self, name, getattr(self, name) + other[name])
        self.asked_cache += other["asked_cache"]
        for name in ("status", "cache", "shed", "by_class", "jobs"):
            getattr(self, name).update(other[name])
        for name in ("latency", "ttft"):
            getattr(self, name).update({int(k): v for k, v in other[name].items()})
        for priority, counts in other["by_priority"].items():
            self.by_priority.setdefault(priority, Counter()).update(counts)
        for step, counts in other["steps"].items():
            self.steps.setdefault(int(step), Counter()).update(counts)
        if other["jobs_enabled"] is not None:
            self.jobs_enabled = other["jobs_enabled"]
            self.jobs_reason = other["jobs_reason"]

    def raw(self) -> dict[str, Any]:
        out = {
            name: getattr(self, name)
            for name in ("messages", "ok", "upstream_ok", "attempts", "errors", "stream_errors")
        }
        out["asked_cache"] = self.asked_cache
        for name in ("status", "cache", "shed", "by_class", "jobs", "latency", "ttft"):
            out[name] = dict(getattr(self, name))
        out["by_priority"] = {p: dict(c) for p, c in self.by_priority.items()}
        out["steps"] = {s: dict(c) for s, c in self.steps.items()}
        out["jobs_enabled"] = self.jobs_enabled
        out["jobs_reason"] = self.jobs_reason
        return out

    def reset_counts(self) -> None:
        started, step = self.started, self.step
        enabled, reason = self.jobs_enabled, self.jobs_reason
        self.__init__()  # type: ignore[misc]
        self.started, self.step = started, step
        self.jobs_enabled, self.jobs_reason = enabled, reason


def _quantiles(histogram: Counter[int]) -> dict[str, float | int | None]:
    hist = dict(histogram)
    return {
        "count": sum(hist.values()),
        "p50": percentile(hist, 0.50),
        "p95": percentile(hist, 0.95),
        "p99": percentile(hist, 0.99),
        "max": float(max(hist)) if hist else None,
    }


TALLY = Tally()


# -- stress shape -----------------------------------------------------------------------------

SHAPE = _env("LT_SHAPE", "")
STRESS_START = _int("LT_STRESS_START_USERS", 5)
STRESS_STEP = _int("LT_STRESS_STEP_USERS", 10)
STRESS_STEP_SECONDS = _float("LT_STRESS_STEP_SECONDS", 30.0)
STRESS_MAX = _int("LT_STRESS_MAX_USERS", 200)
STRESS_SPAWN_RATE = _float("LT_STRESS_SPAWN_RATE", 10.0)
STRESS_SATURATION = _float("LT_STRESS_SATURATION", 0.05)
STRESS_STOP_AT_SATURATION = _env("LT_STRESS_STOP_AT_SATURATION", "0") == "1"


def _step_users(step: int) -> int:
    return STRESS_START + step * STRESS_STEP


def _saturated(counts: Counter[str]) -> bool:
    total = sum(counts.values())
    return total >= 10 and (counts["shed"] + counts["error"]) / total > STRESS_SATURATION


def _stress_report(steps: dict[int, Counter[str]]) -> dict[str, Any]:
    rows = []
    saturation = None
    for step in sorted(steps):
        counts = steps[step]
        rows.append(
            {
                "users": _step_users(step),
                "ok": counts["ok"],
                "shed": counts["shed"],
                "errors": counts["error"],
                "ok_per_s": round(counts["ok"] / STRESS_STEP_SECONDS, 2),
            }
        )
        if saturation is None and _saturated(counts):
            saturation = rows[-1]
    return {"step_seconds": STRESS_STEP_SECONDS, "steps": rows, "saturation": saturation}


if SHAPE == "stress":

    class StressShape(LoadTestShape):
        """Step the user count up until the gateway sheds: the saturation point."""

        def tick(self) -> tuple[int, float] | None:
            step = int(self.get_run_time() // STRESS_STEP_SECONDS)
            users = _step_users(step)
            if users > STRESS_MAX:
                return None
            if STRESS_STOP_AT_SATURATION and step >= 2:
                # Stop one full step after the first saturated step.
                done = [s for s in range(step - 1) if _saturated(TALLY.steps.get(s, Counter()))]
                if done:
                    return None
            TALLY.step = step
            return users, STRESS_SPAWN_RATE

elif SHAPE:
    raise SystemExit(f"LT_SHAPE={SHAPE!r}: the only shape is 'stress' (or unset)")


# -- requests ---------------------------------------------------------------------------------


def _headers(priority: str | None = None, cache: str | None = None) -> dict[str, str]:
    headers = {
        "x-api-key": CLIENT_KEY,
        "anthropic-version": API_VERSION,
        "content-type": "application/json",
    }
    if priority:
        headers["x-scalegate-priority"] = priority
    if cache:
        headers["x-scalegate-cache"] = cache
    return headers


def _stream_text(raw: bytes) -> tuple[str, bool]:
    """The text of an SSE answer and whether it ended with message_stop (no error event)."""
    text = []
    stopped = False
    errored = False
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("event: "):
            name = line[7:].strip()
            stopped |= name == "message_stop"
            errored |= name == "error"
        elif line.startswith("data: ") and '"text_delta"' in line:
            with contextlib.suppress(ValueError, KeyError):
                text.append(json.loads(line[6:])["delta"]["text"])
    return "".join(text), stopped and not errored


def _error_type(raw: bytes, stream_error: bool) -> str:
    if stream_error:
        return "incomplete answer (stream error event or unreadable body)"
    try:
        return str(json.loads(raw)["error"]["type"])
    except (ValueError, KeyError, TypeError):
        return "error"


class _GatewayUser(HttpUser):
    """Shared request code; not run by itself."""

    abstract = True
    priority: str | None = None  # None: the gateway's default (normal)

    def on_start(self) -> None:
        self.conversation: list[dict[str, Any]] = []

    def _payload(self, content: str, stream: bool) -> dict[str, Any]:
        self.conversation.append({"role": "user", "content": content})
        return {
            "model": MODEL,
            "max_tokens": MAX_TOKENS,
            "stream": stream,
            "messages": self.conversation,
        }

    def message(
        self, name: str, content: str, *, stream: bool = False, cache: str | None = None
    ) -> None:
        """One Messages request (a turn of the conversation), tallied from its headers."""
        if len(self.conversation) >= 2 * CHAT_TURNS:
            self.conversation = []
        body = self._payload(content, stream)
        asked = self.priority or "normal"
        label = f"messages {name}" + (" stream" if stream else "")
        started = time.perf_counter()
        ttft = None
        with self.client.post(
            "/v1/messages",
            json=body,
            headers=_headers(self.priority, cache),
            name=label,
            stream=stream,
            timeout=TIMEOUT,
            catch_response=True,
        ) as resp:
            raw = b""
            try:
                if stream and resp.status_code == 200:
                    for chunk in resp.iter_content(chunk_size=None):
                        raw += chunk
                        # Time to first token: the first content delta, not message_start
                        # (which the provider sends before it starts generating).
                        if ttft is None and b"content_block_delta" in raw:
                            ttft = (time.perf_counter() - started) * 1000
                else:
                    raw = resp.content or b""
            except Exception as exc:  # the connection broke mid-body
                resp.failure(f"body: {exc!r}")
                TALLY.record_message(self.tally_name, asked, 0, None, 0)
                self.conversation = []
                return
            elapsed = (time.perf_counter() - started) * 1000
            # Locust measures a streamed response to its headers; report the whole answer.
            resp.request_meta["response_time"] = elapsed
            resp.request_meta["response_length"] = len(raw)
            stream_error = False
            reply = ""
            if resp.status_code == 200:
                if stream:
                    reply, complete = _stream_text(raw)
                    stream_error = not complete
                else:
                    try:
                        reply = "".join(
                            b.get("text", "") for b in json.loads(raw).get("content", [])
                        )
                    except ValueError:
                        stream_error = True
            kind = TALLY.record_message(
                self.tally_name,
                asked,
                resp.status_code,
                resp.headers if resp.status_code else None,
                elapsed,
                asked_cache=cache is not None,
                stream_error=stream_error,
                ttft_ms=ttft,
            )
            if kind == "ok":
                resp.success()
                self.conversation.append({"role": "assistant", "content": reply or "…"})
            else:
                # A stable message (no request id) so Locust groups failures by cause.
                why = "shed at admission" if kind == "shed" else _error_type(raw, stream_error)
                resp.failure(f"{resp.status_code} {why}")
                self.conversation = []

    @property
    def tally_name(self) -> str:
        return type(self).__name__


def _question() -> str:
    return f"{random.choice(TOPICS).capitalize()}? (conversation {uuid.uuid4().hex[:8]})"


class _Conversation(_GatewayUser):
    """A person in a chat window: reads the answer, thinks, asks a follow-up."""

    abstract = True
    label = "chat"
    wait_time = between(THINK_MIN, THINK_MAX)

    @task
    def chat(self) -> None:
        self.message(self.label, _question(), stream=random.random() < STREAM_RATIO)


class ChatUser(_Conversation):
    """Everyday chat traffic at the gateway's default priority (normal)."""

    weight = _int("LT_WEIGHT_CHAT", 6)
    label = "chat"


class PremiumUser(_Conversation):
    """A paying customer: the same conversation at HIGH priority (served before NORMAL/LOW)."""

    weight = _int("LT_WEIGHT_PREMIUM", 2)
    label = "premium"
    priority = "high"


class BackgroundUser(_GatewayUser):
    """Low-priority enrichment (summaries, tagging): first to be shed under saturation."""

    weight = _int("LT_WEIGHT_BACKGROUND", 1)
    wait_time = between(THINK_MIN / 4, THINK_MAX / 4)
    priority = "low"

    @task
    def enrich(self) -> None:
        self.conversation = []
        self.message("background", f"Tag this text: {_question()}")


class RepeatAsker(_GatewayUser):
    """Asks the same FAQ questions as everyone else, allowing the exact cache to answer."""

    weight = _int("LT_WEIGHT_REPEAT", 2)
    wait_time = between(THINK_MIN, THINK_MAX)

    @task
    def ask(self) -> None:
        self.conversation = []  # a single-turn question: identical requests, cacheable
        self.message("repeat", FAQ[random.randrange(min(REPEAT_PROMPTS, len(FAQ)))], cache="exact")


class BatchSubmitter(HttpUser):
    """Submits background jobs and follows each to its end (DESIGN §8, §10)."""

    weight = _int("LT_WEIGHT_BATCH", 1)

    def wait_time(self) -> float:
        # Disabled (no jobs endpoint): idle in an interruptible wait until the test ends.
        return 3600.0 if TALLY.jobs_enabled is False else random.uniform(THINK_MIN, THINK_MAX)

    @task
    def submit(self) -> None:
        if TALLY.jobs_enabled is False:
            return
        payload = {
            "request": {
                "model": MODEL,
                "max_tokens": MAX_TOKENS,
                "messages": [{"role": "user", "content": f"Summarise: {_question()}"}],
            },
            "priority": JOB_PRIORITY,
            "callback_url": None,
        }
        with self.client.post(
            "/v1/jobs",
            json=payload,
            headers=_headers(),
            name="jobs submit",
            timeout=TIMEOUT,
            catch_response=True,
        ) as resp:
            if resp.status_code != 202:
                TALLY.jobs["submit_errors"] += 1
                resp.failure(f"{resp.status_code} {_error_type(resp.content or b'', False)}")
                return
            job_id = resp.json()["id"]
            TALLY.jobs["submitted"] += 1
        deadline = time.monotonic() + JOB_WAIT_SECONDS
        while time.monotonic() < deadline:
            # gevent.sleep, not self.wait(): a stopping test lets the job finish being
            # followed (bounded by LT_JOB_WAIT_SECONDS) so the accounting stays exact.
            gevent.sleep(JOB_POLL_SECONDS)
            with self.client.get(
                f"/v1/jobs/{job_id}",
                headers=_headers(),
                name="jobs poll",
                timeout=TIMEOUT,
                catch_response=True,
            ) as poll:
                if poll.status_code != 200:
                    poll.failure(f"{poll.status_code} {_error_type(poll.content or b'', False)}")
                    continue
                state = str(poll.json().get("state", "")).upper()
            if state in TERMINAL_JOB_STATES:
                TALLY.jobs[state.lower()] += 1
                return
        TALLY.jobs["unfinished"] += 1


def _drop_disabled_classes() -> None:
    """A weight of 0 removes a class (Locust finds user classes among module globals)."""
    for cls in (ChatUser, PremiumUser, BackgroundUser, RepeatAsker, BatchSubmitter):
        if cls.weight <= 0:
            globals().pop(cls.__name__, None)


_drop_disabled_classes()


# -- events -----------------------------------------------------------------------------------


def probe_jobs(host: str) -> tuple[bool, str]:
    """Does the gateway have ``POST /v1/jobs``? An empty body gets a 400 if it does."""
    req = urllib.request.Request(  # noqa: S310 - the load test's own target host
        host.rstrip("/") + "/v1/jobs",
        data=b"{}",
        method="POST",
        headers=_headers(),
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - the target host
            return True, f"probe answered {resp.status}"
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 405):
            return False, f"POST /v1/jobs answered {exc.code}: the gateway has no jobs endpoint"
        return True, f"probe answered {exc.code}"
    except OSError as exc:
        return False, f"POST /v1/jobs probe failed: {exc}"


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kw: Any) -> None:
    TALLY.started = time.time()
    if "BatchSubmitter" not in globals():
        TALLY.jobs_enabled, TALLY.jobs_reason = False, "BatchSubmitter weight is 0"
        return
    if environment.host:
        TALLY.jobs_enabled, TALLY.jobs_reason = probe_jobs(environment.host)
        if not TALLY.jobs_enabled:
            print(f"[locustfile] BatchSubmitter disabled: {TALLY.jobs_reason}", flush=True)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kw: Any) -> None:
    TALLY.stopped = time.time()
    if TALLY_FILE and not _is_worker(environment):
        with open(TALLY_FILE, "w", encoding="utf-8") as out:
            json.dump(TALLY.as_dict(), out, indent=2, sort_keys=True)


@events.quit.add_listener
def _final_csv(exit_code: int, **_kw: Any) -> None:
    """Rewrite ``<prefix>_stats.csv`` and ``_failures.csv`` once every request has ended.

    Locust rewrites them once a second while it runs, so its last write can miss the final
    second of requests; the HTML report and the printed table are complete. Now nothing
    runs any more, so the files end up with the same totals as those.
    """
    env = _ENVIRONMENT.get("env")
    prefix = getattr(getattr(env, "parsed_options", None), "csv_prefix", None)
    if env is None or not prefix or _is_worker(env):
        return
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(env, PERCENTILES_TO_REPORT)
    with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as out:
        writer.requests_csv(csv.writer(out))
    with open(f"{prefix}_failures.csv", "w", newline="", encoding="utf-8") as out:
        writer.failures_csv(csv.writer(out))


_ENVIRONMENT: dict[str, Environment] = {}


@events.init.add_listener
def _remember_environment(environment: Environment, **_kw: Any) -> None:
    _ENVIRONMENT["env"] = environment


@events.report_to_master.add_listener
def _report_to_master(client_id: str, data: dict[str, Any]) -> None:
    data["scalegate_tally"] = TALLY.raw()
    TALLY.reset_counts()


@events.worker_report.add_listener
def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    if "scalegate_tally" in data:
        TALLY.merge(data["scalegate_tally"])


def _is_worker(environment: Environment) -> bool:
    from locust.runners import WorkerRunner

    return isinstance(environment.runner, WorkerRunner)
