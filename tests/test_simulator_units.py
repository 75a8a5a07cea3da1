"""The simulator's pure parts: token rule, answers, buckets, prompt cache, config, catalog."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pytest

from scalegate.errors import ConfigError, InvalidRequestError, NotFoundError
from scalegate.simulator import SimKeyLimits, SimulatorConfig, load_simulator_config
from scalegate.simulator.answers import answer_words, last_user_text, plan_answer
from scalegate.simulator.buckets import KeyLimiter, Need, TokenBucket
from scalegate.simulator.catalog import ModelCatalog, display_name
from scalegate.simulator.config import DEFAULT_MODELS, FaultConfig, apply_config_update
from scalegate.simulator.faults import Fault, FaultRoller, forced_fault
from scalegate.simulator.prompt_cache import PromptCache
from scalegate.simulator.tokens import cache_prefixes, count_input_tokens, prompt_segments
from scalegate.simulator.validation import MessagesRequest, validate_messages

MODEL = "claude-haiku-4-5-20251001"
CATALOG = ModelCatalog(DEFAULT_MODELS)


def parse(body: dict[str, Any]) -> MessagesRequest:
    return validate_messages({"model": MODEL, **body}, "2023-06-01", CATALOG)


# --- token rule ----------------------------------------------------------------------------


def test_token_rule_covers_every_kind_of_content() -> None:
    body: dict[str, Any] = {
        "system": [{"type": "text", "text": "abcd" * 3}],  # 12 bytes
        "tools": [{"name": "t", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "é" * 4},  # 8 bytes
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "x", "name": "t", "input": {"a": 1}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "x", "content": "done"},
                    {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                ],
            },
        ],
    }
    tool_json = len(b'{"input_schema":{"type":"object"},"name":"t"}')
    text_bytes = 12 + tool_json + 8 + (len(b'{"a":1}') + 1) + 4
    assert count_input_tokens(body) == math.ceil(text_bytes / 4) + 1000 + 3 * 3 + 5


def test_cache_control_is_not_counted() -> None:
    plain = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}
    marked = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ]
    }
    assert count_input_tokens(plain) == count_input_tokens(marked) == 2 + 3 + 5


def test_prefixes_never_exceed_the_total() -> None:
    mark = {"type": "ephemeral"}
    body: dict[str, Any] = {
        "tools": [{"name": "a", "input_schema": {}, "cache_control": mark}],
        "system": [{"type": "text", "text": "s" * 99, "cache_control": mark}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "u" * 7, "cache_control": mark}]},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "b"},
        ],
    }
    prefixes = cache_prefixes(MODEL, prompt_segments(body))
    tokens = [p.tokens for p in prefixes]
    assert tokens == sorted(tokens)
    assert len({p.digest for p in prefixes}) == 3
    assert tokens[-1] <= count_input_tokens(body)
    other_model = cache_prefixes("claude-opus-4-6", prompt_segments(body))
    assert other_model[0].digest != prefixes[0].digest


def test_prompt_cache_reads_the_longest_cached_prefix() -> None:
    cache = PromptCache()
    mark = {"type": "ephemeral"}
    short: dict[str, Any] = {
        "system": [{"type": "text", "text": "s" * 400, "cache_control": mark}],
        "messages": [{"role": "user", "content": "q"}],
    }
    long = {
        **short,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "u" * 40, "cache_control": mark}]}
        ],
    }
    short_prefixes = cache_prefixes(MODEL, prompt_segments(short))
    cache.store("k", short_prefixes, now=0)
    long_prefixes = cache_prefixes(MODEL, prompt_segments(long))
    usage = cache.usage("k", count_input_tokens(long), long_prefixes, now=1)
    assert usage.cache_read == long_prefixes[0].tokens == 105
    assert usage.cache_creation == long_prefixes[1].tokens - 105
    assert usage.uncached == 0
    assert cache.usage("other-key", 200, long_prefixes, now=1).cache_read == 0
    assert cache.usage("k", 200, short_prefixes, now=300.5).cache_read == 0  # expired


# --- answers -------------------------------------------------------------------------------


def test_answer_words_are_deterministic_and_sized() -> None:
    words = answer_words(MODEL, "hello")
    assert words == answer_words(MODEL, "hello")
    assert 20 <= len(words) <= 80
    assert words[0][0].isupper() or not words[0][0].isascii()
    assert words[-1].endswith(".")
    assert len(answer_words(MODEL, "[sim:tokens=1234]")) == 1234
    assert answer_words(MODEL, "[sim:tokens=0]") == []


def test_last_user_text_reads_blocks_and_tool_results() -> None:
    messages: Any = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "x",
                    "content": [{"type": "text", "text": "r"}],
                },
                {"type": "text", "text": "t"},
            ],
        },
    ]
    assert last_user_text(messages) == "r\nt"


def test_stream_chunks_add_up_to_the_answer() -> None:
    answer = plan_answer(parse({"max_tokens": 100, "messages": [{"role": "user", "content": "x"}]}))
    assert "".join(c.delta["text"] for c in answer.chunks) == answer.blocks[0]["text"]
    assert sum(c.tokens for c in answer.chunks) == answer.output_tokens
    assert all(c.tokens <= 3 for c in answer.chunks)


def test_stop_sequence_spanning_words() -> None:
    request = parse(
        {"max_tokens": 100, "messages": [{"role": "user", "content": "[sim:tokens=30]"}]}
    )
    words = plan_answer(request).blocks[0]["text"].split(" ")
    stop = f"{words[3]} {words[4][:2]}"
    cut = plan_answer(parse({**request.body, "stop_sequences": ["never-there", stop]}))
    assert cut.stop_reason == "stop_sequence"
    assert cut.stop_sequence == stop
    assert cut.blocks[0]["text"] == " ".join(words[:3]) + " "
    assert cut.output_tokens == 5
    assert sum(c.tokens for c in cut.chunks) == 5


def test_tool_answer_tokens_and_json_chunks() -> None:
    schema = {
        "type": "object",
        "properties": {
            "q": {"type": "string"},
            "n": {"type": "array", "items": {"type": "number"}},
        },
        "required": ["q", "n"],
    }
    request = parse(
        {
            "max_tokens": 100,
            "tools": [{"name": "search", "input_schema": schema}],
            "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "find"}],
        }
    )
    answer = plan_answer(request)
    tool_input = answer.blocks[0]["input"]
    assert isinstance(tool_input["q"], str)
    assert isinstance(tool_input["n"][0], float)
    joined = "".join(c.delta["partial_json"] for c in answer.chunks)
    assert orjson.loads(joined) == tool_input
    assert sum(c.tokens for c in answer.chunks) == answer.output_tokens
    assert answer.output_tokens == math.ceil((len("search") + len(joined.encode())) / 4)


# --- buckets -------------------------------------------------------------------------------


def test_bucket_refills_continuously() -> None:
    bucket = TokenBucket(60, now=0)
    bucket.take(60, now=0)
    assert bucket.wait_for(1, now=0) == pytest.approx(1.0)
    assert bucket.wait_for(1, now=1) == 0
    assert bucket.wait_for(61, now=1) == math.inf
    bucket.give(1000, now=1)
    assert bucket.level == 60


def test_limiter_names_the_binding_limit() -> None:
    limiter = KeyLimiter(SimKeyLimits(rpm=10, itpm=600, otpm=None), now=0)
    assert limiter.check(Need(input_tokens=600, output_tokens=10**6), now=0) is None
    limiter.take(Need(input_tokens=600, output_tokens=0), now=0)
    denial = limiter.check(Need(input_tokens=100, output_tokens=0), now=0)
    assert denial is not None
    assert denial.limit_name == "input-tokens"
    assert denial.retry_after == 10
    assert "600 input tokens per minute" in denial.message
    assert "anthropic-ratelimit-output-tokens-limit" not in limiter.headers(0, 0)


# --- faults, config, catalog ---------------------------------------------------------------


def test_forced_faults_map_for_non_streaming_requests() -> None:
    assert forced_fault("overloaded_first", stream=False) is Fault.ERROR_529
    assert forced_fault("drop_midstream", stream=False) is Fault.DROP
    assert forced_fault("DROP_MIDSTREAM", stream=True) is Fault.DROP_MIDSTREAM
    assert forced_fault(None, stream=True) is None
    with pytest.raises(InvalidRequestError):
        forced_fault("boom", stream=True)


def test_fault_roller_draws_a_fixed_number_per_request() -> None:
    a, b = FaultRoller(5), FaultRoller(5)
    a.roll(FaultConfig(error_500_rate=1), stream=False)  # hits the first fault…
    b.roll(FaultConfig(), stream=False)  # …or none: the same draws are consumed
    rates = FaultConfig(error_529_rate=0.5)
    assert [a.roll(rates, stream=False) for _ in range(20)] == [
        b.roll(rates, stream=False) for _ in range(20)
    ]


def test_load_config_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "sim.yaml"
    yaml_file.write_text("keys:\n  sk-a: {rpm: 5}\nlatency: {ttft_ms: 20}\n")
    config = load_simulator_config(str(yaml_file))
    assert config.keys["sk-a"] == SimKeyLimits(rpm=5)
    assert config.latency.ttft_ms == 20
    json_file = tmp_path / "sim.json"
    json_file.write_text('{"accept_unknown_keys": true, "seed": 3}')
    assert load_simulator_config(str(json_file)).accept_unknown_keys
    assert load_simulator_config(None) == SimulatorConfig()
    (tmp_path / "bad.yaml").write_text("keys: {sk-a: {rpm: 0}}\n")
    with pytest.raises(ConfigError, match=r"keys\.sk-a\.rpm"):
        load_simulator_config(str(tmp_path / "bad.yaml"))
    (tmp_path / "typo.yaml").write_text("acept_unknown_keys: true\n")
    with pytest.raises(ConfigError, match="acept_unknown_keys"):
        load_simulator_config(str(tmp_path / "typo.yaml"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_simulator_config(str(tmp_path / "missing.yaml"))


def test_config_update_merges_and_validates() -> None:
    config = SimulatorConfig(keys={"k": SimKeyLimits(rpm=5, otpm=100)})
    updated = apply_config_update(
        config,
        {"keys": {"k": {"rpm": 6}}, "faults": {"seed": 1}}
        if False
        else {"keys": {"k": {"rpm": 6}}},
    )
    assert updated.keys["k"] == SimKeyLimits(rpm=6, otpm=100)
    with pytest.raises(ValueError, match="models"):
        apply_config_update(config, {"models": []})
    with pytest.raises(ValueError, match="faults"):
        apply_config_update(config, {"faults": {"nonsense_rate": 1}})


def test_catalog_resolves_aliases_and_names_models() -> None:
    assert CATALOG.resolve("claude-haiku-4-5") == MODEL
    assert CATALOG.resolve("claude-sonnet-4-6") == "claude-sonnet-4-6"
    assert CATALOG.resolve("claude-haiku-4") is None
    assert display_name("claude-3-5-haiku-20241022") == "Claude 3.5 Haiku"
    assert display_name("claude-opus-4-5-20251101") == "Claude Opus 4.5"
    assert CATALOG.info(MODEL)["created_at"] == "2025-10-01T00:00:00Z"
    with pytest.raises(NotFoundError):
        validate_messages({"model": "nope", "max_tokens": 1, "messages": []}, "2023-06-01", CATALOG)
