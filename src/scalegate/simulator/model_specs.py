"""What the provider publishes per model: output ceiling, context window, rate-limit class.

The simulator answers ``max_tokens`` above a model's ceiling with the provider's 400, and
pools rate limits per *class*: the provider's rate-limit tables give some families one
combined limit (all Opus 4.x share a bucket, all Sonnet 4.x another, Fable 5.x another),
so traffic to ``claude-opus-4-6`` and ``claude-opus-4-8`` on one key drains the same
budget. Sources for every number are in ``docs/provider-facts.md``.

Unknown models (a config may name any id) get the current generation's defaults and a
class of their own: pooling them with anything would be a claim no source makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

K = 1000
_DATE_SUFFIX = re.compile(r"-\d{8}$")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model's published limits."""

    max_output_tokens: int
    context_window: int
    rate_class: str
    #: Only some retired models (marked † in the old rate-limit tables) charged cache reads
    #: against ITPM; every current model leaves them out.
    cache_reads_count_for_itpm: bool = False


def _spec(max_output: int, context: int, rate_class: str) -> ModelSpec:
    return ModelSpec(max_output * K, context * K, rate_class)


# Keyed by undated alias; a dated id (``…-20251001``) is looked up without its date.
SPECS: dict[str, ModelSpec] = {
    "claude-fable-5-2": _spec(128, 1000, "fable-5"),
    "claude-fable-5-1": _spec(128, 1000, "fable-5"),
    "claude-fable-5": _spec(128, 1000, "fable-5"),
    "claude-mythos-5-2": _spec(128, 1000, "claude-mythos-5-2"),
    "claude-mythos-5-1": _spec(128, 1000, "claude-mythos-5-1"),
    "claude-mythos-5": _spec(128, 1000, "claude-mythos-5"),
    "claude-mythos-preview": _spec(128, 1000, "claude-mythos-preview"),
    "claude-opus-5-5": _spec(128, 1000, "opus-5-5"),
    "claude-opus-5": _spec(128, 1000, "opus-5"),
    "claude-sonnet-5-5": _spec(128, 1000, "sonnet-5-5"),
    "claude-sonnet-5": _spec(128, 1000, "sonnet-5"),
    "claude-haiku-5-5": _spec(128, 1000, "haiku-5-5"),
    "claude-opus-4-8": _spec(128, 1000, "opus-4"),
    "claude-opus-4-7": _spec(128, 1000, "opus-4"),
    "claude-opus-4-6": _spec(128, 1000, "opus-4"),
    "claude-opus-4-5": _spec(64, 200, "opus-4"),
    "claude-sonnet-4-6": _spec(128, 1000, "sonnet-4"),
    "claude-sonnet-4-5": _spec(64, 200, "sonnet-4"),
    "claude-haiku-4-5": _spec(64, 200, "haiku-4-5"),
}

DEFAULT_MAX_OUTPUT_TOKENS = 128 * K
DEFAULT_CONTEXT_WINDOW = 1000 * K


def spec_for(model_id: str) -> ModelSpec:
    """The published spec of ``model_id`` (dated or not), or defaults and a class of its own."""
    spec = SPECS.get(model_id) or SPECS.get(_DATE_SUFFIX.sub("", model_id))
    if spec is not None:
        return spec
    return ModelSpec(DEFAULT_MAX_OUTPUT_TOKENS, DEFAULT_CONTEXT_WINDOW, model_id)
