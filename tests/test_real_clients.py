"""Real third-party clients at their default settings, against the gateway as `make run` runs it.

The gateway is ``scalegate serve`` in its own process with no keys configured, so it serves
the built-in simulator's demo set-up, exactly what a user trying a client against
``make run`` gets; a test sees its client's requests go through in the gateway's own request
counters (``scalegate_requests_total`` on /metrics). Each client is pointed at the
gateway by its base URL (and a dummy API key) and nothing else: no max_tokens, model
settings, headers or betas are changed from the client's own defaults, because those
defaults are what users send.

The clients: the Claude Code CLI in print mode (its default model and a 4.x model), the
TypeScript SDK (tests/clients/anthropic_sdk.cjs), pydantic-ai (Anthropic and OpenAI chat
models), LangChain (ChatAnthropic and ChatOpenAI), the `llm` CLI with llm-anthropic, the
`openai` SDK's Responses API and the OpenAI Agents SDK. The npm packages and `llm` are
installed under .clients/ by scripts/extras-clients.sh; the Python ones are test extras.

A test here fails when the gateway refuses what a real client sends by default; it is not
skipped or marked xfail for that. It is skipped only when its client is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import request
from tests.redis_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".clients" / "node" / "node_modules"
CLAUDE = NODE_MODULES / ".bin" / "claude"
TS_SCRIPT = Path(__file__).resolve().parent / "clients" / "anthropic_sdk.cjs"
LLM = ROOT / ".clients" / "llm" / "bin" / "llm"
NOT_INSTALLED = "not installed; scripts/extras-clients.sh (make system-deps) installs it"

MODEL = "claude-sonnet-4-6"  # a 4.x model the simulator serves, for clients that need a name
PROMPT = "Say hi"
_ANSWERED = re.compile(r'^scalegate_requests_total\{route="([^"]*)",status="200"\} (\S+)$', re.M)
# Variables that would point a client (or the gateway) somewhere else or switch modes.
_FOREIGN = ("ANTHROPIC", "OPENAI", "SCALEGATE", "REDIS", "CLAUDE", "LLM_", "OTEL_")


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}


class Gateway:
    """``scalegate serve --host 127.0.0.1 --port N``: no keys, so the simulator's demo set-up."""

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="scalegate-clients-")
        self.log_path = Path(self._dir.name) / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def listen(self) -> list[str]:
        return ["--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, timeout: float = 30) -> Gateway:
        script = Path(sys.executable).with_name("scalegate")  # what `make run` runs
        command = [str(script)] if script.exists() else [sys.executable, "-m", "scalegate.cli"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "serve", *self.listen],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**clean_environ(), "PYTHONUNBUFFERED": "1"},
                cwd=self._dir.name,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request(self.url, "GET", "/healthz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway did not start:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def answered(self) -> Counter[str]:
        """Requests answered 200 so far, per route, from the gateway's own counters."""
        text = request(self.url, "GET", "/metrics").body.decode()
        counts: Counter[str] = Counter()
        for route, value in _ANSWERED.findall(text):
            counts[route] += int(float(value))
        return counts

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._dir.cleanup()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    gw = Gateway().start()
    try:
        yield gw
    finally:
        gw.close()


def assert_went_through(gateway: Gateway, before: Counter[str], route: str) -> None:
    """The gateway answered (200) at least one more request on ``route`` than ``before``."""
    after = gateway.answered()
    assert after[route] > before[route], f"answered on {route}: {before[route]} → {after[route]}"


# -- Claude Code -----------------------------------------------------------------------------


def run_claude(gateway: Gateway, tmp_path: Path, *args: str) -> dict[str, Any]:
    """``claude -p "Say hi" --output-format json`` with a fresh HOME; returns its result."""
    if not CLAUDE.exists():
        pytest.skip(f"Claude Code CLI {NOT_INSTALLED}")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        **clean_environ(),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": "dummy",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    proc = subprocess.run(
        [str(CLAUDE), "-p", PROMPT, "--output-format", "json", *args],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert proc.stdout.strip(), f"no output (exit {proc.returncode}): {proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    status, text = result.get("api_error_status"), result.get("result")
    assert not result.get("is_error"), f"claude -p {' '.join(args)} failed: {status} {text}"
    assert proc.returncode == 0, proc.stderr
    assert str(result.get("result", "")).strip(), result
    return result


def test_claude_code_default_model(gateway: Gateway, tmp_path: Path) -> None:
    before = gateway.answered()
    run_claude(gateway, tmp_path)
    assert_went_through(gateway, before, "messages")


def test_claude_code_sonnet_4_6(gateway: Gateway, tmp_path: Path) -> None:
    before = gateway.answered()
    result = run_claude(gateway, tmp_path, "--model", "claude-sonnet-4-6")
    assert "claude-sonnet-4-6" in result.get("modelUsage", {}), result
    assert_went_through(gateway, before, "messages")


# -- TypeScript SDK --------------------------------------------------------------------------


def test_typescript_sdk_create_and_stream(gateway: Gateway) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "@anthropic-ai" / "sdk").is_dir():
        pytest.skip(f"node or @anthropic-ai/sdk {NOT_INSTALLED}")
    before = gateway.answered()
    env = {
        **clean_environ(),
        "NODE_PATH": str(NODE_MODULES),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": "dummy",
    }
    proc = subprocess.run(
        [node, str(TS_SCRIPT), MODEL],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["create"].strip()
    assert out["create_request_id"]
    assert out["stream"].strip()
    assert out["stream_stop_reason"] == "end_turn"
    assert_went_through(gateway, before, "messages")


# -- pydantic-ai -----------------------------------------------------------------------------
# Async, with a client the test closes: Agent.run_sync leaves the async client's pooled
# connection open after its event loop is gone (a ResourceWarning, an error in this suite).


async def test_pydantic_ai_anthropic(gateway: Gateway) -> None:
    import anthropic
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    before = gateway.answered()
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key="dummy") as client:
        provider = AnthropicProvider(anthropic_client=client)
        result = await Agent(AnthropicModel(MODEL, provider=provider)).run(PROMPT)
    assert result.output.strip()
    assert_went_through(gateway, before, "messages")


async def test_pydantic_ai_openai_chat(gateway: Gateway) -> None:
    import openai
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    before = gateway.answered()
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="dummy") as client:
        provider = OpenAIProvider(openai_client=client)
        result = await Agent(OpenAIChatModel(MODEL, provider=provider)).run(PROMPT)
    assert result.output.strip()
    assert_went_through(gateway, before, "chat_completions")


# -- LangChain -------------------------------------------------------------------------------


def test_langchain_anthropic_invoke_and_stream(gateway: Gateway) -> None:
    from langchain_anthropic import ChatAnthropic

    before = gateway.answered()
    chat = ChatAnthropic(model_name=MODEL, base_url=gateway.url, api_key="dummy")  # type: ignore[call-arg,arg-type]  # a deliberately wrong call
    assert chat.invoke(PROMPT).text.strip()
    assert "".join(chunk.text for chunk in chat.stream(PROMPT)).strip()
    assert_went_through(gateway, before, "messages")


def test_langchain_openai_invoke_and_stream(gateway: Gateway) -> None:
    from langchain_openai import ChatOpenAI

    before = gateway.answered()
    chat = ChatOpenAI(model=MODEL, base_url=f"{gateway.url}/v1", api_key="dummy")  # type: ignore[arg-type]  # a deliberately wrong or loosely typed value, as a client sends it
    assert chat.invoke(PROMPT).text.strip()
    assert "".join(chunk.text for chunk in chat.stream(PROMPT)).strip()
    assert_went_through(gateway, before, "chat_completions")


# -- llm (Simon Willison's CLI) with llm-anthropic -------------------------------------------


def test_llm_cli_anthropic(gateway: Gateway, tmp_path: Path) -> None:
    # llm-anthropic builds anthropic.Anthropic(api_key=…) with no base_url, so the SDK reads
    # ANTHROPIC_BASE_URL from the environment: that is how a user points it at a gateway.
    if not LLM.exists():
        pytest.skip(f"llm with llm-anthropic {NOT_INSTALLED}")
    before = gateway.answered()
    env = {
        **clean_environ(),
        "LLM_USER_PATH": str(tmp_path),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_API_KEY": "dummy",
    }
    proc = subprocess.run(
        [str(LLM), "-m", "claude-sonnet-4.5", "hi"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert_went_through(gateway, before, "messages")


# -- OpenAI Responses API (openai SDK) and the OpenAI Agents SDK -----------------------------


def test_openai_responses_create(gateway: Gateway) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="dummy")
    raw = client.responses.with_raw_response.create(model=MODEL, input=PROMPT)
    assert raw.headers.get("x-scalegate-request-id")
    assert raw.parse().output_text.strip()


def test_openai_responses_stream(gateway: Gateway) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="dummy")
    with client.responses.stream(model=MODEL, input=PROMPT) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas).strip()
    assert final.output_text == "".join(deltas)


def test_openai_responses_create_stream_true(gateway: Gateway) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="dummy")
    raw = client.responses.with_raw_response.create(model=MODEL, input=PROMPT, stream=True)
    assert raw.headers.get("x-scalegate-request-id")
    types = []
    text = ""
    with raw.parse() as events:
        for event in events:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
    assert text.strip()
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"


async def test_openai_agents_runner(gateway: Gateway) -> None:
    import openai
    from agents import Agent, OpenAIResponsesModel, RunConfig, Runner

    # The Agents SDK's default model is the Responses one; a client of our own carries the
    # base URL (set_default_openai_client would change process-wide state) and is closed here
    # (Runner.run_sync would leave its connection open). Tracing would export to the vendor,
    # so it is off for this run only.
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="dummy") as client:
        agent = Agent(
            name="assistant",
            instructions="You are a helpful assistant.",
            model=OpenAIResponsesModel(model=MODEL, openai_client=client),
        )
        result = await Runner.run(agent, PROMPT, run_config=RunConfig(tracing_disabled=True))
    assert str(result.final_output).strip()
