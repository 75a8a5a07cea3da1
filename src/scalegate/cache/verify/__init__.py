"""Verification of semantic cache hits: do two prompts an embedding calls alike ask the same?

Sentence embeddings measure topic and wording, not the details an answer hinges on:
all-MiniLM-L6-v2 scores "Convert 100 F to C" against "Convert 100 C to F" at 0.95, and two
60-word prompts that differ in one noun at 0.98. So a semantic hit is served only when
this verifier finds nothing that tells the prompts apart. It is built to generalise to
prompts nobody here wrote, not from lists of past failures:

1. closed-class details compared exactly (:mod:`.features`): numbers as values, times,
   units, quoted and code spans, symbols, negation, quantifiers, modals, tense,
   comparatives/superlatives, direction words, the question word, connectives;
2. every content word aligned with one of the other prompt (:mod:`.align`), by lemma or
   WordNet synonym, after a diff of the two word sequences; a negating affix or a WordNet
   antonym is a veto, and so is any word left alone;
3. roles: aligned words that trade places across a relation word (``order``).

:func:`near_miss_reason` returns the first failing rule (``numbers``, ``negation``,
``antonym``, ``unaligned:<word>``, ``order``, …) or ``None``; ``strictness`` is
``"strict"`` (default) or ``"balanced"`` (:mod:`.rules`). It only ever refuses hits. If
WordNet is missing it refuses every pair (``lexicon-unavailable``), logged once.
"""

from __future__ import annotations

from functools import cache

from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.rules import STRICTNESS, Verifier

__all__ = ["STRICTNESS", "Lexicon", "Verifier", "default_verifier", "near_miss_reason", "rule"]


@cache
def default_verifier() -> Verifier:
    """The process's verifier over the system WordNet (a convenience over :class:`Verifier`)."""
    return Verifier()


def near_miss_reason(a: str, b: str, strictness: str = "strict") -> str | None:
    """Why ``a`` and ``b`` must not share an answer, or ``None`` when nothing tells them apart."""
    return default_verifier().reason(a, b, strictness)


def rule(reason: str) -> str:
    """The rule a reason names, without its detail ("unaligned:flu" → "unaligned"): a
    bounded value for metrics labels."""
    return reason.partition(":")[0]
