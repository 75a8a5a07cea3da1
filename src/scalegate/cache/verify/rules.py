"""The verifier: exact details, then alignment, then roles — the first failure is the reason.

Strictness (a miss costs money, a false hit a wrong answer; the default is ``strict``):

``strict``    synonyms only through a word's most frequent WordNet senses; quantifiers
              compared exactly ("some" ≠ "any");
``balanced``  synonyms through any sense and through adjective similarity clusters;
              "some"/"any" treated as one quantifier.

Both refuse every difference in numbers, times, units, quotes, code, symbols, negation,
modality, tense, degree, direction, question word and connectives, every unaligned or
opposed content word, and every swap of roles.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from scalegate.cache.verify.align import align
from scalegate.cache.verify.features import EXACT_FIELDS, Analysis, analyse
from scalegate.cache.verify.lexicon import Lexicon

logger = logging.getLogger(__name__)

STRICTNESS = ("strict", "balanced")
_EITHER = frozenset({"some", "any"})


class Verifier:
    """Decides whether two prompts ask the same thing; see :meth:`reason`."""

    def __init__(self, lexicon: Lexicon | None = None, *, cache_size: int = 4096) -> None:
        self.lexicon = lexicon if lexicon is not None else Lexicon()
        self._analyse = lru_cache(maxsize=cache_size)(self._analysis)

    def _analysis(self, text: str) -> Analysis:
        return analyse(text, self.lexicon)

    def reason(self, a: str, b: str, strictness: str = "strict") -> str | None:
        """Why ``a`` and ``b`` must not share an answer, or ``None`` when they may."""
        if strictness not in STRICTNESS:
            raise ValueError(f"strictness must be one of {STRICTNESS}, not {strictness!r}")
        if a == b:
            return None
        if not self.lexicon.available:
            return "lexicon-unavailable"
        da, db = self._analyse(a), self._analyse(b)
        for name in EXACT_FIELDS:
            if _differ(name, da.exact[name], db.exact[name], strictness):
                return name
        reason, pairs = align(
            da.content, db.content, self.lexicon, all_senses=strictness == "balanced"
        )
        if reason is not None:
            return reason
        if swapped(possessive_as_of(da.sequence), possessive_as_of(_renamed(da, db, pairs))):
            return "order"
        return None


def _differ(name: str, a: tuple[str, ...], b: tuple[str, ...], strictness: str) -> bool:
    if name == "question":  # a question word replaced, not one added ("… and how?")
        return bool(a and b) and not (set(a) <= set(b) or set(b) <= set(a))
    if name == "quantifier" and strictness == "balanced":
        return [q for q in a if q not in _EITHER] != [q for q in b if q not in _EITHER]
    return a != b


def _renamed(da: Analysis, db: Analysis, pairs: dict[int, int]) -> list[str]:
    """``db``'s sequence with each content word replaced by its aligned word of ``da``."""
    return [da.sequence[pairs[i]] if i in pairs else word for i, word in enumerate(db.sequence)]


def possessive_as_of(words: list[str]) -> list[str]:
    """ "X 's Y" read as "Y of X": "green tea's health benefits" asks what "the health
    benefits of green tea" asks, while "my sister's husband" / "my husband's sister" still
    trade places. X and Y are the runs of content words either side."""
    out = list(words)
    i = 1
    while i < len(out) - 1:
        if out[i] != "='s":
            i += 1
            continue
        start, end = i, i + 1
        while start > 0 and not out[start - 1].startswith("="):
            start -= 1
        while end < len(out) and not out[end].startswith("="):
            end += 1
        if start == i or end == i + 1:
            i += 1
            continue
        out[start:end] = [*out[i + 1 : end], "=of", *out[start:i]]
        i = end
    return out


def swapped(a: list[str], b: list[str]) -> bool:
    """Two words that trade places: "X than Y" / "Y than X", "lion beats tiger" / "tiger
    beats lion" — across a relation word in both, or across the very same words in both."""

    def positions(words: list[str]) -> dict[str, int]:
        seen: dict[str, int] = {}
        for i, w in enumerate(words):
            if not w.startswith("="):
                seen[w] = -1 if w in seen else i
        return {w: i for w, i in seen.items() if i >= 0}

    def between(words: list[str], i: int, j: int) -> list[str]:
        return words[min(i, j) + 1 : max(i, j)]

    pa, pb = positions(a), positions(b)
    shared = sorted(set(pa) & set(pb), key=pa.__getitem__)
    for n, x in enumerate(shared):
        for y in shared[n + 1 :]:
            if pb[y] > pb[x]:
                continue
            in_a, in_b = between(a, pa[x], pa[y]), between(b, pb[y], pb[x])
            related = any(w.startswith("=") for w in in_a) and any(w.startswith("=") for w in in_b)
            if related or (in_a and in_a == in_b):
                return True
    return False
