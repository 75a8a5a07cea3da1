"""Input-token estimates from characters, corrected per model by what the provider reports.

There is no accurate offline tokenizer for current Claude models, so the gateway estimates:
about 3.5 characters per token for Latin text, one per character for CJK, denser for JSON
(tools), a flat amount for images and documents. Each response's ``usage`` teaches a per-model
correction factor (an exponential moving average of actual ÷ raw estimate); reservations use
the corrected estimate plus a small margin, and settlement refunds or charges the difference.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import orjson

CHARS_PER_TOKEN = 3.5
JSON_CHARS_PER_TOKEN = 2.5
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REQUEST = 8
MEDIA_BLOCK_TOKENS = 1600
# Start pessimistic (overestimate); usage corrects it within a few responses.
INITIAL_CORRECTION = 1.2
MARGIN = 1.05
SMOOTHING = 0.2
# Output reserved before anything is known of a model's answers (then: learned, see
# TokenEstimator.output_reservation); never more than the request's max_tokens.
OUTPUT_FLOOR = 1024
PREFIXES = 10_000  # stable prompt prefixes whose cached share is remembered
MAX_SCOPES = 100_000  # (model, tenant) corrections kept; beyond, tenants share the model's


def _text_tokens(text: str) -> float:
    if text.isascii():
        return len(text) / CHARS_PER_TOKEN
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)  # CJK and beyond: ~1 token each
    return (len(text) - wide) / CHARS_PER_TOKEN + wide


def _block_tokens(block: Any) -> float:
    if isinstance(block, str):
        return _text_tokens(block)
    if not isinstance(block, dict):
        return 0.0
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return _text_tokens(text) if isinstance(text, str) else 0.0
    if kind in ("image", "document"):
        return MEDIA_BLOCK_TOKENS
    if kind == "tool_result":
        return _content_tokens(block.get("content")) + 4
    if kind in ("tool_use", "server_tool_use"):
        return len(orjson.dumps(block.get("input", {}))) / JSON_CHARS_PER_TOKEN + 8
    if kind in ("thinking", "redacted_thinking"):
        text = block.get("thinking") or block.get("data") or ""
        return _text_tokens(text) if isinstance(text, str) else 0.0
    return len(orjson.dumps(block)) / JSON_CHARS_PER_TOKEN


def _content_tokens(content: Any) -> float:
    if isinstance(content, str):
        return _text_tokens(content)
    if isinstance(content, list):
        return sum(_block_tokens(b) for b in content)
    return 0.0


def raw_estimate(payload: dict[str, Any]) -> float:
    """Uncorrected input tokens of a Messages request (system, messages, tools)."""
    total = float(TOKENS_PER_REQUEST)
    system = payload.get("system")
    if system is not None:
        total += _content_tokens(system)
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                total += TOKENS_PER_MESSAGE + _content_tokens(message.get("content"))
    tools = payload.get("tools")
    if tools:
        total += len(orjson.dumps(tools)) / JSON_CHARS_PER_TOKEN
    return total


class TokenEstimator:
    """Per-model corrected estimates; learns from every response's ``usage``.

    The correction is the moving average of actual ÷ raw plus twice its moving absolute
    deviation, so a model whose prompts vary a lot is reserved for more generously.
    """

    def __init__(
        self, initial_correction: float = INITIAL_CORRECTION, output_floor: int = OUTPUT_FLOOR
    ) -> None:
        self._initial = initial_correction
        self._mean: dict[str | tuple[str, str], float] = {}
        self._dev: dict[str | tuple[str, str], float] = {}
        self._floor = output_floor
        self._out_mean: dict[str, float] = {}
        self._out_dev: dict[str, float] = {}
        self._cached: OrderedDict[str, int] = OrderedDict()

    def correction(self, model: str, tenant: str | None = None) -> float:
        """The tenant's own correction for this model once it has one (its prompts may be
        denser than others': code, JSON, another script), else the model's."""
        for scope in ((model, tenant), model) if tenant is not None else (model,):
            mean = self._mean.get(scope)
            if mean is not None:
                return mean + 2.0 * self._dev[scope]
        return self._initial

    def estimate(self, model: str, raw: float, tenant: str | None = None) -> int:
        """Tokens to reserve for a request whose raw estimate is ``raw``."""
        return max(1, math.ceil(raw * self.correction(model, tenant) * MARGIN))

    def learn(self, model: str, raw: float, actual: int, tenant: str | None = None) -> None:
        """Fold in what the provider counted (input + cache creation + cache reads), for
        the model and, when the call had one, for its tenant's use of the model."""
        if raw <= 0 or actual <= 0:
            return
        ratio = min(4.0, max(0.25, actual / raw))
        self._fold(model, ratio)
        if tenant is not None and len(self._mean) < MAX_SCOPES:
            self._fold((model, tenant), ratio)

    def _fold(self, scope: str | tuple[str, str], ratio: float) -> None:
        mean = self._mean.get(scope)
        if mean is None:
            self._mean[scope], self._dev[scope] = ratio, 0.0
            return
        self._dev[scope] += SMOOTHING * (abs(ratio - mean) - self._dev[scope])
        self._mean[scope] = mean + SMOOTHING * (ratio - mean)

    # -- output: what answers of a model really use -----------------------------------------

    def output_reservation(self, model: str, max_tokens: int) -> int:
        """Output tokens to reserve: what this model's answers use (mean + 3 deviations of
        the answers seen, at least the floor), never more than ``max_tokens``. Settlement
        charges what the answer really used, so a long answer is paid for in full."""
        mean = self._out_mean.get(model)
        learned = self._floor if mean is None else mean + 3.0 * self._out_dev[model]
        return max(1, min(max_tokens, max(self._floor, math.ceil(learned))))

    def learn_output(self, model: str, output_tokens: int) -> None:
        if output_tokens <= 0:
            return
        mean = self._out_mean.get(model)
        if mean is None:
            self._out_mean[model], self._out_dev[model] = float(output_tokens), 0.0
            return
        self._out_dev[model] += SMOOTHING * (abs(output_tokens - mean) - self._out_dev[model])
        self._out_mean[model] = mean + SMOOTHING * (output_tokens - mean)

    # -- input read from the prompt cache (does not count toward ITPM) ----------------------

    def expected_cached(self, prefix: str | None) -> int:
        """Input tokens the next request with this stable prefix will likely read from the
        prompt cache: what the last one read or wrote there."""
        if prefix is None:
            return 0
        return self._cached.get(prefix, 0)

    def learn_cached(self, prefix: str | None, cache_read: int, cache_write: int) -> None:
        if prefix is None:
            return
        self._cached[prefix] = cache_read + cache_write
        self._cached.move_to_end(prefix)
        while len(self._cached) > PREFIXES:
            self._cached.popitem(last=False)
