"""A verb that takes "someone" as its object in one prompt and none in the other
(verifier v89): "tips for interviewing *someone* for a volunteer position" asks how to
interview a candidate, "tips for interviewing for a volunteer position" how to be one;
"training *someone* for a marathon" / "training for a marathon". The person a prompt
leaves out is the asker, so who does what has changed. Read from the content sequences
(:attr:`.features.Analysis.sequence`), where "someone" is a person ("@someone") and a
relation word is marked ("=for")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scalegate.cache.verify.features import Analysis

# The persons no name stands for: whoever they are, they are not the asker.
_ANYONE = frozenset({"@someone", "@somebody", "@anyone", "@anybody"})


class Words(Protocol):
    def keys(self, word: str) -> frozenset[str]: ...
    def may_be_verb(self, word: str) -> bool: ...


def object_dropped(da: Analysis, db: Analysis, lexicon: Words) -> bool:
    """Whether one prompt's verb takes "someone" before a relation word and the other's
    same verb is followed by that relation word at once."""
    return _against(da.sequence, db.sequence, lexicon) or _against(
        db.sequence, da.sequence, lexicon
    )


def _against(mine: Sequence[str], theirs: Sequence[str], lexicon: Words) -> bool:
    for i in range(1, len(mine) - 1):
        verb, relation = mine[i - 1], mine[i + 1]
        if mine[i] not in _ANYONE or not relation.startswith("="):
            continue
        if not verb.isalpha() or not lexicon.may_be_verb(verb):
            continue
        keys = lexicon.keys(verb)
        if any(
            theirs[j + 1] == relation and lexicon.keys(theirs[j]) & keys
            for j in range(len(theirs) - 1)
        ):
            return True
    return False
