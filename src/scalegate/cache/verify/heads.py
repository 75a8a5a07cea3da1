"""The thing a request asks for, traded with the word that says which one (verifier v90):
"find the *index* of an element in a list" asks for an index, "find the *element* at an
index in a list" for an element — the same two nouns, each the other's head. Read from
what each prompt asks for (:attr:`.features.Analysis.asked_for`) where that is one word."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.fields import BOUNDARY


class Words(Protocol):
    def keys(self, word: str) -> frozenset[str]: ...


def asked_head_traded(da: Analysis, db: Analysis, lexicon: Words) -> bool:
    """Whether each prompt asks for one word that the other says after the word it asks
    for, and the two are different words."""
    if len(da.asked_for) != 1 or len(db.asked_for) != 1:
        return False
    at_a, at_b = da.asked_for[0], db.asked_for[0]
    keys_a, keys_b = lexicon.keys(da.sequence[at_a]), lexicon.keys(db.sequence[at_b])
    if keys_a & keys_b:
        return False
    return _depends(db.sequence, at_b, keys_a, lexicon) and _depends(
        da.sequence, at_a, keys_b, lexicon
    )


def _depends(sequence: Sequence[str], head: int, keys: frozenset[str], lexicon: Words) -> bool:
    """A word of ``keys`` after the word at ``head``, with only a relation word or a
    determiner's boundary between them: "index *of an* element", "element *at an* index" —
    not "the planets *in* order", where nothing links them."""
    for at in range(head + 1, min(len(sequence), head + 4)):
        word = sequence[at]
        if word.startswith("=") or word == BOUNDARY:
            continue
        return at > head + 1 and word[:1].isalpha() and bool(lexicon.keys(word) & keys)
    return False
