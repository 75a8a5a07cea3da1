"""Words that WordNet lists as one, for :class:`.lexicon.Lexicon` (which caches them): a
phrasal verb ("get rid of" → "get_rid_of", verifier v22) and a noun of two words
("capital gains" → "capital_gain", v76)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scalegate.cache.verify import classes as c

if TYPE_CHECKING:
    from scalegate.cache.verify.lexicon import Lexicon


def phrasal(lx: Lexicon, words: tuple[str, ...]) -> str | None:
    """The WordNet verb ``words`` spell — a verb in its base or -ing form, then adverb
    particles ("figure out", "give up") or a content word and its preposition ("get
    rid of") — as one lemma: "getting rid of" → "get_rid_of" (verifier v22), a word of
    its own with the synonyms of its senses ("eliminate"). Not a light verb with a
    preposition ("go to", "be on", "do it": the parts are compared as they are), nor
    a past form ("worked out": its tense would be lost)."""
    first, *rest = words
    files = lx.files
    if (
        files is None
        or (first in c.AUXILIARIES | c.DO_AUX and not _idiom(first, rest))
        or lx.is_past(first)
        or not all(w.isalpha() for w in words)
        or not (
            all(w in c.PARTICLES for w in rest)
            or (
                len(rest) == 2 and rest[1] in c.PREPOSITIONS | {"of", "to"} and not _closed(rest[0])
            )
        )
    ):
        return None
    tail = "_".join(rest)
    for base in sorted(lx.keys(first)):
        lemma = f"{base}_{tail}"
        offsets = files.offsets(lemma, "v")
        if offsets:
            if all(base in lx.synset(f"v:{o}").words for o in offsets):
                return None  # "speed up" is "speed": the verb alone says it
            return lemma
    return None


def collocation(lx: Lexicon, first: str, second: str) -> bool:
    """Whether two words, in some inflection, are a noun WordNet lists as one ("capital
    gains" is "capital_gain"): the second is then a noun, whatever verb it could be."""
    files = lx.files
    if files is None or not (first.isalpha() and second.isalpha()):
        return False
    if _closed(first) or _closed(second):
        return False
    return any(files.offsets(f"{a}_{b}", "n") for a in lx.keys(first) for b in lx.keys(second))


def _idiom(first: str, rest: list[str]) -> bool:
    """Whether an auxiliary's form opens the run as a verb of its own: "get" or "do",
    a content word, its preposition ("get rid of", "get hold of", "do away with" —
    verifier v29; before, only "getting rid of" was one word). Not a pronoun in the
    middle ("get it on" a plane), nor "be" or "have"."""
    return (
        (first in c.GET or first in ("do", "does"))
        and len(rest) == 2
        and rest[0] not in c.PERSONS
        and rest[0] not in ("it", "this", "that", "one", "them")
    )


def _closed(word: str) -> bool:
    return word in c.LIGHT or word in c.PREPOSITIONS or word in c.DETERMINERS
